/*
 * mdwctl rejects / mdwctl flags: the reject loop's browsing end. A summary
 * per phase and reason (code), --list with one line per row, --export FILE
 * (csv or jsonl) with the rejected source rows as they were. Without --run:
 * the rows still outstanding (a reject not placed since; its newest reject),
 * with --run N: what run N rejected or flagged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "criteria.h"
#include "ctl.h"
#include "mdw/pgx.h"

/* What each command browses: the filtered rows (CTE "j") and its three views. */
struct browse {
	const char *cmd;
	const char *rows;    /* SELECT of the rows: $1 run (0: outstanding), $2 phase, $3 reason/code, $4 root */
	const char *summary; /* over j */
	const char *list;    /* over j */
	const char *export_; /* over j: one text column per field, the last one JSON */
	const char *const *fields;
	int nfields;
	int patient_data; /* the export holds legacy rows */
};

static const char *const reject_fields[] = {"run_id",     "phase",          "legacy_id",   "reason",    "detail",
					    "root_phase", "root_legacy_id", "root_reason", "source_row"};
static const char *const flag_fields[] = {"run_id", "phase", "legacy_id", "code", "detail"};

/* %s: the "placed" condition of every phase (outstanding = not placed since) */
#define REJECT_ROWS                                                                                                     \
	"SELECT DISTINCT ON (j.phase, j.legacy_id) j.* FROM mdw.rejects j "                                             \
	"WHERE ($1::bigint = 0 OR j.run_id = $1::bigint) AND ($2 = '' OR j.phase = $2) AND ($3 = '' OR j.reason = $3) " \
	"AND ($4 = '' OR j.phase || ':' || j.legacy_id = $4 OR j.root_phase || ':' || j.root_legacy_id = $4) "          \
	"AND ($1::bigint <> 0 OR NOT (%s)) "                                                                            \
	"AND NOT EXISTS (SELECT 1 FROM mdw.merges m WHERE m.phase = j.phase AND m.legacy_id = j.legacy_id) "            \
	"ORDER BY j.phase, j.legacy_id, j.id DESC"

static const struct browse rejects_browse = {
	"rejects",
	REJECT_ROWS,
	"SELECT phase, reason, count(*), count(*) FILTER (WHERE root_phase IS NOT NULL), "
	"count(DISTINCT coalesce(root_phase || ':' || root_legacy_id, phase || ':' || legacy_id)) FROM j "
	"GROUP BY phase, reason ORDER BY min(id), reason",
	"SELECT phase, legacy_id, reason, coalesce(root_phase || ':' || root_legacy_id || ' (' || root_reason || ')', "
	"'-'), coalesce(detail, '') FROM j ORDER BY id",
	"SELECT run_id::text, phase, legacy_id::text, reason, detail, root_phase, root_legacy_id::text, root_reason, "
	"source_row::text FROM j ORDER BY id",
	reject_fields,
	9,
	1,
};

static const struct browse flags_browse = {
	"flags",
	"SELECT f.* FROM mdw.flags f WHERE ($1::bigint = 0 OR f.run_id = $1::bigint) AND ($2 = '' OR f.phase = $2) "
	"AND ($3 = '' OR f.code = $3) AND ($4 = '' OR f.phase || ':' || f.legacy_id = $4 OR %s)",
	"SELECT phase, code, count(*), count(DISTINCT legacy_id), 0 FROM j GROUP BY phase, code ORDER BY min(id), code",
	"SELECT phase, legacy_id, code, '-', coalesce(detail, '') FROM j ORDER BY id",
	"SELECT run_id::text, phase, legacy_id::text, code, detail FROM j ORDER BY id",
	flag_fields,
	5,
	0,
};

/* The rows CTE of B with its placeholder filled (rejects: placed in any phase; flags: false). */
static void rows_sql(const struct browse *b, char *out, size_t outlen)
{
	char placed[2048] = "CASE j.phase";
	size_t o = strlen(placed);

	if (!b->patient_data) {
		snprintf(out, outlen, b->rows, "false");
		return;
	}
	for (int i = 0; i < MDW_NPHASES; i++) {
		char one[256];
		if (!mdw_phases[i].source)
			continue;
		criteria_placed((enum mdw_phase_id)i, one, sizeof one);
		o += (size_t)snprintf(placed + o, sizeof placed - o, " WHEN '%s' THEN %s", mdw_phases[i].name, one);
	}
	snprintf(placed + o, sizeof placed - o, " ELSE false END");
	snprintf(out, outlen, b->rows, placed);
}

static void csv_field(FILE *f, const char *s, int last)
{
	if (s) {
		fputc('"', f);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
	}
	fputc(last ? '\n' : ',', f);
}

