/*
 * The cluster-wide rate limiter of embedding requests, in Redis, shared by
 * every worker of a run. Its whole state is one hash at key PREFIX (e.g.
 * "mdw:{RUN}:rate", inside the run's hash tag), read and written only by
 * one Lua script (sent with EVALSHA, EVAL when the server lacks it), so
 * every step is atomic and every clock reading is the Redis server's TIME:
 * workers agree on time without synchronized clocks.
 *
 * Two token buckets, requests (quota RPM per minute) and input tokens
 * (quota TPM per minute), both scaled by a shared factor F in [0.05, 1]:
 *
 *   - With Q = F * quota, a bucket holds at most C = max(1, Q/60), one
 *     second's worth (a small burst), and refills continuously at
 *     max(Q - C, Q/2) per minute. For Q >= 2 that is Q - C, so no 60 s
 *     window grants more than the quota even when the bucket starts full
 *     and N workers race for it. A new bucket starts full.
 *   - rl_acquire grants when the request bucket holds >= 1 and the token
 *     bucket holds >= min(EST, C), then debits 1 and EST (the token bucket
 *     may go negative: a request bigger than the burst is paid off later).
 *     Otherwise nothing is debited and the caller gets the time until both
 *     would allow it (at most 60 s): it waits on its timer and asks again,
 *     never spinning.
 *   - rl_correct debits (or refunds, when negative) the difference between
 *     the real token count of the answer and the estimate; the level stays
 *     within [-TPM, C].
 *   - AIMD: rl_throttled (on HTTP 429 / ThrottlingException) multiplies F
 *     by 0.7, floored at 0.05, and empties the request bucket, so every
 *     worker slows down at once; throttles within 2 s of a cut are counted
 *     as the same event (answers to requests sent before the cut). F grows
 *     back by 0.05 (5% of the quota) per 10 s, continuously, up to 1.
 *
 * The hash expires an hour after its last write. Every function returns 0,
 * or -1 with ERR on a Redis error or a bad argument.
 */
#ifndef MDW_RATELIMIT_H
#define MDW_RATELIMIT_H

#include <stddef.h>

#include "mdw/rds.h"

#define RL_FACTOR_MIN 0.05
#define RL_DECREASE 0.7
#define RL_INCREASE 0.05
#define RL_INCREASE_PERIOD_MS 10000
#define RL_COOLDOWN_MS 2000
#define RL_MAX_WAIT_MS 60000

/* The limiter's state as of now (rl_status). */
struct rl_status {
	double factor;	  /* F, from RL_FACTOR_MIN to 1 */
	double rpm;	  /* effective requests per minute, F * RPM */
	double tpm;	  /* effective tokens per minute, F * TPM */
	double requests;  /* request bucket level */
	double tokens;	  /* token bucket level (negative: debt) */
};

/*
 * Take one request and EST_TOKENS (>= 0) tokens. *WAIT_MS is 0 when granted
 * (both debited), else the milliseconds (>= 1) to wait before asking again
 * (nothing debited). RPM and TPM are the configured quotas (>= 1).
 */
__attribute__((warn_unused_result)) int rl_acquire(struct rds *r, const char *prefix, long rpm, long tpm,
						   long est_tokens, long *wait_ms, char *err, size_t errlen);

/* Debit DELTA_TOKENS more (real count - estimate; negative refunds). */
__attribute__((warn_unused_result)) int rl_correct(struct rds *r, const char *prefix, long rpm, long tpm,
						   long delta_tokens, char *err, size_t errlen);

/*
 * Report a throttled answer: cut F (unless cut in the last RL_COOLDOWN_MS).
 * *FACTOR gets the new F and *CUT 1 if this call cut it (both may be NULL).
 */
__attribute__((warn_unused_result)) int rl_throttled(struct rds *r, const char *prefix, long rpm, long tpm,
						     double *factor, int *cut, char *err, size_t errlen);

/* Read the state into ST without changing it. */
__attribute__((warn_unused_result)) int rl_status(struct rds *r, const char *prefix, long rpm, long tpm,
						  struct rl_status *st, char *err, size_t errlen);

#endif
