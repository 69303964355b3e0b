/*
 * Catch-up runs before cutover: legacy rows changed or deleted since the
 * migration wrote their target rows, found without change data capture.
 *
 * A catch-up run (mdw-coordinator --catch-up) is an incremental run (its
 * validation keeps to its ranges) that plans each relational phase, in
 * dependency order, from mdwctl verify's comparison (verify.c: md5 per bucket
 * of legacy ids on both sides, drilled down to rows only where the hashes
 * differ; one description of what a legacy row should become):
 *
 *   missing   a legacy row the target should hold and does not: new, planned
 *             and inserted as in any run ('insert');
 *   differs   the target row is not what its legacy row should become today:
 *             updated in place by the worker, in the chunk transaction, with
 *             the ledger row ('update', rows_updated), if the migration made
 *             that row and nobody changed it since; else left alone and
 *             reported ('conflict', with the reason);
 *   stray     a target row whose legacy row is gone: recorded in
 *             mdw.catchup_deleted (phase, legacy id, since when we know),
 *             never deleted by the run (mdwctl catch-up --deleted --apply).
 *
 * "The migration made it, and nobody changed it since": the target row has
 * mdw_run_id (rows that were there before the migration have none), and its
 * hash, read back in verify's legacy terms, is still the one recorded in
 * mdw.row_hashes when the phase of the run that last inserted or updated it
 * completed. A row without a recorded hash (migrated before the hashes
 * existed) counts as unchanged. The decision is taken when the phase is
 * planned; the worker updates only the rows listed 'update' that the
 * migration made (worker/catchup_update.c).
 *
 * Profiles are merged by email: a changed legacy user is reported as a
 * conflict (reason profiles_merge), not updated in place.
 *
 * The embeddings phase of a catch-up run embeds the new entities (as an
 * incremental run does) and those whose rows the run updated: a changed text
 * has a new hash, embedded once and linked; the old embedding stays while
 * another entity links it, and is listed by mdwctl catch-up --orphans
 * (removable with --apply) once none does.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catchup.h"
#include "ctl.h"
#include "mdw/log.h"
#include "mdw/pgx.h"
#include "redrive.h"
#include "rollback.h"
#include "verify.h"

/* Per relational phase: the table and column whose rows say which legacy ids the migration made (mdw_run_id). */
static const struct {
	const char *table, *key;
	const char *refuse; /* why a differing row is never updated in place (NULL: it is) */
} cu_phases[MDW_NPHASES] = {
	[MDW_PH_PRACTICES] = {"practices", "legacy_id", NULL},
	[MDW_PH_PROFILES] = {"profile_legacy_users", "legacy_user_id", "profiles_merge"},
	[MDW_PH_PATIENTS] = {"patients", "legacy_id", NULL},
	[MDW_PH_CASES] = {"cases", "legacy_project_id", NULL},
	[MDW_PH_PROJECTS] = {"projects", "legacy_id", NULL},
	[MDW_PH_PRACTICE_MEMBERS] = {"practice_members", "legacy_id", NULL},
	[MDW_PH_CASE_STATES] = {"case_states", "legacy_id", NULL},
	[MDW_PH_WORKFLOW_TEMPLATES] = {"workflow_templates", "legacy_id", NULL},
};

/* The entities of the embeddings' parts: target table, legacy key, phase. */
static const struct {
	const char *table, *key, *phase;
} cu_parts[MDW_NPARTS] = {
	[MDW_PART_PATIENT] = {"patients", "legacy_id", "patients"},
	[MDW_PART_CASE] = {"cases", "legacy_project_id", "cases"},
	[MDW_PART_PROJECT] = {"projects", "legacy_id", "projects"},
};

/* What catchup_find found: the legacy ids per action, ascending each. */
struct cu_found {
	struct verify_ids v;
	char *action;		/* per v.differ: 'u' update, 'c' conflict */
	const char **reason;	/* per v.differ: the conflict's reason */
	char *gone;		/* per v.stray: 1 the legacy row is deleted */
	long long n_update, n_conflict, n_deleted;
};

static void found_free(struct cu_found *f)
{
	verify_ids_free(&f->v);
	free(f->action);
	free(f->reason);
	free(f->gone);
	*f = (struct cu_found){0};
}

