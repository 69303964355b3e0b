/*
 * The text sent to an embedding model: its content hash (the cache key in
 * ai_embeddings, so the provider is called once per distinct text, ever)
 * and its truncation to the model's input limits.
 *
 * Hash encoding (version 1), unambiguous for every (model id, dimensions,
 * text) triple because the model id is length-prefixed, the dimensions are
 * digits ended by a newline, and the text is everything after:
 *
 *     decimal byte length of MODEL_ID ":" MODEL_ID "\n" decimal DIMENSIONS "\n" TEXT
 *
 * e.g. model "m", 3 dimensions, text "hi" hashes the bytes "1:m\n3\nhi".
 * The digest is SHA-256, written as 64 lower-case hex digits.
 */
#ifndef MDW_EMBED_TEXT_H
#define MDW_EMBED_TEXT_H

#include <stddef.h>

#include "mdw/chunk_codec.h"

/* The dimensions of every stored embedding (Titan V2's 1024; the local provider's too). */
#define MDW_EMBED_DIMS 1024

/* Amazon Titan Text Embeddings V2 input limits. */
#define EMBED_TITAN_MAX_CHARS 50000
#define EMBED_TITAN_MAX_TOKENS 8192

/*
 * SHA-256 of the encoding above into OUT_HEX (64 hex digits and a NUL).
 * TEXT[0..LEN) may hold any bytes (NULL only if LEN is 0). -1 if MODEL_ID is
 * NULL or empty, DIMENSIONS is outside 1..65536, or OpenSSL fails.
 */
__attribute__((warn_unused_result)) int embed_hash(const char *model_id, int dimensions, const char *text, size_t len,
						   char out_hex[65]);

/*
 * Token estimate of TEXT[0..LEN): ceil(ASCII bytes / 4) plus one token per
 * non-ASCII character (a UTF-8 lead byte). Errs on the high side of real
 * subword tokenizers for English prose, and for scripts where a character is
 * a token or more.
 */
size_t embed_tokens_est(const char *text, size_t len);

/*
 * The length in bytes of the longest prefix of TEXT[0..LEN) that holds at
 * most MAX_CHARS characters (UTF-8 code points) and at most MAX_TOKENS_EST
 * estimated tokens (embed_tokens_est); 0 for either means no limit. When the
 * text must be cut, the cut is at the last whitespace within 1024 bytes of
 * the limit (trailing whitespace dropped), else at the last character
 * boundary: never inside a UTF-8 sequence. *CUT (may be NULL) is set to 1
 * when the result is shorter than LEN, else 0 (then LEN is returned).
 */
size_t embed_truncate(const char *text, size_t len, size_t max_chars, size_t max_tokens_est, int *cut);

/*
 * The statement that builds PART's texts over a range of target ids ($1 lo,
 * $2 hi; columns id, practice_id, text; ordered by id): clinical content
 * only, or for patients with IDENTIFIERS their name and birth year first
 * (MDW_EMBED_IDENTIFIERS). The worker embeds these texts and the plan counts
 * them. NULL for a part without texts.
 */
const char *embed_text_sql(enum mdw_part part, int identifiers);

#endif
