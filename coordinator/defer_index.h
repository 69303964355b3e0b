/*
 * Secondary indexes built after the load (issue 20). A phase planned into an
 * empty target table loads faster without the table's non-unique indexes
 * (an insert maintains every index row by row; a build after the load sorts
 * once). So the plan's transaction drops them, after recording each
 * definition in mdw.deferred_indexes; the unique keys, which serve ON
 * CONFLICT and the merges, stay. They are built again, and their rows
 * deleted, in one transaction, when the phase's last chunk is done (before
 * its validation, which reads through them) or when the phase fails; a
 * coordinator that starts builds those of every other run (a run given up
 * for a new one). A table that already holds rows keeps its indexes.
 */
#ifndef MDW_DEFER_INDEX_H
#define MDW_DEFER_INDEX_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "mdw/phase.h"

/*
 * Inside the caller's open transaction on the target T: when PH's target
 * table is empty, record and drop its non-unique indexes for RUN. *N = how
 * many (0: the table holds rows, or has none). 0, or -1 with ERR.
 */
__attribute__((warn_unused_result)) int defer_indexes(PGconn *t, int64_t run, enum mdw_phase_id ph, int *n, char *err,
						      size_t errlen);

/*
 * Build the indexes that RUN's phase PH deferred, or with PH < 0 those that
 * every other run deferred, in one transaction of its own on T; logs each
 * phase's count. 0, or -1 with ERR (nothing built: the definitions stay).
 */
__attribute__((warn_unused_result)) int build_deferred_indexes(PGconn *t, int64_t run, int ph, char *err,
							       size_t errlen);

#endif
