/*
 * The worker: one libev loop that joins the current run, pops chunks from
 * the phase streams (XREADGROUP, and XAUTOCLAIM of entries whose lease ran
 * out), keeps the lease of the chunk in hand fresh (XCLAIM JUSTID on a
 * timer), beats a heartbeat, and runs each chunk through chunk.c.
 */
#ifndef MDW_WORKER_H
#define MDW_WORKER_H

#include <ev.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "mdw/backoff.h"
#include "mdw/config.h"
#include "mdw/phase.h"
#include "mdw/rds.h"

struct worker {
	struct mdw_config cfg;
	struct ev_loop *loop;
	ev_timer tick, heartbeat, lease;
	ev_signal sigterm, sigint;
	struct rds r;
	PGconn *src, *tgt;
	char id[128];
	int64_t run; /* the run joined, 0 = none */
	int stopping;
	int exit_code;
	int tick_due; /* the tick timer fired: worker_run looks for work once the loop has returned */
	/* the entry in hand */
	int busy;
	char entry[64];
	char phase[32];
	int chunk_no;
	struct mdw_backoff bo;
	/* the target refused writes: the next look for work waits refused_wait_ms, longer each time, until a
	   chunk is done */
	struct mdw_backoff refused_bo;
	long refused_wait_ms;
	double last_autoclaim, last_run_check;
	struct provider *provider; /* opened at the first embeddings chunk of a run */
	int64_t provider_run;
	long long embed_published[4]; /* request counts already added to mdw:{RUN}:embed */
	long long chunks_done;
	int fk_by_phase;                  /* the target role may skip per-row FK triggers (probed at connect) */
	long long part_rows[MDW_NPHASES]; /* per phase: source rows per part its last chunk learned (chunk_ctx) */
	int fk_warned;
};

/* Set up W from its loaded config. -1 with ERR. */
__attribute__((warn_unused_result)) int worker_init(struct worker *w, char *err, size_t errlen);

/* Run until stopped or (with --exit-when-done) the run is complete. Returns the exit code. */
int worker_run(struct worker *w);

void worker_free(struct worker *w);

#endif
