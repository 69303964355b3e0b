/* libFuzzer target: the workflow template steps normalizer (hostile legacy JSON). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "steps_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), *out = NULL, *again = NULL, why[256];

	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = 0;
	if (wt_normalize_steps(in, &out, why, sizeof why) == 0) {
		/* normalizing is idempotent: the output normalizes to itself */
		if (!out || wt_normalize_steps(out, &again, why, sizeof why) != 0 || strcmp(out, again) != 0)
			__builtin_trap();
	}
	free(again);
	free(out);
	free(in);
	return 0;
}
