/*
 * The catch-up's update in place (mdw-coordinator --catch-up, see
 * coordinator/catchup.c): the target rows of a range that the coordinator
 * listed in mdw.catchup_rows as 'update' for this run and phase get the
 * values the load would insert for them today.
 *
 * The statement is made from the phase's own insert_sql, so that there is one
 * description of what a staged row becomes (parents resolved by the same
 * joins): "INSERT INTO public.T (key, c1, ..., mdw_run_id) SELECT ... ON
 * CONFLICT ..." becomes
 *
 *   WITH n (key, c1, ..., mdw_run_id) AS (SELECT ...),
 *   d AS (UPDATE public.T t SET (c1, ...) = ROW(n.c1, ...) FROM n
 *     JOIN mdw.catchup_rows u ON u.run_id = $3 AND u.phase = $4 AND u.legacy_id = n.key AND u.action = 'update'
 *     WHERE t.key = n.key AND t.mdw_run_id IS NOT NULL AND t.xmin = u.target_xmin RETURNING 1),
 *   c AS (UPDATE mdw.catchup_rows u SET action = 'conflict', reason = 'changed_in_target' FROM public.T t
 *     WHERE (u is an 'update' row of the range $1..$2) AND t.key = u.legacy_id
 *     AND t.xmin IS DISTINCT FROM u.target_xmin RETURNING 1)
 *   SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM c)
 *
 * (Both see the rows as they were before the statement: c finds exactly the
 * listed rows that d's version check leaves alone.)
 *
 * t.xmin = u.target_xmin: the row is still the version the plan found
 * unchanged since the migration wrote it (the plan read its xmin with its
 * hash); a row the application changed after the plan is left alone and
 * becomes a conflict in the same transaction.
 *
 * mdw_run_id keeps the run that inserted the row (rollback removes what a run
 * inserted); only rows the migration made are updated (mdw_run_id not NULL).
 * Its first column is the chunk's rows_updated (the second: the rows left as conflicts). Profiles are merged
 * by email and never updated in place (the coordinator lists none), and the
 * statement runs in catch-up runs only: other runs need no UPDATE privilege.
 *
 * A catch-up chunk reads only the legacy rows it has to write: the phase's
 * source_sql, whose range is "X BETWEEN $1 AND $2", becomes "X BETWEEN $1 AND
 * $2 AND X = ANY($3::bigint[])" with the ids listed 'update' or 'insert' for
 * the run in the chunk's range (changes spread thinly over a table would
 * otherwise have each chunk read a hundred unchanged rows per changed one).
 * The coordinator counts the chunk's source rows the same way, and the
 * validation of a catch-up run keeps to the listed rows.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catchup_update.h"
#include "mdw/pgx.h"
#include "phase_ops.h"

static char *built[MDW_NPHASES], *narrowed[MDW_NPHASES];
static int tried[MDW_NPHASES], tried_narrow[MDW_NPHASES];

/* Append "PFX name" for every column of COLS (comma-separated) except SKIP1/SKIP2 to OUT. */
static size_t put_cols(char *out, size_t cap, const char *cols, size_t len, const char *pfx, const char *skip1,
		       const char *skip2)
{
	size_t o = 0;
	int first = 1;

	while (len) {
		const char *comma = memchr(cols, ',', len);
		size_t n = comma ? (size_t)(comma - cols) : len;
		const char *a = cols;
		size_t m = n;
		while (m && *a == ' ')
			a++, m--;
		while (m && a[m - 1] == ' ')
			m--;
		if (!((skip1 && strlen(skip1) == m && !strncmp(a, skip1, m)) ||
		      (skip2 && strlen(skip2) == m && !strncmp(a, skip2, m)))) {
			o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, "%s%s%.*s", first ? "" : ", ", pfx,
					      (int)m, a);
			first = 0;
		}
		if (!comma)
			break;
		len -= n + 1;
		cols += n + 1;
	}
	return o;
}

