/*
 * The row hashes a run records (mdw/row_hash.h). Each chunk records the
 * hashes of the rows it made, in its own transaction: the hash is written
 * with the row or not at all, and the work is spread over the workers and
 * the load instead of one statement over the whole table when the phase
 * completes (at scale 10, 15-20 s of the coordinator's critical path for
 * cases and projects). The chunk's range [lo, hi] reaches the target
 * table's unique legacy id index through verify's target side, whose id is
 * that column (mdw/verify_spec.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "mdw/row_hash.h"
#include "mdw/verify_spec.h"

/*
 * Which legacy ids of a phase the migration made: the rows of its target
 * table (the phase table's legacy id column) with mdw_run_id; for profiles,
 * merged by email, the legacy users of profile_legacy_users.
 */
const char *row_hash_made_table(enum mdw_phase_id ph)
{
	return mdw_phases[ph].mapping ? mdw_phases[ph].mapping : mdw_phases[ph].target;
}

const char *row_hash_made_key(enum mdw_phase_id ph)
{
	return mdw_phases[ph].mapping ? "legacy_user_id" : mdw_phases[ph].legacy_col;
}

int row_hash_covers(enum mdw_phase_id ph)
{
	return ph < MDW_NPHASES && mdw_phases[ph].kind == MDW_KIND_RELATIONAL && mdw_phases[ph].legacy_col &&
	       verify_target_sql(ph);
}

int row_hash_record_chunk(PGconn *tgt, const struct mdw_chunk *c, int catch_up, long long *n, char *err, size_t errlen,
			  int *transient)
{
	char sql[16384], run[24], lo[24], hi[24];
	const char *p[4] = {run, mdw_phases[c->phase].name, lo, hi};
	PGresult *r;

	*n = 0;
	if (!row_hash_covers(c->phase))
		return 0;
	snprintf(run, sizeof run, "%" PRId64, c->run);
	snprintf(lo, sizeof lo, "%" PRId64, c->lo);
	snprintf(hi, sizeof hi, "%" PRId64, c->hi);
	/*
	 * The made rows by a range of the index on the made table's key (a
	 * correlated EXISTS was planned as a scan of the whole table once the
	 * table was analyzed). DISTINCT ON: a target side that is a UNION ALL
	 * (profiles, merged members and templates) could name a legacy id twice,
	 * and ON CONFLICT DO UPDATE may touch a row once per statement.
	 */
	snprintf(sql, sizeof sql,
		 "INSERT INTO mdw.row_hashes (phase, legacy_id, hash, run_id) "
		 "SELECT DISTINCT ON (x.id) $2::text, x.id, md5(x::text), $1::bigint FROM (%s) x "
		 "WHERE x.id BETWEEN $3::bigint AND $4::bigint AND (x.id IN (SELECT m.%s FROM public.%s m "
		 "WHERE m.%s BETWEEN $3::bigint AND $4::bigint AND m.mdw_run_id = $1::bigint)%s) ORDER BY x.id "
		 "ON CONFLICT (phase, legacy_id) DO UPDATE SET hash = EXCLUDED.hash, run_id = EXCLUDED.run_id",
		 verify_target_sql(c->phase), row_hash_made_key(c->phase), row_hash_made_table(c->phase),
		 row_hash_made_key(c->phase),
		 catch_up ? " OR EXISTS (SELECT 1 FROM mdw.catchup_rows u WHERE u.run_id = $1::bigint AND u.phase = $2 "
			    "AND u.legacy_id = x.id AND u.action = 'update')"
			  : "");
	if (!(r = pgx_query(tgt, sql, 4, p, err, errlen, transient)))
		return -1;
	*n = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}
