/*
 * The chunk message body: a versioned msgpack map
 *   {"v": 1, "run": R, "phase": "patients", "chunk": N, "lo": L, "hi": H}
 * (inclusive id bounds), plus "part": "patient"|"case"|"project" for the
 * embeddings phase, whose chunks cover one kind of entity by target id. Decoding treats the body as hostile input: any
 * body that is not exactly such a map is refused with a reason, so that the
 * worker can dead-letter it; it never crashes.
 */
#ifndef MDW_CHUNK_CODEC_H
#define MDW_CHUNK_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "mdw/phase.h"

#define MDW_CHUNK_VERSION 1
#define MDW_CHUNK_MAX_BODY 4096

struct mdw_chunk {
	int64_t run;
	enum mdw_phase_id phase;
	int32_t chunk_no;
	int64_t lo, hi;
	enum mdw_part part;
};

/* Encode C into OUT (at most OUTLEN bytes); returns the length, or -1 if it does not fit. */
int mdw_chunk_encode(const struct mdw_chunk *c, char *out, size_t outlen);

/* Decode BUF[0..LEN) into C. -1 with ERR naming what is wrong. */
__attribute__((warn_unused_result)) int mdw_chunk_decode(const char *buf, size_t len, struct mdw_chunk *c, char *err,
							 size_t errlen);

/* Human-readable description for the stream's desc field: "patients #12 ids 55001..60000". */
void mdw_chunk_describe(const struct mdw_chunk *c, char *out, size_t outlen);

#endif
