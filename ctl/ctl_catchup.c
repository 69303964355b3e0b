/*
 * mdwctl catch-up: what the newest catch-up run (coordinator/catchup.c) did
 * and left in conflict; the legacy rows deleted since they were migrated,
 * and applying those deletes with rollback's cascade rules (children first,
 * through the target's foreign keys; --dry-run rolls back); the embeddings
 * that no entity links any more. See docs/operations.md, "Catch-up and
 * cutover".
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "mdw/ledger.h"
#include "mdw/pgx.h"
#include "rollback.h"

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
	char err[256];
	int64_t run = 0;

	if (ledger_catchup_run_find(tgt, want, &run, err, sizeof err) < 0)
		fprintf(stderr, "mdwctl catch-up: %s\n", err);
	else if (!run && want)
		fprintf(stderr, "mdwctl catch-up: run %lld is not a catch-up run\n", want);
	else if (!run)
		fprintf(stderr, "mdwctl catch-up: no catch-up run yet (mdw-coordinator --catch-up)\n");
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
	if (print_query(tgt, "", NULL, 0, ledger_sql_catchup_phases, 1, p))
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

/* Format a statement (or condition) into BUF; -1 with ERR when it does not fit: never a cut statement. */
__attribute__((format(printf, 5, 6))) static int fmt_sql(char *buf, size_t len, char *err, size_t errlen,
							 const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		snprintf(err, errlen, "a delete statement is longer than %zu bytes (foreign keys too deep?)", len);
		return -1;
	}
	return 0;
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
		if (fmt_sql(ccond, sizeof ccond, err, errlen, "%s IN (SELECT %s FROM public.%s WHERE %s)", col, ref,
			    table, cond) < 0 ||
		    fmt_sql(sql, sizeof sql, err, errlen,
			    "SELECT count(*), count(*) FILTER (WHERE mdw_run_id IS NULL) FROM %s WHERE %s", child,
			    ccond) < 0 ||
		    !(r = pgx_query(tgt, sql, 0, NULL, err, errlen, NULL)))
			goto fail;
		n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		foreign = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		PQclear(r);
		if (!n)
			continue;
		if (!cascade) {
			snprintf(err, errlen,
				 "%lld rows of %s reference the rows to delete from %s; --cascade deletes them too", n,
				 child, table);
			goto fail;
		}
		if (foreign) {
			snprintf(err, errlen,
				 "%lld rows of %s that the migration did not make reference the rows to delete "
				 "from %s: refused",
				 foreign, child, table);
			goto fail;
		}
		if (delete_tree(tgt, strncmp(child, "public.", 7) ? child : child + 7, ccond, cascade, depth + 1, total,
				err, errlen) < 0)
			goto fail;
	}
	PQclear(fk);
	for (int p = 1; p < MDW_NPARTS; p++)
		if (!strcmp(table, mdw_part_table((enum mdw_part)p))) {
			if (fmt_sql(sql, sizeof sql, err, errlen,
				    "DELETE FROM public.ai_embedding_sources WHERE content_type = '%s' AND content_id IN "
				    "(SELECT id FROM public.%s WHERE %s)",
				    mdw_parts[p].name, table, cond) < 0 ||
			    !(r = pgx_query(tgt, sql, 0, NULL, err, errlen, NULL)))
				return -1;
			printf("  %-22s %6s rows (embedding links)\n", "ai_embedding_sources", PQcmdTuples(r));
			*total += strtoll(PQcmdTuples(r), NULL, 10);
			PQclear(r);
		}
	if (fmt_sql(sql, sizeof sql, err, errlen, "DELETE FROM public.%s WHERE %s", table, cond) < 0 ||
	    !(r = pgx_query(tgt, sql, 0, NULL, err, errlen, NULL)))
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
		const char *table = mdw_phases[ph].target, *key = mdw_phases[ph].legacy_col;
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
		snprintf(sql, sizeof sql,
			 "UPDATE mdw.catchup_deleted SET applied_at = now() WHERE phase = $1 "
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
	const char *orphan =
		"FROM public.ai_embeddings e WHERE NOT EXISTS (SELECT 1 FROM public.ai_embedding_sources s "
		"WHERE s.sha256_hash = e.sha256_hash)";
	char sql[512];

	if (cfg->apply && !cfg->dry_run)
		snprintf(sql, sizeof sql, "DELETE %s AND e.mdw_run_id IS NOT NULL RETURNING e.sha256_hash", orphan);
	else
		snprintf(sql, sizeof sql,
			 "SELECT e.sha256_hash, e.mdw_run_id IS NULL AS before_migration %s ORDER BY 1", orphan);
	if (!(r = pgx_query(tgt, sql, 0, NULL, err, sizeof err, NULL))) {
		fprintf(stderr, "mdwctl catch-up --orphans: %s\n", err);
		return 2;
	}
	printf("%s: %d\n",
	       cfg->apply && !cfg->dry_run
		       ? "orphaned embeddings deleted"
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
	if (!(tgt = ops_target(cfg)))
		return 2;
	rc = cfg->deleted   ? show_deleted(tgt, cfg, only)
	     : cfg->orphans ? show_orphans(tgt, cfg)
			    : show_run(tgt, cfg->run_id);
	PQfinish(tgt);
	return rc;
}
