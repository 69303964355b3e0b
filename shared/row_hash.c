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

/*
 * The legacy ids C's run made (or updated) in C's range, as an array
 * literal in *IDS; whether the range holds an earlier hash (*EARLIER); the
 * session's enable_hashjoin and enable_mergejoin (JOINS). 1; 0: none made;
 * -1 with ERR.
 */
static int made_ids(PGconn *tgt, const struct mdw_chunk *c, int catch_up, const char *const *p, char **ids,
		    int *earlier, char *joins[2], char *err, size_t errlen, int *transient)
{
	char sql[2048];
	PGresult *r;

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
		 "AND h.legacy_id BETWEEN $3::bigint AND $4::bigint), current_setting('enable_hashjoin'), "
		 "current_setting('enable_mergejoin') FROM (SELECT m.%s AS k FROM public.%s m "
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
	*earlier = !strcmp(PQgetvalue(r, 0, 1), "t");
	*ids = strdup(PQgetvalue(r, 0, 0));
	joins[0] = strdup(PQgetvalue(r, 0, 2));
	joins[1] = strdup(PQgetvalue(r, 0, 3));
	PQclear(r);
	if (!*ids || !joins[0] || !joins[1]) {
		snprintf(err, errlen, "out of memory");
		*transient = 0;
		return -1;
	}
	return 1;
}

int row_hash_record_chunk(PGconn *tgt, const struct mdw_chunk *c, int catch_up, long long *n, char *err, size_t errlen,
			  int *transient)
{
	char sql[16384], run[24], lo[24], hi[24];
	const char *p[4] = {run, mdw_phases[c->phase].name, lo, hi};
	PGresult *r;
	char *ids = NULL, *joins[2] = {NULL, NULL}; /* enable_hashjoin, enable_mergejoin as the session had them */
	int earlier = 0, rc = -1, made;

	*n = 0;
	if (!row_hash_covers(c->phase))
		return 0;
	snprintf(run, sizeof run, "%" PRId64, c->run);
	snprintf(lo, sizeof lo, "%" PRId64, c->lo);
	snprintf(hi, sizeof hi, "%" PRId64, c->hi);
	if ((made = made_ids(tgt, c, catch_up, p, &ids, &earlier, joins, err, errlen, transient)) <= 0) {
		rc = made;
		goto fail;
	}
	/*
	 * The hashes read at most a chunk's rows, each by the target table's
	 * legacy id index, and each row's parents by their primary keys. The
	 * planner, costing those reads as random pages, built a hash of the
	 * whole parent table instead, in every chunk (the 88,000 profiles of a
	 * projects chunk at scale 10: 102 ms against 75 ms by the index), and
	 * the build grows with the table. Index lookups, for this statement only.
	 */
	if (pgx_exec(tgt,
		     "SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)",
		     0, NULL, err, errlen, transient) < 0)
		goto fail;
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
	if (!(r = pgx_query(tgt, sql, 3, p, err, errlen, transient)))
		goto fail;
	*n = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	if (pgx_exec(tgt, "SELECT set_config('enable_hashjoin', $1, true), set_config('enable_mergejoin', $2, true)", 2,
		     (const char *const *)joins, err, errlen, transient) < 0)
		goto fail;
	rc = 0;
fail:
	free(ids);
	free(joins[0]);
	free(joins[1]);
	return rc;
}

int row_hash_insert_sql(enum mdw_phase_id ph, const char *insert_sql, char **out)
{
	char side[8192];
	size_t len;

	*out = NULL;
	if (!row_hash_covers(ph) || verify_target_sql_over(ph, "ins", side, sizeof side) < 0)
		return 0;
	/* the insert's $3 is the run and the range statements' $4 the phase's name (worker/chunk.c range_query) */
	len = strlen(insert_sql) + strlen(side) + 512;
	if (!(*out = malloc(len)))
		return -1;
	snprintf(*out, len,
		 "WITH ins AS (%s RETURNING *), h AS (INSERT INTO mdw.row_hashes (phase, legacy_id, hash, run_id) "
		 "SELECT $4::text, x.id, md5(x::text), $3::bigint FROM (%s) x RETURNING 1) "
		 "SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM h)",
		 insert_sql, side);
	return 0;
}
