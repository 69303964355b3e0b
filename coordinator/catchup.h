/*
 * Catch-up runs before cutover (mdw-coordinator --catch-up, a mode of
 * --incremental): see catchup.c and docs/operations.md, "Catch-up and
 * cutover"; what they recorded is read by ops/catchup_deleted.c and mdwctl
 * catch-up (ctl/ctl_catchup.c).
 */
#ifndef MDW_CATCHUP_H
#define MDW_CATCHUP_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "coord_state.h"
#include "mdw/chunk_codec.h"
#include "mdw/config.h"
#include "mdw/phase.h"
#include "catchup_find.h"
#include "planner.h"

/*
 * Relational PHASE in a catch-up run: find what changed (mdwctl verify's
 * hashes), record it in mdw.catchup_rows and mdw.catchup_deleted, and plan
 * the rows to update or insert into PLAN. 0, or -1 with ERR.
 */
__attribute__((warn_unused_result)) int catchup_walk(struct coord *c, enum mdw_phase_id phase, struct plan *plan,
						     char *err, size_t errlen);

/*
 * The plan of a catch-up (mdw-coordinator --plan --catch-up): per selected
 * relational phase of SEL what catchup_walk would find, as a JSON object
 * {phase: {update, insert, conflict, deleted}} (caller frees); READY 0 (no
 * ledger or tables yet): every count null. The phases are compared by the
 * threads of catchup_ahead.c (sessions opened from CFG, read-only), else
 * here on SRC and TGT. NULL with ERR on error.
 */
json_t *catchup_plan(const struct mdw_config *cfg, PGconn *src, PGconn *tgt, unsigned sel, int ready, char *err,
		     size_t errlen);

/* Print the plan PLAN of catchup_plan as a table on stdout. */
void catchup_plan_print(json_t *plan);

/*
 * Make sure mdw.row_hashes holds what RUN wrote for PHASE: the hash of every
 * target row it inserted or updated, read back as verify reads it. The
 * workers record them chunk by chunk (mdw/row_hash.h); only if a done chunk
 * has none (rows_hashed NULL: an older worker) is the whole phase recorded
 * here. Called when the phase of any run completes. The rows recorded (0
 * for a phase without verification), or -1 with ERR.
 */
__attribute__((warn_unused_result)) long long catchup_record_written(PGconn *tgt, enum mdw_phase_id phase, int64_t run,
								     char *err, size_t errlen);

/*
 * The embeddings' due filter of PART in catch-up run RUN: BASE (the
 * incremental filter over alias t) or the entity was updated by the run.
 */
void catchup_embed_filter(enum mdw_part part, int64_t run, const char *base, char *out, size_t outlen);

#endif
