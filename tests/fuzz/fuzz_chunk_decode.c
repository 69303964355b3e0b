/* libFuzzer target: the chunk body decoder (hostile Redis messages). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mdw/chunk_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mdw_chunk c;
	char err[256], buf[256], desc[128];

	if (mdw_chunk_decode((const char *)data, size, &c, err, sizeof err) == 0) {
		/* whatever decodes must re-encode and decode to the same chunk */
		int n = mdw_chunk_encode(&c, buf, sizeof buf);
		struct mdw_chunk d;
		if (n < 0 || mdw_chunk_decode(buf, (size_t)n, &d, err, sizeof err) != 0 ||
		    memcmp(&c, &d, sizeof c) != 0)
			__builtin_trap();
		mdw_chunk_describe(&c, desc, sizeof desc);
	}
	return 0;
}
