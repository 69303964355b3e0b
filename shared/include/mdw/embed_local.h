/*
 * The offline embedding provider: feature hashing, in process, no network.
 * Deterministic across runs, hosts and builds, so its vectors can be cached
 * and compared like a real model's (only much weaker).
 *
 * Words are maximal runs of ASCII letters and digits and of non-ASCII bytes
 * (so UTF-8 letters stay inside words); ASCII letters are lower-cased. Each
 * word (unigram) and each pair of adjacent words, written "w1 w2" (bigram),
 * is hashed with 64-bit FNV-1a (offset 14695981039346656037, prime
 * 1099511628211) over its bytes. Bits 0-9 of the hash pick one of 1024
 * dimensions; bit 63 picks the sign (set: -1, clear: +1). The sums are then
 * L2-normalized. A text without words, or whose features cancel out, gives
 * the unit vector e0 (1 in dimension 0, 0 elsewhere), so every vector is
 * finite with norm 1.
 */
#ifndef MDW_EMBED_LOCAL_H
#define MDW_EMBED_LOCAL_H

#include <stddef.h>

#define EMBED_LOCAL_DIMS 1024
#define EMBED_LOCAL_MODEL "mdw-local-fh-v1"

/*
 * Embed TEXT[0..LEN) into OUT. *TOKEN_COUNT (may be NULL) gets the number of
 * words. -1 only if OUT is NULL, or TEXT is NULL with LEN > 0.
 */
__attribute__((warn_unused_result)) int embed_local(const char *text, size_t len, float out[EMBED_LOCAL_DIMS],
						    int *token_count);

#endif
