/*
 * Statistics of the mdw tables that the chunks fill (issue 20). mdw.flags,
 * mdw.rejects and mdw.merges start empty and grow by thousands of rows a
 * phase; never analyzed, the planner guesses one row for an equality (the
 * repairs of one phase and code, say), and the validation and report queries
 * that join them with a loaded table choose nested loops that compare every
 * row of one with every row of the other. At scale 10 one success criterion
 * took 4.3 s per report (22 s over one run; 0.2-0.3 s once they are
 * analyzed). Autovacuum analyzes them eventually, not before the coordinator
 * reads. So the coordinator analyzes them before it validates a phase. The
 * loaded target tables are left to autovacuum: a full ANALYZE of cases costs
 * 0.2-0.3 s at any scale (its text columns), and no query the run makes was
 * found to go wrong without their statistics.
 */
#ifndef MDW_ANALYZE_H
#define MDW_ANALYZE_H

#include <libpq-fe.h>
#include <stddef.h>

/*
 * Analyze, on the target T, those of mdw.flags, mdw.rejects and mdw.merges
 * that were never analyzed or have changed by more than a tenth since (the
 * rule autovacuum applies, applied now). *N = how many tables (0: none
 * needed it). Waits at most 5 s for a table's lock (a VACUUM, a manual
 * ANALYZE). 0, or -1 with ERR: nothing is lost then, the planner only keeps
 * guessing.
 */
__attribute__((warn_unused_result)) int analyze_ledger(PGconn *t, int *n, char *err, size_t errlen);

#endif
