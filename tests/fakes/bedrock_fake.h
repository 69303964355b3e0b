/*
 * bedrock-fake: the interfaces between its files (not a library API).
 *
 *   bedrock_fake.c   command line, HTTP server (libmicrohttpd), routing, answers
 *   fake_sigcheck.c  SigV4 verification of incoming InvokeModel requests
 *   fake_api.c       the InvokeModel and /v1/embeddings handlers
 *   fake_state.c     quota window, fault injection, counters, deterministic vectors
 *
 * A request flows: bedrock_fake.c gathers the raw path, headers and body,
 * calls one handler, which fills a bf_answer; bedrock_fake.c counts its
 * outcome, sleeps --latency-ms, logs non-200 answers and sends it.
 */
#ifndef BEDROCK_FAKE_H
#define BEDROCK_FAKE_H

#include <stddef.h>
#include <stdint.h>

#define BF_MAX_BODY (1024 * 1024)

/* Set once by main before the server starts, read-only afterwards. */
struct bf_config {
	long port;
	const char *bind;
	const char *region;
	const char *access_key;
	const char *secret_key;
	const char *api_key; /* NULL or "": /v1/embeddings needs no key */
	long rpm, tpm;       /* 0: unlimited */
	long latency_ms;
	long idle_timeout_s; /* a keep-alive connection idle this long is closed (0: never) */
	double error_rate, malformed_rate;
	double throttle_rate;      /* fraction of requests under quota answered 429 anyway (Bedrock on bursts) */
	long retry_after_ms;       /* > 0: every 429 carries x-amz-retry-after (ms) and Retry-After (s, rounded up) */
	const char *reject_text;   /* NULL or "": no text is refused for its content */
	const char *expired_token; /* NULL or "": no session token has expired */
	unsigned long long seed;
	const char *ready_file;
	const char *tls_cert, *tls_key; /* both set: HTTPS */
	long quiet, verbose;
};

extern struct bf_config bf_cfg;

/* What /stats counts; every answered model request has exactly one. */
enum bf_outcome {
	BF_OK,
	BF_THROTTLED,        /* over --rpm or --tpm */
	BF_THROTTLED_RANDOM, /* under quota, drawn by --throttle-rate */
	BF_BAD_SIGNATURE,    /* any SigV4 failure but an unknown access key */
	BF_UNRECOGNIZED_KEY, /* unknown access key id, or wrong bearer key on /v1/embeddings */
	BF_VALIDATION,       /* 400, 413 */
	BF_INJECTED_5XX,
	BF_MALFORMED,
	BF_OTHER,         /* 404, 405 */
	BF_EXPIRED_TOKEN, /* X-Amz-Security-Token equal to --expired-token */
	BF_NOUTCOMES
};

struct bf_header {
	const char *name, *value;
};

/* An incoming request; every pointer stays valid while the handler runs. */
struct bf_request {
	const char *method;
	const char *path;  /* as on the wire, still percent-encoded */
	const char *query; /* raw, without '?'; "" when none */
	const struct bf_header *headers;
	int nheaders;
	const char *body;
	size_t body_len;
};

/* An answer; BODY is malloc'ed and owned by the answer until sent. */
struct bf_answer {
	int status;
	enum bf_outcome outcome;
	const char *error_type; /* x-amzn-ErrorType, or NULL */
	char *body;
	size_t body_len;
	long tokens;      /* input tokens of a 200, else -1 */
	char reason[200]; /* for the log line: fixed words and numbers, never request content */
};

/* First header named NAME (case-insensitive), or NULL. */
const char *bf_header(const struct bf_request *rq, const char *name);

/* Fill A with an AWS-style error: {"message": MSG} and x-amzn-ErrorType TYPE. */
void bf_aws_error(struct bf_answer *a, int status, enum bf_outcome o, const char *type, const char *msg);

/* --- fake_sigcheck.c --- */

/* 0 when RQ carries a valid SigV4 Authorization for bf_cfg; else -1 with A filled (403). */
int bf_sigcheck(const struct bf_request *rq, struct bf_answer *a);

/* --- fake_api.c --- */

/* POST /model/{MODEL_ID}/invoke (MODEL_ID percent-decoded). */
void bf_invoke(const struct bf_request *rq, const char *model_id, struct bf_answer *a);

/* POST /v1/embeddings. */
void bf_openai(const struct bf_request *rq, struct bf_answer *a);

/* --- fake_state.c --- */

enum bf_fault {
	BF_FAULT_NONE,
	BF_FAULT_500,
	BF_FAULT_503,
	BF_FAULT_TRUNCATED,
	BF_FAULT_SHORT_VECTOR,
	BF_FAULT_NOT_JSON
};

/* Prepare locks and tables; 0, or -1 when out of memory. */
int bf_state_init(void);

/* Admit a request of TOKENS input tokens into the 60 s window: 0, or -1 when over --rpm or --tpm. */
int bf_quota_admit(long tokens);

/* The fault for the next admitted request, drawn from --seed in arrival order. */
enum bf_fault bf_fault_draw(void);

/*
 * 1 when the next request under quota is answered 429 anyway (--throttle-rate,
 * its own draw sequence from --seed, in arrival order), else 0.
 */
int bf_throttle_draw(void);

/* A connection was accepted (+1) or closed (-1): /stats' connections and open_connections. */
void bf_connection(int delta);

/* A connection carried its first model request: /stats' model_connections. */
void bf_model_connection(void);

/* Remember UA (the User-Agent of a model request, or NULL) for /stats. */
void bf_stats_user_agent(const char *ua);

/* Count one answered model request. */
void bf_stats_count(enum bf_outcome o);

/* Count one successfully embedded text (keyed by model, dimensions and text). */
void bf_stats_ok_text(const char *model, int dims, const char *text, size_t len, long tokens);

/* Requests currently being answered: +1 when one arrives, -1 when answered. */
void bf_inflight(int delta);

/* /stats as JSON (malloc'ed, NULL when out of memory). */
char *bf_stats_json(void);

/* Zero the counters and forget the embedded texts (the quota window stays). */
void bf_stats_reset(void);

/* Estimated tokens of a text of LEN bytes: ceil(LEN / 4), at least 1. */
long bf_tokens(size_t len);

/*
 * The deterministic vector of TEXT: seed = SHA-256(text); value i comes from
 * bytes 4(i%8).. of SHA-256(seed || big-endian u32 (i/8)) read as a
 * big-endian u32 u, as u / 2^31 - 1 (in [-1, 1)); the first DIMS values,
 * L2-normalized when NORMALIZE.
 */
void bf_vector(const char *text, size_t len, int dims, int normalize, float *out);

#endif
