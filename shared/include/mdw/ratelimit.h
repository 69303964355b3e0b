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
 *     within [-TPM, C]. It is called once per successful answer, which it
 *     counts (below).
 *   - Throttling, after botocore's adaptive retry mode: rl_throttled (on
 *     HTTP 429 / ThrottlingException) counts a throttled answer. The recent
 *     answers are two exponentially weighted counts, ok and throttled, over
 *     about RL_SHARE_SPAN answers of the whole fleet. A lone 429 (the
 *     provider's bursts, a window edge) only counts: the caller retries that
 *     request after a backoff. Throttling is sustained when the weighted
 *     throttled count reaches RL_SUSTAIN_MIN and RL_SUSTAIN_SHARE of the
 *     recent answers: then F is cut to RL_DECREASE (0.7) times what it was
 *     (WMAX), floored at RL_FACTOR_MIN, the request bucket is emptied (every
 *     worker pauses at once), the counts start afresh, and throttles within
 *     RL_COOLDOWN_MS of the cut are not counted (answers to requests sent
 *     before it). F then grows back on botocore's cubic,
 *     F(t) = RL_CUBIC_C * (t - K)^3 + WMAX with K = cbrt(WMAX * 0.3 /
 *     RL_CUBIC_C) seconds after the cut (about 8 s from a full rate): fast
 *     at first, flat near WMAX (where the last throttle came), then faster
 *     again, up to 1. F starts at 1: the configured quota is the account's.
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
#define RL_CUBIC_C 0.0006     /* per s^3: back to WMAX in cbrt(0.3 WMAX / C) s, 7.9 s from 1 */
#define RL_SHARE_SPAN 100     /* answers in the weighted counts */
#define RL_SUSTAIN_MIN 5      /* weighted throttled answers, at least, */
#define RL_SUSTAIN_SHARE 0.25 /* and this share of the recent answers, for a cut */
#define RL_COOLDOWN_MS 2000
#define RL_MAX_WAIT_MS 60000

/* The limiter's state as of now (rl_status). */
struct rl_status {
	double factor;                      /* F, from RL_FACTOR_MIN to 1 */
	double rpm;                         /* effective requests per minute, F * RPM */
	double tpm;                         /* effective tokens per minute, F * TPM */
	double requests;                    /* request bucket level */
	double tokens;                      /* token bucket level (negative: debt) */
	double recent_ok, recent_throttled; /* the weighted counts of recent answers */
};

/*
 * Take one request and EST_TOKENS (>= 0) tokens. *WAIT_MS is 0 when granted
 * (both debited), else the milliseconds (>= 1) to wait before asking again
 * (nothing debited). RPM and TPM are the configured quotas (>= 1).
 */
__attribute__((warn_unused_result)) int rl_acquire(struct rds *r, const char *prefix, long rpm, long tpm,
						   long est_tokens, long *wait_ms, char *err, size_t errlen);

/* A successful answer: counted, and DELTA_TOKENS more debited (real count - estimate; negative refunds). */
__attribute__((warn_unused_result)) int rl_correct(struct rds *r, const char *prefix, long rpm, long tpm,
						   long delta_tokens, char *err, size_t errlen);

/*
 * A throttled answer: counted; F is cut when throttling is sustained (and was
 * not cut in the last RL_COOLDOWN_MS). *FACTOR gets F as it now is and *CUT 1
 * if this call cut it (both may be NULL).
 */
__attribute__((warn_unused_result)) int rl_throttled(struct rds *r, const char *prefix, long rpm, long tpm,
						     double *factor, int *cut, char *err, size_t errlen);

/* Read the state into ST without changing it. */
__attribute__((warn_unused_result)) int rl_status(struct rds *r, const char *prefix, long rpm, long tpm,
						  struct rl_status *st, char *err, size_t errlen);

#endif
