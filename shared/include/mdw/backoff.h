/*
 * Exponential backoff with full jitter (AWS architecture blog's "full
 * jitter"): the n-th retry waits a uniform random time in [0, min(cap,
 * base * 2^n)]. Used for transient Postgres, Redis and HTTP errors.
 */
#ifndef MDW_BACKOFF_H
#define MDW_BACKOFF_H

struct mdw_backoff {
	long base_ms;
	long cap_ms;
	int attempt;
	unsigned seed;
};

/* Start a backoff; SEED makes the jitter reproducible in tests (0: from time and pid). */
void mdw_backoff_init(struct mdw_backoff *b, long base_ms, long cap_ms, unsigned seed);

/* The wait before the next retry, in ms; counts the attempt. */
long mdw_backoff_next(struct mdw_backoff *b);

/* The upper bound of the next wait (without jitter). */
long mdw_backoff_ceiling(const struct mdw_backoff *b);

/* Forget the attempts after a success. */
void mdw_backoff_reset(struct mdw_backoff *b);

/* Sleep MS milliseconds (restarting after signals unless *STOP becomes set; STOP may be NULL). */
void mdw_sleep_ms(long ms, volatile int *stop);

#endif
