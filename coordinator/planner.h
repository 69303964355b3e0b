/*
 * The chunk planner: a keyset walk over a source table's primary key, so
 * that each chunk holds chunk_rows rows whatever the gaps in the ids (never
 * (max-min)/n arithmetic). Chunks are [lo, hi], inclusive, contiguous:
 * chunk k+1 starts right after chunk k's last id.
 */
#ifndef MDW_PLANNER_H
#define MDW_PLANNER_H

#include <libpq-fe.h>
#include <stddef.h>

struct plan_chunk {
	long long lo, hi, rows;
};

struct plan {
	struct plan_chunk *chunks;
	int n, cap;
	long long rows; /* source rows covered */
};

/*
 * The id source the walk reads: of the (at most) N rows with the smallest
 * ids > AFTER, the first id in *LO, the last in *HI and how many in *COUNT
 * (0 when none). Returns 0, or -1 with ERR.
 */
typedef int (*plan_next_fn)(void *arg, long long after, long long n, long long *lo, long long *hi, long long *count,
			    char *err, size_t errlen);

/*
 * How a walk cuts ranges:
 *   PLAN_CONTIGUOUS  every id: chunk k+1 starts right after chunk k's last
 *                    id, and the walk ends at the first short window;
 *   PLAN_DUE_ONLY    only due ids (incremental runs): NEXT returns in *LO the
 *                    first due id > AFTER, in *HI the last due id among the N
 *                    ids from *LO on, in *COUNT how many ids (due or not) lie
 *                    in [*LO, *HI], 0 when none is due; ranges start at *LO.
 */
enum plan_ranges { PLAN_CONTIGUOUS, PLAN_DUE_ONLY };

/* Walk the ids with NEXT into P (zeroed by the caller; free with plan_free). */
__attribute__((warn_unused_result)) int plan_walk(struct plan *p, plan_next_fn next, void *arg, long long chunk_rows,
						  enum plan_ranges mode, char *err, size_t errlen);

/* plan_walk over TABLE's integer id column in the database C. */
__attribute__((warn_unused_result)) int plan_table(struct plan *p, PGconn *c, const char *table, long long chunk_rows,
						   char *err, size_t errlen);

void plan_free(struct plan *p);

#endif
