/*
 * Parsers of embedding providers' HTTP answers. Every answer is hostile
 * input: bodies over EMBED_MAX_BODY bytes are refused unparsed, and so are
 * bodies with far more values than the expected vectors could hold;
 * duplicate object keys, non-finite or out-of-float-range numbers, wrong
 * vector lengths and missing or ill-typed fields are errors. Messages name
 * what was wrong (field path, expected vs got) and never quote the body.
 * On failure the output vectors are unspecified.
 */
#ifndef MDW_EMBED_PARSE_H
#define MDW_EMBED_PARSE_H

#include <stddef.h>

#define EMBED_MAX_BODY (16u * 1024 * 1024)
#define EMBED_MAX_DIMS 65536
#define EMBED_MAX_INPUTS 2048
/* Longest provider error message kept by embed_parse_error (bytes, "..." included). */
#define EMBED_ERR_MSG_MAX 200

/*
 * Bedrock Titan Text Embeddings V2 InvokeModel answer:
 * {"embedding":[WANT_DIMS numbers], "inputTextTokenCount": N, ...}.
 * Fills OUT[0..WANT_DIMS) and *TOKEN_COUNT (N, required, >= 0).
 * -1 with ERR on any deviation.
 */
__attribute__((warn_unused_result)) int embed_parse_bedrock(const char *body, size_t len, int want_dims, float *out,
							    int *token_count, char *err, size_t errlen);

/*
 * OpenAI-compatible /v1/embeddings answer:
 * {"data":[{"index":I,"embedding":[WANT_DIMS numbers]}, ...], "usage":{"prompt_tokens":N}}.
 * DATA must hold exactly N_INPUTS items whose indexes are 0..N_INPUTS-1 in
 * any order; item I goes to OUT[I*WANT_DIMS ..]. *TOTAL_TOKENS gets N, or -1
 * when the answer has no "usage" (some servers omit it). -1 with ERR on any
 * deviation (missing or duplicate index included).
 */
__attribute__((warn_unused_result)) int embed_parse_openai(const char *body, size_t len, int want_dims, int n_inputs,
							   float *out, int *total_tokens, char *err, size_t errlen);

/*
 * The error detail of a failed answer: Bedrock's {"message":"..."} (also
 * "Message"), OpenAI's {"error":{"message":"...","type":"..."}} and the
 * {"error":"...","error_type":"..."} of Ollama and TEI. TYPE gets "__type",
 * "code" or the error type when present (namespace before '#' and anything
 * after ':' dropped), else "". MSG gets the message cut to
 * EMBED_ERR_MSG_MAX bytes (ending "..." when cut), control characters as
 * spaces and non-ASCII bytes as '?'. 0 when a message was found; -1
 * otherwise, with MSG saying why (not JSON, no message) and TYPE "".
 */
int embed_parse_error(const char *body, size_t len, char *type, size_t typelen, char *msg, size_t msglen);

#endif
