/* A chunk's source read under the fleet-wide guard (see source_read.h). */
#include <stdio.h>

#include "mdw/backoff.h"
#include "mdw/log.h"
#include "mdw/pgx.h"
#include "mdw/source_guard.h"
#include "source_read.h"

/* Wait between two asks of the guard: at most SG_POLL_MS, keeping the lease fresh. */
static void pause_ms(struct chunk_ctx *ctx, long ms)
{
	mdw_sleep_ms(ms < SG_POLL_MS ? ms : SG_POLL_MS, NULL);
	if (ctx->touch)
		ctx->touch(ctx->touch_arg);
}

PGresult *source_read(struct chunk_ctx *ctx, const char *sql, int n, const char *const *p, long long est, char *err,
		      size_t errlen, int *transient)
{
	long rate = (long)ctx->source_rows_per_s, slots = (long)ctx->source_max_connections, wait = 0;
	PGresult *res;
	char e[256];

	if (rate > 0) {
		if (est > rate)
			est = rate; /* one second's worth at most: the rest is corrected after the read */
		for (;;) {
			if (sg_rows_take(ctx->redis, rate, (long)est, &wait, err, errlen) < 0)
				goto redis_down;
			if (wait == 0)
				break;
			pause_ms(ctx, wait);
		}
	}
	if (slots > 0) {
		for (;;) {
			if (sg_slot_take(ctx->redis, ctx->worker_id, slots, (long)ctx->lease_ms, &wait, err, errlen) < 0)
				goto redis_down;
			if (wait == 0)
				break;
			pause_ms(ctx, wait);
		}
	}
	res = pgx_query(ctx->src, sql, n, p, err, errlen, transient);
	if (slots > 0 && sg_slot_give(ctx->redis, ctx->worker_id, e, sizeof e) < 0)
		mdw_warn("worker=%s msg=\"cannot give the source slot back: its lease frees it\" error=\"%s\"",
			 ctx->worker_id, e);
	if (rate > 0 && sg_rows_correct(ctx->redis, rate, (long)((res ? PQntuples(res) : 0) - est), e, sizeof e) < 0)
		mdw_warn("worker=%s msg=\"cannot correct the source row rate\" error=\"%s\"", ctx->worker_id, e);
	return res;
redis_down:
	*transient = 1;
	return NULL;
}
