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
 *      orphans_sql   rows whose parents do not resolve in the target
 *                    (MDW_ORPHANS: legacy_id, reason, detail and the
 *                    root's phase, legacy id and reason; NULL: none)
 *      insert_sql    INSERT ... SELECT ... ON CONFLICT DO NOTHING; the
 *                    command's row count is the number inserted
 *      flags_sql     the repairs of the rows still staged into mdw.flags
 *                    (MDW_FLAGS; NULL: the phase repairs nothing)
 *      merged_sql    one row, one column: how many rows of the range were
 *                    folded into another legacy row's target row, first
 *                    recording them in mdw.merges (NULL: never merges)
 *      after_sql     anything else to record (NULL: nothing)
 *      Staged rows neither inserted nor merged already existed.
 *
 * Source columns named mdw_* are computed (e.g. whether a reference dangles
 * in the legacy data), not legacy values: a reject's source_row omits them.
 */
#ifndef MDW_PHASE_OPS_H
#define MDW_PHASE_OPS_H

#include <libpq-fe.h>
#include <stdio.h>

#include "mdw/phase.h"
#include "rowbuf.h"

/* A rejection from transform(): reason is a stable code, detail human text (no row content). */
struct mdw_reject_info {
	const char *reason;
	char detail[256];
};

/*
 * The orphans of a range: DEL is a DELETE ... RETURNING legacy_id, reason,
 * what (the reference's name), parent_phase, parent_id; each gets its detail
 * (was the parent rejected, and why) and its root (mdw.reject_root).
 */
#define MDW_ORPHANS(del)                                                                                               \
	"WITH d (legacy_id, reason, what, parent_phase, parent_id) AS (" del ") "                                      \
	"SELECT d.legacy_id, d.reason, mdw.parent_detail(d.what, d.parent_phase, d.parent_id), "                       \
	"r.phase, r.legacy_id, r.reason FROM d LEFT JOIN LATERAL mdw.reject_root(d.parent_phase, d.parent_id) r ON true"

/* The repairs of the staged rows of a range: STAGE has repairs text[] of 'code|detail' (tu_repairs). */
#define MDW_FLAGS(stage)                                                                                               \
	"INSERT INTO mdw.flags (run_id, phase, legacy_id, code, detail) "                                              \
	"SELECT $3::bigint, $4::text, s.legacy_id, split_part(f, '|', 1), substr(f, strpos(f, '|') + 1) "              \
	"FROM " stage " s, unnest(s.repairs) f WHERE s.legacy_id BETWEEN $1 AND $2 "                                   \
	"ON CONFLICT (phase, legacy_id, code) DO NOTHING"

enum { MDW_ROW_STAGED = 0, MDW_ROW_REJECTED = 1 };

/* Reject with REASON a row whose required reference WHAT (legacy id ID) dangles in the legacy data. */
static inline int mdw_reject_dangling(struct mdw_reject_info *rej, const char *reason, const char *what, const char *id)
{
	rej->reason = reason;
	snprintf(rej->detail, sizeof rej->detail, "legacy %s %s does not exist", what, id ? id : "NULL");
	return MDW_ROW_REJECTED;
}

struct phase_ops {
	const char *source_sql;
	const char *stage_table;
	const char *stage_ddl;
	const char *stage_copy;
	/* Stage row ROW of SRC into OUT (legacy id first) or fill REJ; returns MDW_ROW_*. */
	int (*transform)(const PGresult *src, int row, struct rowbuf *out, struct mdw_reject_info *rej);
	const char *orphans_sql;
	const char *insert_sql;
	const char *flags_sql;
	const char *merged_sql;
	const char *after_sql;
};

/* The ops of each relational phase, indexed by enum mdw_phase_id (NULL: not relational). */
extern const struct phase_ops *const mdw_phase_ops[MDW_NPHASES];

#endif
