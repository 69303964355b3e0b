/*
 * Phase validation, run by the coordinator when a phase's last chunk is done
 * (and by mdwctl validate):
 *   1. the accounting balances chunk by chunk and adds up to the source
 *      count taken at planning;
 *   2. the rows this run inserted are exactly the rows the ledger counts as
 *      inserted (nothing counted twice, nothing unrecorded);
 *   3. the target holds one row per accepted legacy row: source rows minus
 *      rejects minus rows merged into another (the operators' COUNT(*));
 *      for an incremental run, within the id ranges of its chunks;
 *   4. the checks in the table below, each a query that must return 0:
 *      references that the schema cannot declare, and keys that must be
 *      unique (the operators' COUNT(DISTINCT ...));
 *   5. every declared foreign key of the phase's tables resolves, counted
 *      set-based (mdw.dangling_refs): the workers may have loaded with the
 *      per-row FK triggers off (MDW_FK_CHECKS=phase).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"
#include "mdw/ledger.h"
#include "mdw/pgx.h"
#include "rollback.h"

struct check {
	enum mdw_phase_id phase;
	const char *what;
	const char *sql; /* returns one number that must be 0 */
};

static const struct check checks[] = {
	{MDW_PH_PROFILES, "emails are unique, trimmed and lower case",
	 "SELECT count(*) - count(DISTINCT email) + count(*) FILTER (WHERE email <> lower(btrim(email))) FROM public.profiles"},
	{MDW_PH_PROFILES, "every mapped legacy user resolves to a profile",
	 "SELECT count(*) FROM public.profile_legacy_users u LEFT JOIN public.profiles p ON p.id = u.profile_id WHERE p.id IS NULL"},
	{MDW_PH_PROFILES, "every migrated profile is mapped from its own legacy user",
	 "SELECT count(*) FROM public.profiles p WHERE p.legacy_id IS NOT NULL AND NOT EXISTS "
	 "(SELECT 1 FROM public.profile_legacy_users u WHERE u.legacy_user_id = p.legacy_id AND u.profile_id = p.id)"},
	{MDW_PH_CASES, "a case's practice is its patient's practice",
	 "SELECT count(*) FROM public.cases c JOIN public.patients p ON p.id = c.patient_id WHERE c.practice_id IS DISTINCT FROM "
	 "p.practice_id"},
	{MDW_PH_CASES, "case numbers are unique and derived from the legacy project",
	 "SELECT count(*) FROM public.cases WHERE case_number <> format('C-%s%s', CASE WHEN legacy_project_id < 0 THEN '-' END, "
	 "lpad(abs(legacy_project_id::bigint)::text, 10, '0'))"},
	{MDW_PH_PROJECTS, "a project belongs to the case of the same legacy project, in the case's practice",
	 "SELECT count(*) FROM public.projects pr JOIN public.cases c ON c.id = pr.case_id WHERE c.legacy_project_id <> pr.legacy_id "
	 "OR pr.practice_id IS DISTINCT FROM c.practice_id"},
	{MDW_PH_PRACTICE_MEMBERS, "(practice, profile) pairs are unique",
	 "SELECT count(*) - count(DISTINCT (practice_id, profile_id)) FROM public.practice_members"},
	{MDW_PH_CASE_STATES, "(case, time) pairs are unique",
	 "SELECT count(*) - count(DISTINCT (case_id, created_at)) FROM public.case_states"},
	{MDW_PH_WORKFLOW_TEMPLATES, "steps are JSON arrays",
	 "SELECT count(*) FROM public.workflow_templates WHERE jsonb_typeof(steps) <> 'array'"},
};

/*
 * The embeddings phase: every patient, case and project has its link (but
 * the rejected ones), every link names an existing entity (a reference the
 * schema cannot declare), and every embedding this run counts as inserted
 * exists.
 */