/* Write R to a new file PATH (mode 0600). Returns the rows written, -1 on error (printed). */
static long long export_rows(const struct browse *b, const PGresult *r, const char *path, int jsonl)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	FILE *f;
	int ok;

	if (fd < 0) {
		fprintf(stderr, "mdwctl %s: cannot create %s: %s%s\n", b->cmd, path, strerror(errno),
			errno == EEXIST ? " (an export never overwrites: remove it or choose another name)" : "");
		return -1;
	}
	if (!(f = fdopen(fd, "w"))) {
		close(fd);
		return -1;
	}
	if (!jsonl)
		for (int c = 0; c < b->nfields; c++)
			csv_field(f, b->fields[c], c == b->nfields - 1);
	for (int i = 0; i < PQntuples(r); i++) {
		if (!jsonl) {
			for (int c = 0; c < b->nfields; c++)
				csv_field(f, PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c), c == b->nfields - 1);
			continue;
		}
		fputc('{', f);
		for (int c = 0; c < b->nfields; c++) {
			/* values are JSON-quoted by the database (to_json) except source_row, JSON already */
			fprintf(f, "%s\"%s\": %s", c ? ", " : "", b->fields[c],
				PQgetisnull(r, i, c) ? "null" : PQgetvalue(r, i, c));
		}
		fputs("}\n", f);
	}
	ok = !ferror(f);
	ok = fclose(f) == 0 && ok;
	if (!ok) {
		fprintf(stderr, "mdwctl %s: cannot write %s\n", b->cmd, path);
		return -1;
	}
	return PQntuples(r);
}

/* The export query for jsonl: every field as JSON (to_json), source_row as it is. */
static void jsonl_sql(const struct browse *b, char *out, size_t outlen)
{
	size_t o = (size_t)snprintf(out, outlen, "SELECT ");

	for (int c = 0; c < b->nfields && o < outlen; c++) {
		if (!strcmp(b->fields[c], "source_row"))
			o += (size_t)snprintf(out + o, outlen - o, "%ssource_row::text", c ? ", " : "");
		else
			o += (size_t)snprintf(out + o, outlen - o, "%sto_json(%s)::text", c ? ", " : "", b->fields[c]);
	}
	if (o < outlen)
		snprintf(out + o, outlen - o, " FROM j ORDER BY id");
}

static int browse_run(const struct browse *b, struct mdw_config *cfg)
{
	char rows[4096], sql[8192], view[1024], err[512], run[24];
	const char *p[4] = {run, cfg->phase, cfg->reason, cfg->root};
	const char *fmt = cfg->export_format ? cfg->export_format : "csv";
	PGresult *r;
	PGconn *c;
	int rc = 1;

	if (cfg->phase[0] && !mdw_phase_find(cfg->phase)) {
		fprintf(stderr, "mdwctl %s: unknown phase \"%s\"\n", b->cmd, cfg->phase);
		return 2;
	}
	if (!(c = ops_target(cfg)))
		return 1;
	snprintf(run, sizeof run, "%lld", cfg->run_id);
	rows_sql(b, rows, sizeof rows);
	if (cfg->export_path[0] && !strcmp(fmt, "jsonl"))
		jsonl_sql(b, view, sizeof view);
	snprintf(sql, sizeof sql, "WITH j AS (%s) %s", rows,
		 cfg->export_path[0] ? (!strcmp(fmt, "jsonl") ? view : b->export_)
		 : cfg->list         ? b->list
				     : b->summary);
	if (!(r = pgx_query(c, sql, 4, p, err, sizeof err, NULL))) {
		fprintf(stderr, "mdwctl %s: %s\n", b->cmd, err);
		goto out;
	}
	if (cfg->export_path[0]) {
		long long n = export_rows(b, r, cfg->export_path, !strcmp(fmt, "jsonl"));
		if (n >= 0) {
			printf("wrote %lld %s to %s (%s, mode 0600)\n", n, b->cmd, cfg->export_path, fmt);
			if (b->patient_data)
				printf("note: the file holds the legacy rows as they were: patient data. Keep it where "
				       "patient data may be, and delete it when done.\n");
			rc = 0;
		}
	} else if (cfg->list) {
		printf("%-19s %11s %-22s %-34s %s\n", "phase", "legacy_id", b->patient_data ? "reason" : "code",
		       b->patient_data ? "root" : "", "detail");
		for (int i = 0; i < PQntuples(r); i++)
			printf("%-19s %11s %-22s %-34s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
			       PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4));
		rc = 0;
	} else {
		printf("%s %s\n", b->cmd, cfg->run_id ? "of the run" : "outstanding (every run; not placed since)");
		if (b->patient_data)
			printf("%-19s %-22s %8s %9s %8s\n", "phase", "reason", "rows", "cascaded", "roots");
		else
			printf("%-19s %-22s %8s %9s\n", "phase", "code", "flags", "rows");
		for (int i = 0; i < PQntuples(r); i++)
			if (b->patient_data)
				printf("%-19s %-22s %8s %9s %8s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
				       PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4));
			else
				printf("%-19s %-22s %8s %9s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
				       PQgetvalue(r, i, 2), PQgetvalue(r, i, 3));
		rc = 0;
	}
	PQclear(r);
out:
	PQfinish(c);
	return rc;
}

int ctl_rejects(struct mdw_config *cfg, int argc, char **argv)
{
	(void)argc, (void)argv;
	return browse_run(&rejects_browse, cfg);
}

int ctl_flags(struct mdw_config *cfg, int argc, char **argv)
{
	(void)argc, (void)argv;
	return browse_run(&flags_browse, cfg);
}
