/* libFuzzer target: the provider answer parsers (Bedrock, OpenAI-compatible, error bodies). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "mdw/embed_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static float out[4 * 1024];
	char err[256], type[64], msg[EMBED_ERR_MSG_MAX + 1];
	int tokens;

	if (embed_parse_bedrock((const char *)data, size, 1024, out, &tokens, err, sizeof err) == 0)
		for (int i = 0; i < 1024; i++)
			if (!isfinite(out[i]))
				__builtin_trap();
	if (embed_parse_bedrock((const char *)data, size, 3, out, &tokens, err, sizeof err) == 0 && tokens < 0)
		__builtin_trap();
	(void)embed_parse_openai((const char *)data, size, 2, 2, out, &tokens, err, sizeof err);
	(void)embed_parse_openai((const char *)data, size, 1024, 4, out, &tokens, err, sizeof err);
	(void)embed_parse_error((const char *)data, size, type, sizeof type, msg, sizeof msg);
	return 0;
}
