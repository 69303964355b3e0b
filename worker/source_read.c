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

int source_slot_take(struct chunk_ctx *ctx, char *err, size_t errlen, int *transient)
{
	long slots = (long)ctx->source_max_connections, wait = 0;

	while (slots > 0) {
		if (sg_slot_take(ctx->redis, ctx->worker_id, slots, (long)ctx->lease_ms, &wait, err, errlen) < 0) {
			*transient = 1;
			return -1;
		}
		if (wait == 0)
			break;
		pause_ms(ctx, wait);
	}
	return 0;
}

void source_slot_give(struct chunk_ctx *ctx)
{
	char e[256];

	if (ctx->source_max_connections > 0 && sg_slot_give(ctx->redis, ctx->worker_id, e, sizeof e) < 0)
		mdw_warn("worker=%s msg=\"cannot give the source slot back: its lease frees it\" error=\"%s\"",
			 ctx->worker_id, e);
}

PGresult *source_read(struct chunk_ctx *ctx, const char *sql, int n, const char *const *p, long long est, char *err,
		      size_t errlen, int *transient)
{
	long rate = (long)ctx->source_rows_per_s, wait = 0;
	PGresult *res;
	char e[256];

	if (rate > 0) {
		if (est > rate)
			est = rate; /* one second's worth at most: the rest is corrected after the read */
		for (;;) {
			if (sg_rows_take(ctx->redis, rate, (long)est, &wait, err, errlen) < 0) {
				*transient = 1;
				return NULL;
			}
			if (wait == 0)
				break;
			pause_ms(ctx, wait);
		}
	}
	/* a slot held across the whole source transaction is renewed at each read */
	if (source_slot_take(ctx, err, errlen, transient) < 0)
		return NULL;
	res = pgx_query(ctx->src, sql, n, p, err, errlen, transient);
	if (rate > 0 && sg_rows_correct(ctx->redis, rate, (long)((res ? PQntuples(res) : 0) - est), e, sizeof e) < 0)
		mdw_warn("worker=%s msg=\"cannot correct the source row rate\" error=\"%s\"", ctx->worker_id, e);
	return res;
}
