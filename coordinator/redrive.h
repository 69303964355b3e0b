/*
 * Redrive runs (mdw-coordinator --redrive): each relational phase plans
 * exactly the legacy rows that earlier complete runs rejected and that are
 * still outstanding (neither placed since nor merged): the rows rejected for
 * their own values and every row rejected through them (a row whose parent
 * was rejected is itself a reject of its phase). Phases plan in dependency
 * order once their needs are complete, so a child is read after its parent
 * had its chance; the workers read every row fresh from the legacy
 * database: a row that now places is inserted, one that still fails is
 * rejected again (by this run). The embeddings phase plans like an
 * incremental run: the entities without an embedding link, i.e. the new ones.
 *
 * Chunks stay [lo, hi] id ranges: the outstanding ids of a phase, ascending,
 * cut where two consecutive ones are more than REDRIVE_GAP ids apart or a
 * chunk holds chunk_rows of them. The few rows between them inside a range
 * are read again and count as existing (nothing changes for them). A redrive
 * run is an incremental run for validation (checks within its ranges).
 */
#ifndef MDW_REDRIVE_H
#define MDW_REDRIVE_H

#include "coord_state.h"
#include "planner.h"

/* Two outstanding ids further apart than this start a new chunk. */
#define REDRIVE_GAP 16

/* Plan relational PHASE's outstanding rejects into PLAN. 0, or -1 with ERR. */
__attribute__((warn_unused_result)) int redrive_walk(struct coord *c, enum mdw_phase_id phase, struct plan *plan,
						     char *err, size_t errlen);

/*
 * Plan the N legacy ids IDS (ascending) of relational PHASE into PLAN as
 * redrive does: ranges cut where two ids are more than GAP apart or a range
 * holds chunk_rows of them, each with its legacy row count (ranges without
 * rows dropped). 0, or -1 with ERR.
 */
__attribute__((warn_unused_result)) int redrive_plan_ids(struct coord *c, enum mdw_phase_id phase, const long long *ids,
							 long long n, long long gap, struct plan *plan, char *err,
							 size_t errlen);

/*
 * Plan the N legacy ids IDS (ascending) into PLAN as ranges of chunk_rows ids
 * each, whatever the gaps, each counting its ids as its source rows: for
 * chunks whose workers read only the listed ids in their range (a catch-up
 * run, worker/catchup_update.c), not every row between. 0, or -1 with ERR.
 */
__attribute__((warn_unused_result)) int redrive_plan_listed(struct coord *c, const long long *ids, long long n,
							    struct plan *plan, char *err, size_t errlen);

#endif
