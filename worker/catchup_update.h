/* The catch-up's update in place of a range's changed rows (see catchup_update.c). */
#ifndef MDW_CATCHUP_UPDATE_H
#define MDW_CATCHUP_UPDATE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "mdw/phase.h"

/*
 * The UPDATE of PHASE's rows listed for update in mdw.catchup_rows ($1 lo, $2
 * hi, $3 run, $4 phase name), made once from the phase's insert_sql and kept
 * for the process's life; NULL when the phase has none (not relational).
 */
const char *cu_update_sql(enum mdw_phase_id phase);

/*
 * The source read of a chunk of PHASE in RUN: in a catch-up run, the
 * phase's source_sql narrowed to the legacy ids that mdw.catchup_rows lists
 * for the run in [LO, HI] ('update' or 'insert'), in *SQL ($1 lo, $2 hi, $3
 * the ids) with the ids as a bigint[] literal in *IDS (caller frees): 1.
 * Not a catch-up run: 0, *SQL and *IDS untouched. -1 with ERR.
 */
int cu_source_read(PGconn *tgt, int64_t run, enum mdw_phase_id phase, const char *lo, const char *hi, const char **sql,
		   char **ids, char *err, size_t errlen, int *transient);

/* PHASE's source_sql narrowed as cu_source_read does (kept for the process's life); NULL: it cannot be. */
const char *cu_source_sql(enum mdw_phase_id phase);

/* Whether RUN is a catch-up run (remembered for the last run asked about): 1, 0, or -1 with ERR. */
int cu_run_is_catch_up(PGconn *tgt, int64_t run, char *err, size_t errlen, int *transient);

#endif