const char *cu_update_sql(enum mdw_phase_id ph)
{
	const struct phase_ops *ops = ph < MDW_NPHASES ? mdw_phase_ops[ph] : NULL;
	const char *ins, *open, *close, *sel, *conflict, *table;
	char key[64], set[1024], vals[1024];
	size_t tlen, klen, clen;
	char *sql;

	if (ph >= MDW_NPHASES || tried[ph])
		return ph < MDW_NPHASES ? built[ph] : NULL;
	tried[ph] = 1;
	if (ph == MDW_PH_PROFILES || !ops || !(ins = ops->insert_sql) || strncmp(ins, "INSERT INTO ", 12))
		return NULL;
	table = ins + 12;
	if (!(open = strchr(table, '(')) || !(close = strchr(open, ')')) || !(sel = strstr(close, " SELECT ")) ||
	    !(conflict = strstr(sel, " ON CONFLICT ")))
		return NULL;
	tlen = (size_t)(open - table);
	while (tlen && table[tlen - 1] == ' ')
		tlen--;
	clen = (size_t)(close - open - 1);
	klen = strcspn(open + 1, ",");
	if (klen >= sizeof key || klen == clen)
		return NULL;
	snprintf(key, sizeof key, "%.*s", (int)klen, open + 1);
	if (put_cols(set, sizeof set, open + 1, clen, "", key, "mdw_run_id") >= sizeof set ||
	    put_cols(vals, sizeof vals, open + 1, clen, "n.", key, "mdw_run_id") >= sizeof vals)
		return NULL;
	{
		size_t cap = strlen(ins) + strlen(set) + strlen(vals) + 1024;
		if (!(sql = malloc(cap)))
			return NULL;
		snprintf(sql, cap,
			 "WITH n (%.*s) AS (%.*s), d AS (UPDATE %.*s t SET (%s) = ROW(%s) FROM n JOIN mdw.catchup_rows u "
			 "ON u.run_id = $3::bigint AND u.phase = $4::text AND u.legacy_id = n.%s AND u.action = 'update' "
			 "WHERE t.%s = n.%s AND t.mdw_run_id IS NOT NULL AND t.xmin = u.target_xmin RETURNING 1), "
			 "c AS (UPDATE mdw.catchup_rows u SET action = 'conflict', reason = 'changed_in_target' FROM %.*s t "
			 "WHERE u.run_id = $3::bigint AND u.phase = $4::text AND u.action = 'update' "
			 "AND u.legacy_id BETWEEN $1 AND $2 AND t.%s = u.legacy_id AND t.xmin IS DISTINCT FROM u.target_xmin "
			 "RETURNING 1) "
			 "SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM c)",
			 (int)clen, open + 1, (int)(conflict - sel - 1), sel + 1, (int)tlen, table, set, vals, key, key,
			 key, (int)tlen, table, key);
	}
	built[ph] = sql;
	return sql;
}

const char *cu_source_sql(enum mdw_phase_id ph)
{
	const struct phase_ops *ops = ph < MDW_NPHASES ? mdw_phase_ops[ph] : NULL;
	static const char range[] = " BETWEEN $1 AND $2";
	const char *src, *at, *x;
	size_t cap;
	char *sql;

	if (ph >= MDW_NPHASES || tried_narrow[ph])
		return ph < MDW_NPHASES ? narrowed[ph] : NULL;
	tried_narrow[ph] = 1;
	if (!ops || !(src = ops->source_sql) || !(at = strstr(src, range)) || strstr(at + 1, range))
		return NULL;
	/* X: the expression before the range, back to " WHERE " */
	for (x = at; x > src && strncmp(x, " WHERE ", 7); x--)
		;
	if (x == src || at - (x + 7) <= 0 || at - (x + 7) > 32)
		return NULL;
	x += 7;
	cap = strlen(src) + (size_t)(at - x) + 64;
	if (!(sql = malloc(cap)))
		return NULL;
	snprintf(sql, cap, "%.*s AND %.*s = ANY($3::bigint[])%s", (int)(at - src + sizeof range - 1), src,
		 (int)(at - x), x, at + sizeof range - 1);
	narrowed[ph] = sql;
	return sql;
}

int cu_source_read(PGconn *tgt, int64_t run, enum mdw_phase_id ph, const char *lo, const char *hi, const char **sql,
		   char **ids, char *err, size_t errlen, int *transient)
{
	char id[24];
	const char *p[4] = {id, ph < MDW_NPHASES ? mdw_phases[ph].name : "", lo, hi};
	PGresult *r;
	int cu = cu_run_is_catch_up(tgt, run, err, errlen, transient);

	if (cu <= 0)
		return cu;
	if (!cu_source_sql(ph)) {
		snprintf(err, errlen, "phase %s: its source read cannot be narrowed to the catch-up's rows",
			 ph < MDW_NPHASES ? mdw_phases[ph].name : "?");
		return -1;
	}
	snprintf(id, sizeof id, "%" PRId64, run);
	if (!(r = pgx_query(tgt,
			    "SELECT coalesce(array_agg(legacy_id ORDER BY legacy_id)::text, '{}') FROM mdw.catchup_rows "
			    "WHERE run_id = $1::bigint AND phase = $2 AND legacy_id BETWEEN $3::bigint AND $4::bigint "
			    "AND action IN ('update', 'insert')",
			    4, p, err, errlen, transient)))
		return -1;
	*ids = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!*ids) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*sql = cu_source_sql(ph);
	return 1;
}

int cu_run_is_catch_up(PGconn *tgt, int64_t run, char *err, size_t errlen, int *transient)
{
	static int64_t known_run;
	static int known;
	char id[24];
	const char *p[1] = {id};
	PGresult *r;

	if (run == known_run && known_run)
		return known;
	snprintf(id, sizeof id, "%" PRId64, run);
	if (!(r = pgx_query(tgt,
			    "SELECT coalesce(settings ->> 'catch_up', 'false') = 'true' FROM mdw.runs WHERE id = $1", 1,
			    p, err, errlen, transient)))
		return -1;
	known = PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
	known_run = run;
	PQclear(r);
	return known;
}