/* IDS[0..N) as a bigint[] literal (caller frees), or NULL. */
static char *ids_literal(const long long *ids, long long n)
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

/* Decide update or conflict for each differing row of F. */
static int classify_differ(PGconn *tgt, enum mdw_phase_id ph, struct cu_found *f, char *err, size_t errlen)
{
	char sql[16384], *lit;
	const char *p[2] = {NULL, mdw_phases[ph].name};
	PGresult *r;
	long long n = f->v.ndiffer;

	f->action = calloc((size_t)n + 1, 1);
	f->reason = calloc((size_t)n + 1, sizeof *f->reason);
	if (!f->action || !f->reason || !(lit = ids_literal(f->v.differ, n))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p[0] = lit;
	/* table names come from the tables of this file and verify.c, never from input */
	snprintf(sql, sizeof sql,
		 "WITH x AS (%s), d AS (SELECT unnest($1::bigint[]) AS id), "
		 "xh AS (SELECT DISTINCT ON (x.id) x.id, md5(x::text) AS h FROM x JOIN d ON d.id = x.id ORDER BY x.id) "
		 "SELECT d.id, EXISTS (SELECT 1 FROM public.%s t WHERE t.%s = d.id AND t.mdw_run_id IS NOT NULL), "
		 "coalesce(h.hash = xh.h, true) FROM d LEFT JOIN xh ON xh.id = d.id "
		 "LEFT JOIN mdw.row_hashes h ON h.phase = $2 AND h.legacy_id = d.id ORDER BY d.id",
		 verify_target_sql(ph), cu_phases[ph].table, cu_phases[ph].key);
	r = pgx_query(tgt, sql, 2, p, err, errlen, NULL);
	free(lit);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r) && i < n; i++) {
		int made = !strcmp(PQgetvalue(r, i, 1), "t"), same = !strcmp(PQgetvalue(r, i, 2), "t");
		f->reason[i] = cu_phases[ph].refuse ? cu_phases[ph].refuse
			       : !made		     ? "not_made_by_migration"
			       : !same		     ? "changed_in_target"
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
static int classify_stray(PGconn *src, enum mdw_phase_id ph, struct cu_found *f, char *err, size_t errlen)
{
	char sql[512], *lit;
	const char *p[1];
	PGresult *r;

	if (!(f->gone = calloc((size_t)f->v.nstray + 1, 1)) || !(lit = ids_literal(f->v.stray, f->v.nstray))) {
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

/* Compare PHASE's legacy rows with the target (verify) and classify what differs into F. */
static int catchup_find(PGconn *src, PGconn *tgt, enum mdw_phase_id ph, struct cu_found *f, char *err, size_t errlen)
{
	char summary[256];
	int rc;

	*f = (struct cu_found){0};
	if (!cu_phases[ph].table) {
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

int catchup_count(PGconn *src, PGconn *tgt, enum mdw_phase_id ph, struct catchup_counts *n, char *err,
		  size_t errlen)
{
	struct cu_found f;
	int rc = catchup_find(src, tgt, ph, &f, err, errlen);

	if (rc == 0)
		*n = (struct catchup_counts){f.n_update, f.v.nmissing, f.n_conflict + f.v.nstray - f.n_deleted,
					     f.n_deleted};
	found_free(&f);
	return rc;
}

/* Record F for RUN in mdw.catchup_rows and mdw.catchup_deleted, in one transaction. */
static int record_found(struct coord *c, enum mdw_phase_id ph, const struct cu_found *f, char *err, size_t errlen)
{
	long long n = f->v.ndiffer + f->v.nmissing + f->v.nstray, k = 0, nd = 0;
	long long *ids = malloc(sizeof *ids * (size_t)(n + 1)), *del = malloc(sizeof *del * (size_t)(n + 1));
	size_t cap = (size_t)n * 32 + 8, oa = 1, orr = 1;
	char *acts = malloc(cap), *reasons = malloc(cap), *lit = NULL, *dlit = NULL, run[24];
	int rc = -1;

	if (!ids || !del || !acts || !reasons)
		goto oom;
	acts[0] = reasons[0] = '{';
	for (long long i = 0; i < n; i++) {
		const char *a, *why;
		if (i < f->v.ndiffer) {
			ids[k] = f->v.differ[i];
			a = f->action[i] == 'u' ? "update" : "conflict";
			why = f->reason[i];
		} else if (i < f->v.ndiffer + f->v.nmissing) {
			ids[k] = f->v.missing[i - f->v.ndiffer];
			a = "insert";
			why = NULL;
		} else {
			long long s = i - f->v.ndiffer - f->v.nmissing;
			if (f->gone[s]) {
				del[nd++] = f->v.stray[s];
				continue;
			}
			ids[k] = f->v.stray[s];
			a = "conflict";
			why = "stray_not_deleted"; /* the legacy row exists but should no longer become this row */
		}
		oa += (size_t)snprintf(acts + oa, cap - oa, "%s%s", k ? "," : "", a);
		orr += (size_t)snprintf(reasons + orr, cap - orr, "%s%s", k ? "," : "", why ? why : "NULL");
		k++;
	}
	snprintf(acts + oa, cap - oa, "}");
	snprintf(reasons + orr, cap - orr, "}");
	if (!(lit = ids_literal(ids, k)) || !(dlit = ids_literal(del, nd)))
		goto oom;
	snprintf(run, sizeof run, "%" PRId64, c->run);
	{
		char sql[1024];
		const char *p1[2] = {run, mdw_phases[ph].name};
		const char *p2[5] = {run, mdw_phases[ph].name, lit, acts, reasons};
		const char *p3[3] = {run, mdw_phases[ph].name, dlit};
		snprintf(sql, sizeof sql,
			 "INSERT INTO mdw.catchup_deleted (phase, legacy_id, first_run, last_run, migrated_by) "
			 "SELECT $2, d.id, $1::bigint, $1::bigint, (SELECT t.mdw_run_id FROM public.%s t WHERE t.%s = d.id "
			 "LIMIT 1) FROM unnest($3::bigint[]) AS d(id) "
			 "ON CONFLICT (phase, legacy_id) DO UPDATE SET last_run = EXCLUDED.last_run",
			 cu_phases[ph].table, cu_phases[ph].key);
		if (pgx_exec(c->tgt, "BEGIN", 0, NULL, err, errlen, NULL) < 0 ||
		    pgx_exec(c->tgt, "DELETE FROM mdw.catchup_rows WHERE run_id = $1 AND phase = $2", 2, p1, err, errlen,
			     NULL) < 0 ||
		    pgx_exec(c->tgt,
			     "INSERT INTO mdw.catchup_rows (run_id, phase, legacy_id, action, reason) "
			     "SELECT $1, $2, g.id, g.a, g.r FROM unnest($3::bigint[], $4::text[], $5::text[]) AS g(id, a, r)",
			     5, p2, err, errlen, NULL) < 0 ||
		    pgx_exec(c->tgt, sql, 3, p3, err, errlen, NULL) < 0 ||
		    pgx_exec(c->tgt, "COMMIT", 0, NULL, err, errlen, NULL) < 0) {
			PQclear(PQexec(c->tgt, "ROLLBACK"));
			goto out;
		}
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(ids);
	free(del);
	free(acts);
	free(reasons);
	free(lit);
	free(dlit);
	return rc;
}

int catchup_walk(struct coord *c, enum mdw_phase_id ph, struct plan *plan, char *err, size_t errlen)
{
	struct cu_found f;
	long long *due = NULL, n = 0, i = 0, j = 0;
	int rc = -1;

	if (catchup_find(c->src, c->tgt, ph, &f, err, errlen) < 0 || record_found(c, ph, &f, err, errlen) < 0)
		goto out;
	/* the rows to update and to insert, ascending: the chunks' ranges */
	if (!(due = malloc(sizeof *due * (size_t)(f.v.ndiffer + f.v.nmissing + 1)))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	while (i < f.v.ndiffer || j < f.v.nmissing) {
		if (i < f.v.ndiffer && f.action[i] != 'u') {
			i++;
			continue;
		}
		if (j >= f.v.nmissing || (i < f.v.ndiffer && f.v.differ[i] < f.v.missing[j]))
			due[n++] = f.v.differ[i++];
		else
			due[n++] = f.v.missing[j++];
	}
	if (redrive_plan_ids(c, ph, due, n, plan, err, errlen) < 0)
		goto out;
	mdw_info("run=%" PRId64 " phase=%s msg=\"catch-up plan\" update=%lld insert=%lld conflict=%lld deleted=%lld "
		 "chunks=%d rows=%lld",
		 c->run, mdw_phases[ph].name, f.n_update, f.v.nmissing, f.n_conflict + f.v.nstray - f.n_deleted,
		 f.n_deleted, plan->n, plan->rows);
	rc = 0;
out:
	free(due);
	found_free(&f);
	return rc;
}

json_t *catchup_plan(PGconn *src, PGconn *tgt, unsigned sel, int ready, char *err, size_t errlen)
{
	json_t *root = json_object();
	PGresult *r;

	if (ready) {
		/* a target whose schema predates the catch-up: its migration is applied by the next coordinator */
		if (!(r = pgx_query(tgt, "SELECT to_regclass('mdw.row_hashes') IS NOT NULL", 0, NULL, err, errlen, NULL)))
			goto fail;
		ready = !strcmp(PQgetvalue(r, 0, 0), "t");
		PQclear(r);
	}
	for (int ph = 0; ph < MDW_NPHASES; ph++) {
		struct catchup_counts n = {0};
		json_t *o;
		if (!(sel & MDW_PH_BIT(ph)) || !cu_phases[ph].table)
			continue;
		if (ready && catchup_count(src, tgt, (enum mdw_phase_id)ph, &n, err, errlen) < 0)
			goto fail;
		o = json_object();
		json_object_set_new(o, "update", ready ? json_integer(n.update) : json_null());
		json_object_set_new(o, "insert", ready ? json_integer(n.insert) : json_null());
		json_object_set_new(o, "conflict", ready ? json_integer(n.conflict) : json_null());
		json_object_set_new(o, "deleted", ready ? json_integer(n.deleted) : json_null());
		json_object_set_new(root, mdw_phases[ph].name, o);
	}
	return root;
fail:
	json_decref(root);
	return NULL;
}

void catchup_plan_print(json_t *plan)
{
	const char *k;
	json_t *o;

	printf("\ncatch-up (mdw-coordinator --catch-up; verify's hashes, no change data capture): per phase the rows it "
	       "would update in place, insert, leave in conflict, and report deleted\n");
	printf("%-20s %10s %10s %10s %10s\n", "phase", "update", "insert", "conflict", "deleted");
	json_object_foreach(plan, k, o) {
		char v[4][24];
		static const char *const f[4] = {"update", "insert", "conflict", "deleted"};
		for (int i = 0; i < 4; i++) {
			json_t *x = json_object_get(o, f[i]);
			if (json_is_integer(x))
				snprintf(v[i], sizeof v[i], "%lld", (long long)json_integer_value(x));
			else
				snprintf(v[i], sizeof v[i], "-");
		}
		printf("%-20s %10s %10s %10s %10s\n", k, v[0], v[1], v[2], v[3]);
	}
	printf("embeddings: the new entities, and those updated whose text changed\n");
}

long long catchup_record_written(PGconn *tgt, enum mdw_phase_id ph, int64_t run, char *err, size_t errlen)
{
	char sql[16384], id[24];
	const char *p[2] = {id, mdw_phases[ph].name};
	PGresult *r;
	long long n;

	if (ph >= MDW_NPHASES || !cu_phases[ph].table || !verify_target_sql(ph))
		return 0;
	snprintf(id, sizeof id, "%" PRId64, run);
	snprintf(sql, sizeof sql,
		 "INSERT INTO mdw.row_hashes (phase, legacy_id, hash, run_id) "
		 "SELECT DISTINCT ON (x.id) $2::text, x.id, md5(x::text), $1::bigint FROM (%s) x "
		 "WHERE x.id IN (SELECT t.%s FROM public.%s t WHERE t.mdw_run_id = $1::bigint) "
		 "OR x.id IN (SELECT u.legacy_id FROM mdw.catchup_rows u WHERE u.run_id = $1::bigint AND u.phase = $2 "
		 "AND u.action = 'update') ORDER BY x.id "
		 "ON CONFLICT (phase, legacy_id) DO UPDATE SET hash = EXCLUDED.hash, run_id = EXCLUDED.run_id",
		 verify_target_sql(ph), cu_phases[ph].key, cu_phases[ph].table);
	if (!(r = pgx_query(tgt, sql, 2, p, err, errlen, NULL)))
		return -1;
	n = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return n;
}

void catchup_embed_filter(enum mdw_part part, int64_t run, const char *base, char *out, size_t outlen)
{
	size_t o;

	if (part <= MDW_PART_NONE || part >= MDW_NPARTS) {
		snprintf(out, outlen, "%s", base);
		return;
	}
	o = (size_t)snprintf(out, outlen,
			     "(%s) OR EXISTS (SELECT 1 FROM mdw.catchup_rows u WHERE u.run_id = %" PRId64
			     " AND u.phase = '%s' AND u.action = 'update' AND u.legacy_id = t.%s)",
			     base, run, cu_parts[part].phase, cu_parts[part].key);
	/* a patient's text holds its cases' */
	if (part == MDW_PART_PATIENT && o < outlen)
		snprintf(out + o, outlen - o,
			 " OR EXISTS (SELECT 1 FROM public.cases x JOIN mdw.catchup_rows u ON u.run_id = %" PRId64
			 " AND u.phase = 'cases' AND u.action = 'update' AND u.legacy_id = x.legacy_project_id "
			 "WHERE x.patient_id = t.id)",
			 run);
}

json_t *catchup_deleted_json(PGconn *tgt, char *err, size_t errlen)
{
	json_t *a = json_array();
	PGresult *r = pgx_query(tgt,
				"SELECT phase, legacy_id, to_char(first_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
				"first_run, migrated_by FROM mdw.catchup_deleted WHERE applied_at IS NULL ORDER BY phase, legacy_id",
				0, NULL, err, errlen, NULL);

	if (!r) {
		json_decref(a);
		return NULL;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		json_t *o = json_object();
		json_object_set_new(o, "phase", json_string(PQgetvalue(r, i, 0)));
		json_object_set_new(o, "legacyId", json_integer(strtoll(PQgetvalue(r, i, 1), NULL, 10)));
		json_object_set_new(o, "since", json_string(PQgetvalue(r, i, 2)));
		json_object_set_new(o, "firstRun", json_integer(strtoll(PQgetvalue(r, i, 3), NULL, 10)));
		json_object_set_new(o, "migratedBy", PQgetisnull(r, i, 4) ? json_null()
									  : json_integer(strtoll(PQgetvalue(r, i, 4), NULL, 10)));
		json_array_append_new(a, o);
	}
	PQclear(r);
	return a;
}

/* ---- mdwctl catch-up ---------------------------------------------------------------------------------------- */

/* Print the result R (header first), columns separated by two spaces. */
static void print_rows(PGresult *r)
{
	for (int k = 0; k < PQnfields(r); k++)
		printf("%s%-12s", k ? "  " : "", PQfname(r, k));
	printf("\n");
	for (int i = 0; i < PQntuples(r); i++) {
		for (int k = 0; k < PQnfields(r); k++)
			printf("%s%-12s", k ? "  " : "", PQgetisnull(r, i, k) ? "-" : PQgetvalue(r, i, k));
		printf("\n");
	}
}

/* Run SQL (N params P) and print its rows under TITLE (NULL: none; only when there are rows if QUIET). 0, or 2. */
static int print_query(PGconn *tgt, const char *what, const char *title, int quiet, const char *sql, int n,
		       const char *const *p)
{
	char err[512];
	PGresult *r = pgx_query(tgt, sql, n, p, err, sizeof err, NULL);

	if (!r) {
		fprintf(stderr, "mdwctl catch-up%s: %s\n", what, err);
		return 2;
	}
	if (title && (!quiet || PQntuples(r)))
		printf(title, PQntuples(r));
	if (PQntuples(r))
		print_rows(r);
	PQclear(r);
	return 0;
}

/* The newest catch-up run (or RUN if > 0); 0 with a message when there is none. */
static int64_t catchup_run(PGconn *tgt, long long want)
{
	char w[24], err[256];
	const char *p[1] = {w};
	PGresult *r;
	int64_t run = 0;

	snprintf(w, sizeof w, "%lld", want);
	r = pgx_query(tgt,
		      "SELECT max(id) FROM mdw.runs WHERE coalesce(settings ->> 'catch_up', 'false') = 'true' "
		      "AND ($1::bigint = 0 OR id = $1::bigint)",
		      1, p, err, sizeof err, NULL);
	if (r && !PQgetisnull(r, 0, 0))
		run = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else if (r && want)
		fprintf(stderr, "mdwctl catch-up: run %lld is not a catch-up run\n", want);
	else if (r)
		fprintf(stderr, "mdwctl catch-up: no catch-up run yet (mdw-coordinator --catch-up)\n");
	else
		fprintf(stderr, "mdwctl catch-up: %s\n", err);
	PQclear(r);
	return run;
}

/* The summary of a catch-up run: per phase the rows updated, inserted, in conflict, and the conflicts. */
static int show_run(PGconn *tgt, long long want)
{
	char run[24];
	const char *p[1] = {run};
	int64_t id = catchup_run(tgt, want);

	if (!id)
		return 2;
	snprintf(run, sizeof run, "%" PRId64, id);
	printf("catch-up run %s\n", run);
	if (print_query(tgt, "", NULL, 0,
			"SELECT rp.phase, rp.status, coalesce(sum(c.rows_updated), 0) AS updated, "
			"coalesce(sum(c.rows_inserted), 0) AS inserted, "
			"(SELECT count(*) FROM mdw.catchup_rows u WHERE u.run_id = rp.run_id AND u.phase = rp.phase "
			" AND u.action = 'conflict') AS conflicts, "
			"(SELECT count(*) FROM mdw.catchup_deleted d WHERE d.last_run = rp.run_id AND d.phase = rp.phase "
			" AND d.applied_at IS NULL) AS deleted "
			"FROM mdw.run_phases rp LEFT JOIN mdw.chunks c ON c.run_id = rp.run_id AND c.phase = rp.phase "
			"AND c.status = 'done' WHERE rp.run_id = $1 GROUP BY rp.run_id, rp.phase, rp.status ORDER BY rp.phase",
			1, p))
		return 2;
	return print_query(tgt, "", "\nconflicts (target rows left alone): %d\n", 1,
			   "SELECT phase, legacy_id, reason FROM mdw.catchup_rows WHERE run_id = $1 AND action = 'conflict' "
			   "ORDER BY phase, legacy_id",
			   1, p);
}

/* The FOREIGN KEYS referencing public.TABLE: child table, child column, referenced column. */
static PGresult *referencing(PGconn *tgt, const char *table, char *err, size_t errlen)
{
	const char *p[1] = {table};

	return pgx_query(tgt,
			 "SELECT c.conrelid::regclass::text, a.attname, b.attname FROM pg_constraint c "
			 "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
			 "JOIN pg_attribute b ON b.attrelid = c.confrelid AND b.attnum = c.confkey[1] "
			 "WHERE c.contype = 'f' AND c.confrelid = to_regclass('public.' || $1) "
			 "AND c.conrelid <> c.confrelid ORDER BY 1, 2",
			 1, p, err, errlen, NULL);
}

/*
 * Delete the rows of public.TABLE where COND holds (an expression over the
 * table, no alias), and first the rows that reference them: refused unless
 * CASCADE, and refused for referencing rows the migration did not make.
 * Adds the rows deleted to *TOTAL and prints them per table. Depth bounds
 * the recursion (the schema's foreign keys are a short tree).
 */
static int delete_tree(PGconn *tgt, const char *table, const char *cond, int cascade, int depth, long long *total,
		       char *err, size_t errlen)
{
	PGresult *fk, *r;
	char sql[8192];

	if (depth > 6) {
		snprintf(err, errlen, "foreign keys deeper than 6 tables below %s", table);
		return -1;
	}
	if (!(fk = referencing(tgt, table, err, errlen)))
		return -1;
	for (int i = 0; i < PQntuples(fk); i++) {
		const char *child = PQgetvalue(fk, i, 0), *col = PQgetvalue(fk, i, 1), *ref = PQgetvalue(fk, i, 2);
		char ccond[8192];
		long long n, foreign;
		/* ai_embedding_sources reference practices: the links go with their entity (below), a practice's too */
		snprintf(ccond, sizeof ccond, "%s IN (SELECT %s FROM public.%s WHERE %s)", col, ref, table, cond);
		snprintf(sql, sizeof sql, "SELECT count(*), count(*) FILTER (WHERE mdw_run_id IS NULL) FROM %s WHERE %s",
			 child, ccond);
		if (!(r = pgx_query(tgt, sql, 0, NULL, err, errlen, NULL)))
			goto fail;
		n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		foreign = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		PQclear(r);
		if (!n)
			continue;
		if (!cascade) {
			snprintf(err, errlen, "%lld rows of %s reference the rows to delete from %s; --cascade deletes them too",
				 n, child, table);
			goto fail;
		}
		if (foreign) {
			snprintf(err, errlen, "%lld rows of %s that the migration did not make reference the rows to delete "
				 "from %s: refused", foreign, child, table);
			goto fail;
		}
		if (delete_tree(tgt, strncmp(child, "public.", 7) ? child : child + 7, ccond, cascade, depth + 1, total,
				err, errlen) < 0)
			goto fail;
	}
	PQclear(fk);
	for (int p = 1; p < MDW_NPARTS; p++)
		if (!strcmp(table, cu_parts[p].table)) {
			snprintf(sql, sizeof sql,
				 "DELETE FROM public.ai_embedding_sources WHERE content_type = '%s' AND content_id IN "
				 "(SELECT id FROM public.%s WHERE %s)",
				 mdw_part_names[p], table, cond);
			if (!(r = pgx_query(tgt, sql, 0, NULL, err, errlen, NULL)))
				return -1;
			printf("  %-22s %6s rows (embedding links)\n", "ai_embedding_sources", PQcmdTuples(r));
			*total += strtoll(PQcmdTuples(r), NULL, 10);
			PQclear(r);
		}
	snprintf(sql, sizeof sql, "DELETE FROM public.%s WHERE %s", table, cond);
	if (!(r = pgx_query(tgt, sql, 0, NULL, err, errlen, NULL)))
		return -1;
	printf("  %-22s %6s rows\n", table, PQcmdTuples(r));
	*total += strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return 0;
fail:
	PQclear(fk);
	return -1;
}

/* --deleted --apply: delete the target rows the migration made for the deleted legacy rows, children first. */
static int apply_deleted(PGconn *tgt, const struct mdw_config *cfg, const struct mdw_phase *only)
{
	enum mdw_phase_id order[MDW_NPHASES];
	int n = rollback_order(MDW_PH_ALL & ~MDW_PH_BIT(MDW_PH_EMBEDDINGS), order);
	long long total = 0;
	char err[512];

	if (pgx_exec(tgt, "BEGIN", 0, NULL, err, sizeof err, NULL) < 0)
		goto fail;
	printf("%s the target rows the migration made for legacy rows deleted since:\n",
	       cfg->dry_run ? "dry run: would delete" : "deleting");
	for (int i = 0; i < n; i++) {
		enum mdw_phase_id ph = order[i];
		char cond[1024], sql[1024];
		const char *p[1] = {mdw_phases[ph].name};
		const char *table = ph == MDW_PH_PROFILES ? "profiles" : cu_phases[ph].table;
		const char *key = ph == MDW_PH_PROFILES ? "legacy_id" : cu_phases[ph].key;
		if (only && only->id != ph)
			continue;
		/* the phase name comes from the phase table */
		snprintf(cond, sizeof cond,
			 "mdw_run_id IS NOT NULL AND %s IN (SELECT d.legacy_id FROM mdw.catchup_deleted d "
			 "WHERE d.phase = '%s' AND d.applied_at IS NULL)",
			 key, mdw_phases[ph].name);
		printf(" %s:\n", mdw_phases[ph].name);
		if (delete_tree(tgt, table, cond, cfg->cascade, 0, &total, err, sizeof err) < 0)
			goto fail;
		snprintf(sql, sizeof sql, "UPDATE mdw.catchup_deleted SET applied_at = now() WHERE phase = $1 "
					  "AND applied_at IS NULL");
		if (pgx_exec(tgt, sql, 1, p, err, sizeof err, NULL) < 0)
			goto fail;
	}
	if (pgx_exec(tgt, cfg->dry_run ? "ROLLBACK" : "COMMIT", 0, NULL, err, sizeof err, NULL) < 0)
		goto fail;
	printf("%s %lld rows\n", cfg->dry_run ? "dry run: nothing changed; would delete" : "deleted", total);
	return 0;
fail:
	PQclear(PQexec(tgt, "ROLLBACK"));
	fprintf(stderr, "mdwctl catch-up --deleted --apply: %s (nothing deleted)\n", err);
	return 1;
}

static int show_deleted(PGconn *tgt, const struct mdw_config *cfg, const struct mdw_phase *only)
{
	const char *p[1] = {only ? only->name : ""};

	if (cfg->apply)
		return apply_deleted(tgt, cfg, only);
	return print_query(tgt, " --deleted",
			   "legacy rows deleted since they were migrated (their target rows stay; --apply deletes the ones "
			   "the migration made): %d\n",
			   0,
			   "SELECT phase, legacy_id, to_char(first_seen, 'YYYY-MM-DD HH24:MI:SS TZ') AS missing_since, "
			   "first_run, last_run, migrated_by FROM mdw.catchup_deleted WHERE applied_at IS NULL "
			   "AND ($1 = '' OR phase = $1) ORDER BY phase, legacy_id",
			   1, p);
}

/* --orphans [--apply]: the embeddings that no entity links to; --apply deletes the ones the migration made. */
static int show_orphans(PGconn *tgt, const struct mdw_config *cfg)
{
	char err[512];
	PGresult *r;
	const char *orphan = "FROM public.ai_embeddings e WHERE NOT EXISTS (SELECT 1 FROM public.ai_embedding_sources s "
			     "WHERE s.sha256_hash = e.sha256_hash)";
	char sql[512];

	if (cfg->apply && !cfg->dry_run)
		snprintf(sql, sizeof sql, "DELETE %s AND e.mdw_run_id IS NOT NULL RETURNING e.sha256_hash", orphan);
	else
		snprintf(sql, sizeof sql, "SELECT e.sha256_hash, e.mdw_run_id IS NULL AS before_migration %s ORDER BY 1",
			 orphan);
	if (!(r = pgx_query(tgt, sql, 0, NULL, err, sizeof err, NULL))) {
		fprintf(stderr, "mdwctl catch-up --orphans: %s\n", err);
		return 2;
	}
	printf("%s: %d\n",
	       cfg->apply && !cfg->dry_run ? "orphaned embeddings deleted"
					   : "orphaned embeddings (linked by no entity; --apply deletes the migration's)",
	       PQntuples(r));
	if (PQntuples(r) && cfg->list)
		print_rows(r);
	PQclear(r);
	return 0;
}

int ctl_catch_up(struct mdw_config *cfg, int argc, char **argv)
{
	const struct mdw_phase *only = NULL;
	PGconn *tgt;
	int rc;

	(void)argv;
	if (argc) {
		fprintf(stderr, "mdwctl catch-up: unexpected argument \"%s\"\n", argv[0]);
		return 2;
	}
	if (cfg->phase[0] && (!(only = mdw_phase_find(cfg->phase)) || only->id == MDW_PH_EMBEDDINGS)) {
		fprintf(stderr, "mdwctl catch-up: unknown or not relational phase \"%s\"\n", cfg->phase);
		return 2;
	}
	if (cfg->deleted && cfg->orphans) {
		fprintf(stderr, "mdwctl catch-up: --deleted and --orphans exclude each other\n");
		return 2;
	}
	if ((cfg->apply || cfg->dry_run || cfg->cascade) && !cfg->deleted && !cfg->orphans) {
		fprintf(stderr, "mdwctl catch-up: --apply, --dry-run and --cascade need --deleted or --orphans\n");
		return 2;
	}
	if ((cfg->dry_run || cfg->cascade) && !cfg->apply) {
		fprintf(stderr, "mdwctl catch-up: --dry-run and --cascade go with --apply\n");
		return 2;
	}
	if (!(tgt = ctl_target(cfg)))
		return 2;
	rc = cfg->deleted ? show_deleted(tgt, cfg, only) : cfg->orphans ? show_orphans(tgt, cfg) : show_run(tgt, cfg->run_id);
	PQfinish(tgt);
	return rc;
}
