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
#include "stats.h"
#include "validate.h"

struct coord {
	struct mdw_config cfg;
	PGconn *src, *tgt;
	struct rds r;
	int64_t run;
	unsigned selected;
	char token[128];
	double last_reconcile;
	double last_report; /* when the progress report was last written (intermediate ones: REPORT_EVERY_S apart) */
	int report_due;     /* a phase changed state since the last report */
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

#endif
