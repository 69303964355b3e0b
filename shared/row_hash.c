/*
 * The row hashes a run records (mdw/row_hash.h). Each chunk records the
 * hashes of the rows it made, in its own transaction: the hash is written
 * with the row or not at all, and the work is spread over the workers and
 * the load instead of one statement over the whole table when the phase
 * completes (at scale 10, 41.8 s and 19.0 s of the coordinator's critical
 * path for cases and projects). The chunk's made ids reach the target table's
 * unique legacy id index through verify's target side, whose id is that
 * column (mdw/verify_spec.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	char *ids;
	int earlier;

	*n = 0;
	if (!row_hash_covers(c->phase))
		return 0;
	snprintf(run, sizeof run, "%" PRId64, c->run);
	snprintf(lo, sizeof lo, "%" PRId64, c->lo);
	snprintf(hi, sizeof hi, "%" PRId64, c->hi);
	/*
	 * First the legacy ids the run made (or updated) in the range, then the
	 * hashes of those ids. One statement joining the two was planned by the
	 * estimate of the fresh table's mdw_run_id (one row): a nested loop that
	 * computed the whole target side once per row (at scale 1, 35-60 s for a
	 * chunk of profiles). An id list reaches each table's legacy id index
	 * whatever the statistics say. With them, whether the range holds any
	 * hash yet (an earlier run's): in a first run it holds none, and a plain
	 * insert costs a third less than ON CONFLICT's check and insert. (A
	 * chunk's range is its own: no other transaction adds hashes to it
	 * meanwhile; if one did, the insert fails and the chunk is retried.)
	 */
	snprintf(sql, sizeof sql,
		 "SELECT coalesce(array_agg(k), '{}')::text, EXISTS (SELECT 1 FROM mdw.row_hashes h WHERE h.phase = $2 "
		 "AND h.legacy_id BETWEEN $3::bigint AND $4::bigint) FROM (SELECT m.%s AS k FROM public.%s m "
		 "WHERE m.%s BETWEEN $3::bigint AND $4::bigint AND m.mdw_run_id = $1::bigint%s) y",
		 row_hash_made_key(c->phase), row_hash_made_table(c->phase), row_hash_made_key(c->phase),
		 catch_up
			 ? " UNION SELECT u.legacy_id FROM mdw.catchup_rows u WHERE u.run_id = $1::bigint AND u.phase = $2 "
			   "AND u.action = 'update' AND u.legacy_id BETWEEN $3::bigint AND $4::bigint"
			 : "");
	if (!(r = pgx_query(tgt, sql, 4, p, err, errlen, transient)))
		return -1;
	if (!strcmp(PQgetvalue(r, 0, 0), "{}")) {
		PQclear(r);
		return 0;
	}
	earlier = !strcmp(PQgetvalue(r, 0, 1), "t");
	if (!(ids = strdup(PQgetvalue(r, 0, 0)))) {
		PQclear(r);
		snprintf(err, errlen, "out of memory");
		*transient = 0;
		return -1;
	}
	PQclear(r);
	/*
	 * DISTINCT ON: a target side that is a UNION ALL (profiles, merged
	 * members and templates) could name a legacy id twice, and ON CONFLICT
	 * DO UPDATE may touch a row once per statement.
	 */
	snprintf(sql, sizeof sql,
		 "INSERT INTO mdw.row_hashes (phase, legacy_id, hash, run_id) "
		 "SELECT DISTINCT ON (x.id) $2::text, x.id, md5(x::text), $1::bigint FROM (%s) x "
		 "WHERE x.id = ANY($3::bigint[]) ORDER BY x.id%s",
		 verify_target_sql(c->phase),
		 earlier ? " ON CONFLICT (phase, legacy_id) DO UPDATE SET hash = EXCLUDED.hash, run_id = EXCLUDED.run_id"
			 : "");
	p[2] = ids;
	r = pgx_query(tgt, sql, 3, p, err, errlen, transient);
	free(ids);
	if (!r)
		return -1;
	*n = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
}
