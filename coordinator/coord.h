/*
 * The coordinator: creates or resumes a run, starts each phase when its
 * needs are complete (planning it into chunks: ledger rows first, then the
 * queue), rebuilds the queues from the ledger whenever Redis lost them,
 * validates each phase as it completes, and ends the run.
 */
#ifndef MDW_COORD_H
#define MDW_COORD_H

#include <libpq-fe.h>
#include <signal.h>
#include <stdint.h>

#include "mdw/chunk_codec.h"
#include "mdw/config.h"
#include "mdw/phase.h"
#include "mdw/rds.h"

enum phase_state { PS_NONE, PS_PLANNING, PS_RUNNING, PS_VALIDATING, PS_COMPLETE, PS_FAILED };

struct phase_stat {
	enum phase_state state; /* a rolled-back phase is PS_NONE: the next run plans it again */
	int rolled_back;	/* ... and this says why it is not started (mdwctl status) */
	long long source_rows;
	long long total, done, dead, pending;
	long long read, inserted, existing, merged, rejected;
	long long flagged;	/* rows of this run repaired (mdw.flags rows) */
	double rate;		 /* rows read per second over the last minute */
	double started_at;	 /* unix seconds; 0 = not yet */
	double completed_at;	 /* unix seconds; 0 = not yet */
	double busy_s;		 /* first chunk start to last chunk end */
	char error[256];	 /* why the phase failed, if it did */
};

struct coord {
	struct mdw_config cfg;
	PGconn *src, *tgt;
	struct rds r;
	int64_t run;
	unsigned selected;
	char token[128];
	double last_reconcile;
	double last_report; /* when the progress report was last written (intermediate ones: REPORT_EVERY_S apart) */
	int report_due;	    /* a phase changed state since the last report */
	struct phase_stat ps[MDW_NPHASES];
};

struct plan;

/*
 * Walk PHASE's source into PLAN and PARTS (one part per chunk; caller frees
 * both), as the run would: its legacy table, or for the embeddings the three
 * target tables; only the due rows when c->cfg.incremental. Writes nothing.
 */
int coord_walk(struct coord *c, enum mdw_phase_id ph, struct plan *plan, enum mdw_part **parts, char *err,
	       size_t errlen);

/* Run the coordinator until the run ends. Returns the process exit code. */
int coord_main(struct coord *c);

/* Re-enqueue every chunk of RUN's running phases that the ledger says is not done and the stream lacks. */
int coord_reconcile(struct coord *c, int force);

/* Read the ledger's view of RUN into c->ps. -1 on error (ERR). */
int coord_load_stats(PGconn *tgt, int64_t run, struct phase_stat *ps, char *err, size_t errlen);

/*
 * Validate PHASE of RUN: the accounting balances against the source count
 * taken at planning, and the checks of validate.c. Returns 1 valid, 0
 * invalid (WHY says what), -1 error.
 */
int coord_validate_phase(PGconn *tgt, int64_t run, enum mdw_phase_id phase, char *why, size_t whylen);

#endif
