/*
 * Rollback of a phase (mdwctl rollback): remove exactly the target rows that
 * migration runs inserted for the phase, and reset its ledger so that a new
 * run migrates it again.
 *
 * The lineage is the mdw_run_id column of every application table: the run
 * that inserted the row, written in the same statement (and transaction) as
 * the row, NULL for rows that existed before the migration. A rollback
 * deletes the phase's rows whose mdw_run_id is set (one run's with --run),
 * with what only describes them: the phase's mdw.merges records, the
 * profile_legacy_users mappings of deleted profiles, the embedding links of
 * deleted patients, cases and projects. Rows that existed before, and the
 * rows that legacy rows were merged into, stay. Everything happens in one
 * transaction: a rollback is applied whole or not at all.
 *
 * Dependents: a phase that needs the phase (directly or not, by the phase
 * table) may hold rows that reference the rows to delete. While one still
 * has rows from the migration the rollback is refused, unless cascading:
 * then the dependents are rolled back first, in reverse dependency order.
 *
 * The ledger: the phase's rows of its phases and chunks become
 * 'rolled_back': the phase no longer counts as complete (for --phases
 * needs) nor as covered (for --incremental). A run resumed later plans its
 * rolled-back phases again (ledger_reopen_rolled_back).
 */
#ifndef MDW_ROLLBACK_H
#define MDW_ROLLBACK_H

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>

#include "mdw/phase.h"

/* Every phase that needs PHASE, directly or not (bit mask). */
unsigned rollback_dependents(enum mdw_phase_id phase);

/* The phases of MASK in reverse dependency order (dependents first) into OUT; returns how many. */
int rollback_order(unsigned mask, enum mdw_phase_id out[MDW_NPHASES]);

struct rollback_opts {
	int64_t run; /* only this run's rows; 0: every run */
	int cascade; /* roll back the dependents first instead of refusing */
	int dry_run; /* do everything, print the counts, then roll the transaction back */
};

enum { RB_DONE = 0, RB_REFUSED = 1, RB_ERROR = -1 };

/*
 * Roll back PHASE per O on TGT, printing what is (or would be) deleted to
 * OUT. Returns RB_DONE, RB_REFUSED (ERR says why and what to do) or RB_ERROR
 * (ERR). Nothing is changed unless RB_DONE without dry_run.
 */
__attribute__((warn_unused_result)) int rollback_phase(PGconn *tgt, enum mdw_phase_id phase,
						       const struct rollback_opts *o, FILE *out, char *err,
						       size_t errlen);

#endif