static int check_embeddings(PGconn *tgt, int64_t run, long long read, char *why, size_t whylen)
{
	char id[24], err[512], ents[256] = "", kinds[768] = "", sql[2048];
	const char *p[1] = {id};
	PGresult *r;
	long long entities, links, rejected, dangling, inserted, stored;

	snprintf(id, sizeof id, "%" PRId64, run);
	/* the entities and the links' content types come from the parts table (mdw/phase.h); its names, never input */
	for (int pt = 1; pt < MDW_NPARTS; pt++) {
		snprintf(ents + strlen(ents), sizeof ents - strlen(ents), "%s(SELECT count(*) FROM public.%s)",
			 pt > 1 ? " + " : "", mdw_part_table((enum mdw_part)pt));
		snprintf(kinds + strlen(kinds), sizeof kinds - strlen(kinds),
			 "WHEN '%s' THEN EXISTS (SELECT 1 FROM public.%s x WHERE x.id = s.content_id) ",
			 mdw_parts[pt].name, mdw_part_table((enum mdw_part)pt));
	}
	snprintf(sql, sizeof sql, ledger_fmt_embed_counts, ents, kinds);
	r = pgx_query(tgt, sql, 1, p, err, sizeof err, NULL);
	if (!r) {
		snprintf(why, whylen, "cannot count the embeddings: %s", err);
		return -1;
	}
	entities = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	links = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	rejected = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	dangling = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
	inserted = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
	stored = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
	PQclear(r);
	if (dangling) {
		snprintf(why, whylen, "%lld embedding links name no patient, case or project", dangling);
		return 0;
	}
	if (links != entities - rejected) {
		snprintf(why, whylen, "%lld links for %lld entities (%lld rejected): expected %lld", links, entities,
			 rejected, entities - rejected);
		return 0;
	}
	if (stored < inserted) {
		snprintf(why, whylen, "%lld embeddings counted as inserted but %lld stored by this run", inserted,
			 stored);
		return 0;
	}
	snprintf(why, whylen,
		 "read %lld = entities; accounting balances; %lld links = entities - rejected %lld; "
		 "%lld new embeddings",
		 read, links, rejected, stored);
	return 1;
}

#define MAX_JOBS 32

/* One query of check_target: SQL with N text parameters, what it checks, its result. */
struct vjob {
	const char *sql;
	int n;
	const char *params[2];
	const char *what;
	PGresult *res;
};

