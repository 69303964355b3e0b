/* Exponential backoff with full jitter (see backoff.h). */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "mdw/backoff.h"

void mdw_backoff_init(struct mdw_backoff *b, long base_ms, long cap_ms, unsigned seed)
{
	b->base_ms = base_ms > 0 ? base_ms : 1;
	b->cap_ms = cap_ms >= b->base_ms ? cap_ms : b->base_ms;
	b->attempt = 0;
	b->seed = seed ? seed : (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
}

long mdw_backoff_ceiling(const struct mdw_backoff *b)
{
	long c = b->base_ms;
	for (int i = 0; i < b->attempt && c < b->cap_ms; i++)
		c *= 2;
	return c < b->cap_ms ? c : b->cap_ms;
}

long mdw_backoff_next(struct mdw_backoff *b)
{
	long ceil = mdw_backoff_ceiling(b);
	b->attempt++;
	return (long)(rand_r(&b->seed) % (ceil + 1));
}

void mdw_backoff_reset(struct mdw_backoff *b)
{
	b->attempt = 0;
}

void mdw_sleep_ms(long ms, volatile int *stop)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L}, rem;
	while (nanosleep(&ts, &rem) < 0 && !(stop && *stop))
		ts = rem;
}
