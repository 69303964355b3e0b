/*
 * When a throttled embedding request (HTTP 429, ThrottlingException) goes
 * again: the provider's hint when it gives one (x-amz-retry-after in
 * milliseconds, else Retry-After in seconds), or a jittered exponential
 * backoff of that request's own throttles. Only that request waits: the
 * others keep going, and the shared rate is the limiter's business
 * (ratelimit.h).
 */
#ifndef MDW_RETRY_HINT_H
#define MDW_RETRY_HINT_H

#include <stddef.h>

#define RETRY_HINT_MAX_MS 60000 /* a longer hint is cut to this */
#define RETRY_BASE_MS 50        /* the first retry without a hint: 25 to 50 ms */
#define RETRY_CAP_MS 5000       /* ... doubling per throttle of the request, up to 2.5 to 5 s */

enum retry_hint { RETRY_HINT_NONE, RETRY_HINT_SECONDS, RETRY_HINT_AMZ_MS };

/*
 * One header line as curl hands it ("Name: value\r\n", LEN bytes, not
 * NUL-terminated): RETRY_HINT_AMZ_MS for x-amz-retry-after (a whole number of
 * ms), RETRY_HINT_SECONDS for Retry-After (delta-seconds, a fraction allowed),
 * with *MS set; RETRY_HINT_NONE for any other line or a value that is not a
 * non-negative number (an HTTP-date included: it depends on two clocks), *MS
 * untouched.
 */
enum retry_hint retry_hint_parse(const char *line, size_t len, long *ms);

/*
 * The milliseconds before the retry of a request throttled THROTTLES (>= 1)
 * times: HINT_MS when >= 0 (at most RETRY_HINT_MAX_MS), else uniform in
 * [d/2, d] with d = min(RETRY_CAP_MS, RETRY_BASE_MS * 2^(THROTTLES-1)),
 * drawn from *SEED (rand_r).
 */
long retry_throttled_ms(long hint_ms, int throttles, unsigned *seed);

#endif