/* Checks 2-5. Returns 1, 0 (WHY), -1. */
static int check_target(PGconn *tgt, int64_t run, enum mdw_phase_id phase, long long read, char *why, size_t whylen)
{
	char id[24], err[512], sql[2560], tables[256] = "{";
	const char *t = mdw_phases[phase].target, *const *written = mdw_phases[phase].writes;
	struct vjob jobs[MAX_JOBS];
	PGresult *fks = NULL;
	long long ins_ledger, ins_rows, rejected, merged, rows;
	int nj = 0, first_check, first_fk, rc = -1;

	snprintf(id, sizeof id, "%" PRId64, run);
	memset(jobs, 0, sizeof jobs);
	/*
	 * Table and column names come from the phase table, never from input.
	 * An incremental run read only its chunks' ranges: checks 3 counts the
	 * rows and merges of those ranges (a full run's ranges cover every id);
	 * a catch-up run read only the rows it listed to update or insert
	 * (coordinator/catchup.c): the listed rows of those ranges (an 'update'
	 * row that its chunk found changed since the plan, and left as a
	 * conflict, keeps the row version the plan listed it with).
	 */
	snprintf(sql, sizeof sql, ledger_fmt_phase_counts, mdw_phases[phase].legacy_col, mdw_phases[phase].legacy_col,
		 mdw_phases[phase].legacy_col, t);
	jobs[nj++] = (struct vjob){sql, 2, {id, mdw_phases[phase].name}, "counting the rows", NULL};
	first_check = nj;
	for (size_t i = 0; i < sizeof checks / sizeof checks[0] && nj < MAX_JOBS; i++)
		if (checks[i].phase == phase)
			jobs[nj++] = (struct vjob){checks[i].sql, 0, {NULL}, checks[i].what, NULL};
	/* check 5: one query per declared foreign key of the tables the phase writes */
	for (int i = 0; i < 3 && written[i]; i++)
		snprintf(tables + strlen(tables), sizeof tables - strlen(tables), "%spublic.%s", i ? "," : "",
			 written[i]);
	strncat(tables, "}", sizeof tables - strlen(tables) - 1);
	{
		const char *p[1] = {tables};
		fks = pgx_query(tgt,
				"SELECT c.oid, c.conrelid::regclass::text, c.confrelid::regclass::text, c.conname "
				"FROM pg_constraint c WHERE c.conrelid = ANY ($1::regclass[]) AND c.contype = 'f' ORDER BY 2, 4",
				1, p, err, sizeof err, NULL);
		if (!fks) {
			snprintf(why, whylen, "cannot list the foreign keys of %s: %s", tables, err);
			return -1;
		}
	}
	first_fk = nj;
	for (int k = 0; k < PQntuples(fks) && nj < MAX_JOBS; k++)
		jobs[nj++] = (struct vjob){"SELECT mdw.fk_dangling($1::oid)",
					   1,
					   {PQgetvalue(fks, k, 0)},
					   "a foreign-key check",
					   NULL};

	for (int i = 0; i < nj; i++)
		if (!(jobs[i].res = pgx_query(tgt, jobs[i].sql, jobs[i].n, jobs[i].params, err, sizeof err, NULL))) {
			snprintf(why, whylen, "%s failed to run: %s", jobs[i].what, err);
			goto out;
		}
	ins_ledger = strtoll(PQgetvalue(jobs[0].res, 0, 0), NULL, 10);
	ins_rows = strtoll(PQgetvalue(jobs[0].res, 0, 1), NULL, 10);
	rejected = strtoll(PQgetvalue(jobs[0].res, 0, 2), NULL, 10);
	merged = strtoll(PQgetvalue(jobs[0].res, 0, 3), NULL, 10);
	rows = strtoll(PQgetvalue(jobs[0].res, 0, 4), NULL, 10);
	rc = 0;
	if (ins_ledger != ins_rows) {
		snprintf(why, whylen, "the ledger counts %lld rows inserted, %s holds %lld rows of this run",
			 ins_ledger, t, ins_rows);
		goto out;
	}
	if (rows != read - rejected - merged) {
		snprintf(why, whylen,
			 "%s holds %lld migrated rows, expected %lld (source %lld - rejected %lld - merged %lld)", t,
			 rows, read - rejected - merged, read, rejected, merged);
		goto out;
	}
	for (int i = first_check; i < first_fk; i++) {
		long long bad = strtoll(PQgetvalue(jobs[i].res, 0, 0), NULL, 10);
		if (bad) {
			snprintf(why, whylen, "check \"%s\" fails for %lld rows", jobs[i].what, bad);
			goto out;
		}
	}
	for (int i = first_fk; i < nj; i++) {
		long long n = strtoll(PQgetvalue(jobs[i].res, 0, 0), NULL, 10);
		int k = i - first_fk;
		if (n) {
			snprintf(why, whylen, "%lld %s rows reference no %s row (foreign key %s)", n,
				 PQgetvalue(fks, k, 1), PQgetvalue(fks, k, 2), PQgetvalue(fks, k, 3));
			goto out;
		}
	}
	snprintf(why, whylen,
		 "read %lld = source rows; accounting balances; %s holds %lld migrated rows = read - "
		 "rejected %lld - merged %lld; inserted %lld as counted; foreign keys checked: %d, none dangling",
		 read, t, rows, rejected, merged, ins_rows, nj - first_fk);
	rc = 1;
out:
	for (int i = 0; i < nj; i++)
		PQclear(jobs[i].res);
	PQclear(fks);
	return rc;
}

int validate_phase(PGconn *tgt, int64_t run, enum mdw_phase_id phase, char *why, size_t whylen)
{
	char err[512];
	PGresult *r;
	long long source, read, sum, unbalanced, notdone;

	if (ledger_phase_balance(tgt, run, mdw_phases[phase].name, &r, err, sizeof err) < 0) {
		snprintf(why, whylen, "cannot read the ledger: %s", err);
		return -1;
	}
	if (PQntuples(r) != 1) {
		PQclear(r);
		snprintf(why, whylen, "phase %s was not planned in run %" PRId64, mdw_phases[phase].name, run);
		return 0;
	}
	source = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	read = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	sum = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	unbalanced = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
	notdone = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
	PQclear(r);
	if (notdone) {
		snprintf(why, whylen, "%lld chunks are not done", notdone);
		return 0;
	}
	if (unbalanced) {
		snprintf(why, whylen, "%lld chunks do not balance", unbalanced);
		return 0;
	}
	if (read != source) {
		snprintf(why, whylen, "rows read %lld != source rows at planning %lld (the legacy table changed?)",
			 read, source);
		return 0;
	}
	if (sum != read) {
		snprintf(why, whylen, "outcomes %lld != rows read %lld", sum, read);
		return 0;
	}
	if (phase == MDW_PH_EMBEDDINGS)
		return check_embeddings(tgt, run, read, why, whylen);
	return check_target(tgt, run, phase, read, why, whylen);
}
