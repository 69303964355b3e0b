/*
 * What a catch-up finds for one relational phase (see catchup.c): mdwctl
 * verify's comparison of its legacy rows with the target, each differing
 * row classified update or conflict (with the reason) and each stray row
 * deleted in the legacy database or not. Nothing is written here: the
 * coordinator records it (catchup.c), or computes it ahead
 * (catchup_ahead.c); the plan counts it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catchup_find.h"
#include "mdw/pgx.h"
#include "mdw/strbuf.h"

/* Why a differing row of PH is never updated in place (NULL: it is): profiles are merged by email. */
static const char *never_updated(enum mdw_phase_id ph)
{
	return ph == MDW_PH_PROFILES ? "profiles_merge" : NULL;
}

void catchup_found_free(struct catchup_found *f)
{
	verify_ids_free(&f->v);
	free(f->action);
	free(f->reason);
	free(f->gone);
	*f = (struct catchup_found){0};
}

/* IDS[0..N) as a bigint[] literal (caller frees), or NULL. */
char *catchup_ids_literal(const long long *ids, long long n)
{
	size_t cap = (size_t)n * 21 + 3, o = 1;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	s[0] = '{';
	for (long long i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s%lld", i ? "," : "", ids[i]);
	snprintf(s + o, cap - o, "}");
	return s;
}

/* The target hashes of F's differing rows as a text[] literal (caller frees), or NULL. */
static char *hashes_literal(const struct catchup_found *f)
{
	struct strbuf b = STRBUF_INIT;

	strbuf_putc(&b, '{');
	for (long long i = 0; i < f->v.ndiffer; i++)
		strbuf_printf(&b, "%s%s", i ? "," : "", f->v.differ_hash[i][0] ? f->v.differ_hash[i] : "NULL");
	strbuf_putc(&b, '}');
	if (b.oom) {
		strbuf_free(&b);
		return NULL;
	}
	return strbuf_take(&b);
}

/*
 * Decide update or conflict for each differing row of F, from the target
 * row's hash that verify read (no second read of the target side): the row
 * was changed in the target since the migration wrote it if that hash is not
 * the one recorded; a row whose hash verify did not give is a conflict.
 */
static int classify_differ(PGconn *tgt, enum mdw_phase_id ph, struct catchup_found *f, char *err, size_t errlen)
{
	char sql[1024], *lit, *hl = NULL;
	const char *p[3] = {NULL, mdw_phases[ph].name, NULL};
	PGresult *r;
	long long n = f->v.ndiffer;

	f->action = calloc((size_t)n + 1, 1);
	f->reason = calloc((size_t)n + 1, sizeof *f->reason);
	if (!f->action || !f->reason || !(lit = catchup_ids_literal(f->v.differ, n)) ||
	    (n && !(hl = hashes_literal(f)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p[0] = lit;
	p[2] = hl ? hl : "{}";
	/* table names come from the tables of this file, never from input */
	snprintf(sql, sizeof sql,
		 "SELECT d.id, EXISTS (SELECT 1 FROM public.%s t WHERE t.%s = d.id AND t.mdw_run_id IS NOT NULL), "
		 "coalesce(h.hash = d.h, h.hash IS NULL AND d.h IS NOT NULL) "
		 "FROM unnest($1::bigint[], $3::text[]) AS d(id, h) "
		 "LEFT JOIN mdw.row_hashes h ON h.phase = $2 AND h.legacy_id = d.id ORDER BY d.id",
		 row_hash_made_table(ph), row_hash_made_key(ph));
	r = pgx_query(tgt, sql, 3, p, err, errlen, NULL);
	free(lit);
	free(hl);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r) && i < n; i++) {
		int made = !strcmp(PQgetvalue(r, i, 1), "t"), same = !strcmp(PQgetvalue(r, i, 2), "t");
		f->reason[i] = never_updated(ph)                              ? never_updated(ph)
			       : !made                                        ? "not_made_by_migration"
			       : !same                                        ? "changed_in_target"
			       : !f->v.differ_xmin || !f->v.differ_xmin[i][0] ? "version_unknown"
									      : NULL;
		f->action[i] = f->reason[i] ? 'c' : 'u';
		if (f->reason[i])
			f->n_conflict++;
		else
			f->n_update++;
	}
	PQclear(r);
	return 0;
}

/* Which stray rows of F have no legacy row any more (deleted), and which still have one. */
static int classify_stray(PGconn *src, enum mdw_phase_id ph, struct catchup_found *f, char *err, size_t errlen)
{
	char sql[512], *lit;
	const char *p[1];
	PGresult *r;

	if (!(f->gone = calloc((size_t)f->v.nstray + 1, 1)) || !(lit = catchup_ids_literal(f->v.stray, f->v.nstray))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p[0] = lit;
	snprintf(sql, sizeof sql,
		 "SELECT NOT EXISTS (SELECT 1 FROM public.%s s WHERE s.id = d.id) FROM unnest($1::bigint[]) "
		 "WITH ORDINALITY AS d(id, k) ORDER BY d.k",
		 mdw_phases[ph].source);
	r = pgx_query(src, sql, 1, p, err, errlen, NULL);
	free(lit);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r) && i < f->v.nstray; i++)
		if ((f->gone[i] = !strcmp(PQgetvalue(r, i, 0), "t")))
			f->n_deleted++;
	PQclear(r);
	return 0;
}

int catchup_find(PGconn *src, PGconn *tgt, enum mdw_phase_id ph, struct catchup_found *f, char *err, size_t errlen)
{
	char summary[256];
	int rc;

	*f = (struct catchup_found){0};
	if (!row_hash_covers(ph)) {
		snprintf(err, errlen, "phase %s has no catch-up", mdw_phases[ph].name);
		return -1;
	}
	rc = verify_collect(src, tgt, ph, &f->v, summary, sizeof summary, err, errlen);
	if (rc < 0 || rc == 2) {
		if (rc == 2)
			snprintf(err, errlen, "phase %s has no row-level verification", mdw_phases[ph].name);
		return -1;
	}
	if (classify_differ(tgt, ph, f, err, errlen) < 0 || classify_stray(src, ph, f, err, errlen) < 0)
		return -1;
	return 0;
}

int catchup_count(PGconn *src, PGconn *tgt, enum mdw_phase_id ph, struct catchup_counts *n, char *err, size_t errlen)
{
	struct catchup_found f;
	int rc = catchup_find(src, tgt, ph, &f, err, errlen);

	if (rc == 0)
		*n = catchup_found_counts(&f);
	catchup_found_free(&f);
	return rc;
}

struct catchup_counts catchup_found_counts(const struct catchup_found *f)
{
	return (struct catchup_counts){f->n_update, f->v.nmissing, f->n_conflict + f->v.nstray - f->n_deleted,
				       f->n_deleted};
}
