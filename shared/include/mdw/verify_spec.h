/*
 * What each verified phase's rows are, in legacy terms, on both sides: the
 * table of verify_spec, one row per phase. The source side computes in SQL
 * over the legacy database what every legacy row should have become (from
 * the rules of docs/transforms.md, independently of the C transforms); the
 * target side reads the target's rows back in the same terms (a practice as
 * its legacy id, a profile as its email). md5(x::text) of a target-side row
 * x is the row's hash: what mdw.row_hashes records (the worker, in each
 * chunk's transaction: worker/row_hash_record.c), what a catch-up compares.
 * ops/verify.c compares the two sides; this table is in the shared library
 * because the worker records the hashes of the target side.
 */
#ifndef MDW_VERIFY_SPEC_H
#define MDW_VERIFY_SPEC_H

#include <stddef.h>

#include "mdw/phase.h"

struct verify_spec {
	enum mdw_phase_id phase; /* its legacy table (mdw_phases[].source) is the id range --sample draws buckets from */
	const char *source;      /* $3: the legacy ids expected absent (bigint[]); $4: the holders */
	const char *target;
	const char *holders; /* on the target: $4 of the source side (NULL: none) */
	int merges_absent;   /* merged rows are expected absent (else the target side reads them back) */
	/*
	 * The holders are rows that an earlier phase of the same run writes (the
	 * profiles a catch-up inserts): the comparison waits for its load, and
	 * is never computed ahead (verify_ahead).
	 */
	int holders_from_earlier;
};

/* PH's row of the table, or NULL: PH has no row-level verification. */
const struct verify_spec *verify_spec_find(enum mdw_phase_id ph);

/* Whether PH has a row-level verification. */
int verify_covers(enum mdw_phase_id ph);

/*
 * Whether PH's comparison may be computed before the phases it needs are
 * loaded: both sides read rows by legacy ids, which no load changes, and its
 * expected side reads nothing that an earlier phase of the run writes.
 */
int verify_ahead(enum mdw_phase_id ph);

/*
 * The target side of PHASE's verification: one row per legacy id (column id),
 * its columns in legacy terms, no parameters; md5(x::text) of such a row x is
 * the row's hash (what mdw.row_hashes records). NULL: no verification. Where
 * the target's legacy id column is an integer, id is that column itself (no
 * cast), so that a condition on x.id uses the column's unique index.
 */
const char *verify_target_sql(enum mdw_phase_id phase);

/*
 * PHASE's target side read over RELATION (rows with the columns of the
 * phase's target table: the RETURNING * of an insert into it) instead of the
 * table itself, in OUT (OUTLEN bytes). Only for a side that reads its table
 * once and nothing else of the phase (no UNION, no merged rows): 0; -1 when
 * it does not, or OUT is too small.
 */
int verify_target_sql_over(enum mdw_phase_id phase, const char *relation, char *out, size_t outlen);

#endif
