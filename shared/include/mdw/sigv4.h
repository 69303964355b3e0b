/*
 * AWS Signature Version 4 (header signing), as Amazon Bedrock's InvokeModel
 * needs it. Checked byte for byte against the official AWS test suite
 * (shared/testdata/aws-sigv4, run by tests/unit/test_sigv4.c).
 *
 * The steps, all in sigv4.c:
 *   canonical request = method \n canonical URI \n canonical query \n
 *                       canonical headers \n signed headers \n payload hash
 *   string to sign    = AWS4-HMAC-SHA256 \n date \n scope \n sha256(canonical request)
 *   signing key       = HMAC chain "AWS4"+secret -> date -> region -> service -> aws4_request
 * The canonical URI is the request path URI-encoded once more (every byte but
 * unreserved ones and '/'), so a path sent as /model/a%3A0/invoke is signed as
 * /model/a%253A0/invoke: the rule of every service but S3 (S3 is not
 * supported). The secret never leaves this file: no message, log or output
 * holds it or anything from which it could be read back but the signature.
 */
#ifndef MDW_SIGV4_H
#define MDW_SIGV4_H

#include <stddef.h>
#include <time.h>

#define SIGV4_MUST __attribute__((warn_unused_result))

struct sigv4_creds {
	char access_key[128];
	char secret_key[128];
	char session_token[4096]; /* "" when none */
};

struct sigv4_header {
	const char *name;
	const char *value;
};

struct sigv4_request {
	const char *method;                 /* "POST" */
	const char *path;                   /* as on the wire ("/model/a%3A0/invoke"); "" is "/" */
	const char *query;                  /* raw query string without '?'; NULL or "" when none */
	const struct sigv4_header *headers; /* every one is signed; must include Host */
	int nheaders;
	const void *body; /* may be NULL when body_len is 0 */
	size_t body_len;
};

/* Flags of sigv4_sign. */
enum {
	SIGV4_NORMALIZE_PATH = 1, /* drop "." and ".." segments and empty segments (every service but S3) */
	SIGV4_SIGN_BODY = 2,      /* add and sign x-amz-content-sha256 (S3-style; Bedrock does not need it) */
	SIGV4_TOKEN_UNSIGNED = 4, /* send X-Amz-Security-Token without signing it (IoT-style) */
};

/* At most X-Amz-Date, X-Amz-Security-Token, x-amz-content-sha256, Authorization. */
#define SIGV4_MAX_ADD 4

/*
 * Result of sigv4_sign. The strings are on the heap, owned by the struct and
 * released by sigv4_out_free. ADD lists the headers the caller must add to
 * the request as it is sent, in this order; their names and values point
 * into this struct.
 */
struct sigv4_out {
	char *canonical_request;
	char *string_to_sign;
	char *authorization;   /* value of the Authorization header */
	char signature[65];    /* lowercase hex */
	char payload_hash[65]; /* lowercase hex SHA-256 of the body */
	char amz_date[17];
	struct sigv4_header add[SIGV4_MAX_ADD];
	int nadd;
	char *token; /* copy of the session token, or NULL */
};

/*
 * Sign REQ with C for REGION and SERVICE at AMZ_DATE ("20150830T123600Z",
 * UTC). FLAGS: SIGV4_*. REQ must not carry Authorization, X-Amz-Date,
 * X-Amz-Security-Token or x-amz-content-sha256: the signer adds them (see
 * sigv4_out.add). On success fills OUT (free with sigv4_out_free) and returns
 * 0; on failure OUT is left empty and -1 returned with ERR set.
 */
SIGV4_MUST int sigv4_sign(const struct sigv4_creds *c, const char *region, const char *service, const char *amz_date,
			  const struct sigv4_request *req, unsigned flags, struct sigv4_out *out, char *err,
			  size_t errlen);

/* Release the strings of OUT and zero it (accepts a zeroed or already freed struct). */
void sigv4_out_free(struct sigv4_out *out);

/*
 * URI-encode IN the SigV4 way: every byte but A-Z a-z 0-9 - . _ ~ becomes
 * %XX (uppercase hex); '/' too unless ENCODE_SLASH is 0. Returns the length
 * written to OUT (NUL-terminated), or -1 when OUTLEN is too small.
 */
SIGV4_MUST int sigv4_uri_encode(const char *in, int encode_slash, char *out, size_t outlen);

/*
 * The wire path of Bedrock's InvokeModel for MODEL_ID:
 * "amazon.titan-embed-text-v2:0" -> "/model/amazon.titan-embed-text-v2%3A0/invoke"
 * (an ARN's '/' becomes %2F). 0, or -1 with ERR set when MODEL_ID is empty
 * or OUT is too small.
 */
SIGV4_MUST int sigv4_bedrock_path(const char *model_id, char *out, size_t outlen, char *err, size_t errlen);

/*
 * The Host header value that HTTP clients (curl, the AWS SDKs) send for
 * AUTHORITY ("host[:port]") over HTTPS when HTTPS, else plain HTTP: the
 * scheme's default port (443, 80) dropped, any other kept. The signature
 * must name exactly that value: "bedrock-runtime.us-east-1.amazonaws.com:443"
 * is signed as "bedrock-runtime.us-east-1.amazonaws.com".
 */
void sigv4_host_header(const char *authority, int https, char *out, size_t outlen);

/* Format T as an X-Amz-Date value ("20150830T123600Z", UTC) into OUT. */
void sigv4_amz_date(time_t t, char out[17]);

#endif
