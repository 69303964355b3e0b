/*
 * What a relational phase does with a chunk, as data and one C function.
 * The chunk protocol (chunk.c) drives these in one target transaction:
 *
 *   1. source_sql ($1 lo, $2 hi) reads the legacy rows, first column the id.
 *   2. transform() turns each row into one staging row (COPY text), or
 *      rejects it with a stable reason code. No database access.
 *   3. COPY into stage_table (created by stage_ddl, ON COMMIT DELETE ROWS).
 *   4. Per id range of the stage ($1 lo, $2 hi, $3 run id, $4 phase name),
 *      under a savepoint, bisected on database errors:
 *      orphans_sql   DELETE ... RETURNING legacy_id, reason, detail: rows
 *                    whose parents do not resolve (NULL: none)
 *      insert_sql    INSERT ... SELECT ... ON CONFLICT DO NOTHING; the
 *                    command's row count is the number inserted
 *      merged_sql    one row, one column: how many rows of the range were
 *                    folded into another legacy row's target row, first
 *                    recording them in mdw.merges (NULL: never merges)
 *      after_sql     anything else to record (NULL: nothing)
 *      Staged rows neither inserted nor merged already existed.
 */
#ifndef MDW_PHASE_OPS_H
#define MDW_PHASE_OPS_H

#include <libpq-fe.h>

#include "mdw/phase.h"
#include "rowbuf.h"

/* A rejection from transform(): reason is a stable code, detail human text (no row content). */
struct mdw_reject_info {
	const char *reason;
	char detail[256];
};

enum { MDW_ROW_STAGED = 0, MDW_ROW_REJECTED = 1 };

struct phase_ops {
	const char *source_sql;
	const char *stage_table;
	const char *stage_ddl;
	const char *stage_copy;
	/* Stage row ROW of SRC into OUT (legacy id first) or fill REJ; returns MDW_ROW_*. */
	int (*transform)(const PGresult *src, int row, struct rowbuf *out, struct mdw_reject_info *rej);
	const char *orphans_sql;
	const char *insert_sql;
	const char *merged_sql;
	const char *after_sql;
};

/* The ops of each relational phase, indexed by enum mdw_phase_id (NULL: not relational). */
extern const struct phase_ops *const mdw_phase_ops[MDW_NPHASES];

#endif
