/*
 * Incremental runs (mdw-coordinator --incremental): each phase plans only
 * the source rows that earlier complete runs did not cover, and the covered
 * rows updated since they were read.
 *
 * Covered: the id ranges of the done chunks of the phase's complete (not
 * rolled-back) runs, each with the time its run planned the phase, that
 * still hold as many source ids as the chunk read (a row committed late
 * inside a range, or deleted, makes the whole range due again). A source
 * row is due when no range covers its id (new rows, rows of a rolled-back
 * run), or, where the legacy table has updated_at, when it was updated after
 * the newest run that covered it planned the phase. The embeddings phase
 * (which walks the target) plans the patients, cases and projects without an
 * embedding link, and the patients that gained a case since their link.
 *
 * Chunks stay [lo, hi] ranges read whole by the workers: a chunk starts at a
 * due id and ends at the last due id among the next chunk_rows ids, so it
 * reads at most chunk_rows rows and a run with nothing due plans no chunk.
 * The rows between due ids inside a chunk are read again and counted like
 * in any run (existing, or rejected again); the chunk's source count is
 * every id of its range, so that the accounting balances as always.
 */
#ifndef MDW_INCREMENTAL_H
#define MDW_INCREMENTAL_H

#include "coord_state.h"
#include "mdw/chunk_codec.h"
#include "planner.h"

/*
 * Record whether C's run is incremental in its settings, or, for a resumed
 * run that recorded it, take the run's mode into c->cfg.incremental. 0 or -1.
 */
__attribute__((warn_unused_result)) int incr_open(struct coord *c, char *err, size_t errlen);

/* The incremental counterpart of the coordinator's walk: plan PHASE's due rows into PLAN and PARTS. */
__attribute__((warn_unused_result)) int incr_walk(struct coord *c, enum mdw_phase_id phase, struct plan *plan,
						  enum mdw_part **parts, char *err, size_t errlen);

#endif
