/*
 * The coordinator: creates or resumes a run, starts each phase when its
 * needs are complete (planning it into chunks: ledger rows first, then the
 * queue), rebuilds the queues from the ledger whenever Redis lost them,
 * validates each phase as it completes, and ends the run.
 */
#ifndef MDW_COORD_H
#define MDW_COORD_H

#include "coord_state.h"

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
