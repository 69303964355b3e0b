/* The progress report (see report.h): built as JSON, rendered to Markdown. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catchup_deleted.h"
#include "criteria.h"
#include "stats.h"
#include "mdw/ledger.h"
#include "mdw/pgx.h"
#include "report.h"

static void iso_time(double t, char *out, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *rejects_by_reason(PGconn *tgt, int64_t run, const char *phase, char *err, size_t errlen)
{
	json_t *o;
	PGresult *r;

	if (ledger_rejects_by_reason(tgt, run, phase, &r, err, errlen) < 0)
		return NULL;
	o = json_object();
	for (int i = 0; i < PQntuples(r); i++)
		json_object_set_new(o, PQgetvalue(r, i, 0), json_integer(strtoll(PQgetvalue(r, i, 1), NULL, 10)));
	PQclear(r);
	return o;
}

static const char *next_step(const struct phase_stat *ps, const char *run_status, int *all_done)
{
	int failed = 0, started = 0, dead = 0;

	*all_done = 1;
	for (int i = 0; i < MDW_NPHASES; i++) {
		if (ps[i].state == PS_NONE && !strcmp(run_status, "complete"))
			continue;
		if (ps[i].state == PS_FAILED)
			failed = 1;
		if (ps[i].dead)
			dead = 1;
		if (ps[i].state != PS_NONE)
			started = 1;
		if (ps[i].state != PS_COMPLETE)
			*all_done = 0;
	}
	if (dead)
		return "Inspect the dead chunks (mdwctl dead), fix their cause, then mdwctl retry-dead and start the "
		       "coordinator again: it resumes the run.";
	if (failed)
		return "A phase failed validation: read its error below and mdwctl validate, fix the cause, then start "
		       "the coordinator again.";
	if (*all_done)
		return "The run is complete and every phase validated: review the rejects (mdwctl rejects) and the repairs "
		       "(mdwctl flags); fix rejected rows in the legacy database and mdw-coordinator --redrive.";
	if (!started)
		return "Start the coordinator and workers (README quickstart).";
	return "The run is in progress: watch it with mdwctl status --watch.";
}

/*
 * The rows of the legacy table of PHASE now; -1 when unknown (no source
 * connection, or the query failed). COUNTED (per phase, LLONG_MIN: not
 * counted yet) keeps each table's count for the rest of the report: cases
 * and projects share dispatch_project (0.35 s a count at scale 10).
 */
static long long source_rows_now(PGconn *src, enum mdw_phase_id phase, long long *counted)
{
	char sql[128], err[256];
	PGresult *r;
	long long n;

	if (!src || !mdw_phases[phase].source)
		return -1;
	for (int q = 0; q < MDW_NPHASES; q++)
		if (counted[q] != LLONG_MIN && mdw_phases[q].source &&
		    !strcmp(mdw_phases[q].source, mdw_phases[phase].source))
			return counted[q];
	/* the table name comes from the phase table, never from input */
	snprintf(sql, sizeof sql, "SELECT count(*) FROM public.%s", mdw_phases[phase].source);
	if (!(r = pgx_query(src, sql, 0, NULL, err, sizeof err, NULL)))
		return -1;
	n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	counted[phase] = n;
	return n;
}

/* Where PHASE stands (every run) into O: expectedCount, currentCount, outstanding rejects, flags, remaining. */
static int add_standing(PGconn *tgt, PGconn *src, enum mdw_phase_id phase, const struct phase_stat *s,
			long long *counted, json_t *o, char *err, size_t errlen)
{
	struct standing st = {0};
	long long expected = source_rows_now(src, phase, counted), merged = 0;

	if (phase == MDW_PH_EMBEDDINGS) {
		/* no legacy table: the run's own counts, as before */
		json_object_set_new(o, "expectedCount", json_integer(s->source_rows));
		json_object_set_new(o, "currentCount", json_integer(s->read));
		json_object_set_new(o, "remaining",
				    json_integer(s->source_rows > s->read ? s->source_rows - s->read : 0));
		json_object_set_new(o, "rejectedOutstanding", json_null());
		json_object_set_new(o, "flaggedOutstanding", json_null());
		return 0;
	}
	if (criteria_standing(tgt, phase, &st, err, errlen) < 0)
		return -1;
	{
		const char *p[1] = {mdw_phases[phase].name};
		PGresult *r =
			pgx_query(tgt, "SELECT count(*) FROM mdw.merges WHERE phase = $1", 1, p, err, errlen, NULL);
		if (!r)
			return -1;
		merged = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
	}
	if (expected < 0)
		expected = s->source_rows;
	json_object_set_new(o, "expectedCount", json_integer(expected));
	json_object_set_new(o, "sourceCounted", json_string(src ? "now" : "at planning"));
	json_object_set_new(o, "currentCount", json_integer(st.target_rows));
	json_object_set_new(o, "rejectedOutstanding", json_integer(st.rejected_outstanding));
	json_object_set_new(o, "flaggedOutstanding", json_integer(st.flagged));
	json_object_set_new(o, "mergedTotal", json_integer(merged));
	/* legacy rows neither in the target, nor merged, nor rejected (not read yet, or deleted rows in the target) */
	{
		long long rem = expected - st.target_rows - merged - st.rejected_outstanding;
		json_object_set_new(o, "remaining", json_integer(rem > 0 ? rem : 0));
	}
	return 0;
}

json_t *report_build(PGconn *tgt, PGconn *src, int64_t run, char *err, size_t errlen)
{
	struct phase_stat ps[MDW_NPHASES];
	long long counted[MDW_NPHASES]; /* source_rows_now's counts */
	json_t *root, *phases;
	char ts[32];
	int all_done;

	char run_status[32] = "";
	PGresult *r;

	if (stats_load(tgt, run, 1, ps, err, errlen) < 0)
		return NULL;
	if (ledger_run_row(tgt, run, &r, err, errlen) < 0)
		return NULL;
	if (PQntuples(r))
		snprintf(run_status, sizeof run_status, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	root = json_object();
	phases = json_array();
	for (int i = 0; i < MDW_NPHASES; i++)
		counted[i] = LLONG_MIN;
	iso_time((double)time(NULL), ts, sizeof ts);
	json_object_set_new(root, "run", json_integer(run));
	json_object_set_new(root, "generatedAt", json_string(ts));
	json_object_set_new(root, "runStatus", json_string(run_status));
	for (int i = 0; i < MDW_NPHASES; i++) {
		const struct phase_stat *s = &ps[i];
		json_t *o = json_object(), *rej;
		long long current = s->read, expected = s->source_rows;
		/* this run's progress through what it planned */
		double pct =
			expected > 0 ? 100.0 * (double)current / (double)expected : (s->state == PS_COMPLETE ? 100 : 0);

		json_object_set_new(o, "phase", json_string(mdw_phases[i].name));
		json_object_set_new(o, "entityType", json_string(mdw_phases[i].entity));
		json_object_set_new(o, "sourceTable",
				    mdw_phases[i].source ? json_string(mdw_phases[i].source) : json_null());
		json_object_set_new(o, "targetTable", json_string(mdw_phases[i].target));
		if (add_standing(tgt, src, (enum mdw_phase_id)i, s, counted, o, err, errlen) < 0) {
			json_decref(o);
			json_decref(phases);
			json_decref(root);
			return NULL;
		}
		json_object_set_new(o, "runSourceRows", json_integer(expected));
		json_object_set_new(o, "read", json_integer(current));
		json_object_set_new(o, "progressPercentage", json_real((double)(long long)(pct * 10 + 0.5) / 10));
		json_object_set_new(o, "status", json_string(phase_states[s->state].report));
		if (s->completed_at > 0) {
			iso_time(s->completed_at, ts, sizeof ts);
			json_object_set_new(o, "completedAt", json_string(ts));
		} else {
			json_object_set_new(o, "completedAt", json_null());
		}
		json_object_set_new(o, "errors", json_integer(s->rejected + s->dead));
		json_object_set_new(o, "inserted", json_integer(s->inserted));
		json_object_set_new(o, "existing", json_integer(s->existing));
		json_object_set_new(o, "updated", json_integer(s->updated));
		json_object_set_new(o, "merged", json_integer(s->merged));
		json_object_set_new(o, "rejected", json_integer(s->rejected));
		json_object_set_new(o, "flagged", json_integer(s->flagged));
		json_object_set_new(o, "chunks", json_integer(s->total));
		json_object_set_new(o, "chunksDone", json_integer(s->done));
		json_object_set_new(o, "chunksDead", json_integer(s->dead));
		json_object_set_new(o, "seconds", json_real(s->busy_s));
		json_object_set_new(o, "rowsPerSecond",
				    json_real(s->busy_s > 0 ? (double)(long long)(s->read / s->busy_s) : 0));
		json_object_set_new(o, "failure", s->error[0] ? json_string(s->error) : json_null());
		rej = rejects_by_reason(tgt, run, mdw_phases[i].name, err, errlen);
		if (!rej) {
			json_decref(o);
			json_decref(phases);
			json_decref(root);
			return NULL;
		}
		json_object_set_new(o, "rejectsByReason", rej);
		json_array_append_new(phases, o);
	}
	json_object_set_new(root, "phases", phases);
	{
		json_t *del = catchup_deleted_json(tgt, err, errlen);
		if (!del) {
			json_decref(root);
			return NULL;
		}
		json_object_set_new(root, "deletedInLegacy", del);
	}
	{
		json_t *crit = criteria_eval(tgt, -1, err, errlen);
		if (!crit) {
			json_decref(root);
			return NULL;
		}
		json_object_set_new(root, "successCriteria", crit);
	}
	json_object_set_new(root, "nextStep", json_string(next_step(ps, run_status, &all_done)));
	json_object_set_new(root, "complete", json_boolean(all_done));
	return root;
}

static void render_md(json_t *root, FILE *f)
{
	size_t i;
	json_t *ph;

	fprintf(f, "# Migration progress report\n\nRun %lld (%s), generated %s.\n\n**Next step:** %s\n\n",
		(long long)json_integer_value(json_object_get(root, "run")),
		json_string_value(json_object_get(root, "runStatus")),
		json_string_value(json_object_get(root, "generatedAt")),
		json_string_value(json_object_get(root, "nextStep")));
	fprintf(f,
		"## Where the migration stands\n\nOver every run: expectedCount = the legacy rows (source) now, "
		"currentCount = the target rows now, rejects not placed since, rows placed with a repaired reference "
		"(flags), and remaining = legacy rows neither placed, merged nor rejected. Beside it, what run %lld did.\n\n",
		(long long)json_integer_value(json_object_get(root, "run")));
	fprintf(f,
		"| phase | entityType | status | expectedCount | currentCount | rejected (outstanding) | flagged | "
		"remaining | run: read | run: inserted | run: existing | run: updated | run: merged | run: rejected | run: flagged | "
		"run progress | dead chunks | seconds | rows/s | completedAt |\n"
		"|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
	json_array_foreach(json_object_get(root, "phases"), i, ph)
	{
		const char *done = json_string_value(json_object_get(ph, "completedAt"));
		char ro[24] = "-", fl[24] = "-";
		if (json_is_integer(json_object_get(ph, "rejectedOutstanding")))
			snprintf(ro, sizeof ro, "%lld",
				 (long long)json_integer_value(json_object_get(ph, "rejectedOutstanding")));
		if (json_is_integer(json_object_get(ph, "flaggedOutstanding")))
			snprintf(fl, sizeof fl, "%lld",
				 (long long)json_integer_value(json_object_get(ph, "flaggedOutstanding")));
		fprintf(f,
			"| %s | %s | %s | %lld | %lld | %s | %s | %lld | %lld | %lld | %lld | %lld | %lld | %lld | %lld | %.1f%% | %lld "
			"| %.1f | %.0f | %s |\n",
			json_string_value(json_object_get(ph, "phase")),
			json_string_value(json_object_get(ph, "entityType")),
			json_string_value(json_object_get(ph, "status")),
			(long long)json_integer_value(json_object_get(ph, "expectedCount")),
			(long long)json_integer_value(json_object_get(ph, "currentCount")), ro, fl,
			(long long)json_integer_value(json_object_get(ph, "remaining")),
			(long long)json_integer_value(json_object_get(ph, "read")),
			(long long)json_integer_value(json_object_get(ph, "inserted")),
			(long long)json_integer_value(json_object_get(ph, "existing")),
			(long long)json_integer_value(json_object_get(ph, "updated")),
			(long long)json_integer_value(json_object_get(ph, "merged")),
			(long long)json_integer_value(json_object_get(ph, "rejected")),
			(long long)json_integer_value(json_object_get(ph, "flagged")),
			json_real_value(json_object_get(ph, "progressPercentage")),
			(long long)json_integer_value(json_object_get(ph, "chunksDead")),
			json_real_value(json_object_get(ph, "seconds")),
			json_real_value(json_object_get(ph, "rowsPerSecond")), done ? done : "-");
	}
	fprintf(f, "\n## Success criteria\n\nRows that do not meet each, and why: the reference was NULL in the legacy "
		   "data, it dangled there and was repaired (`mdwctl flags`), or the row is rejected (`mdwctl "
		   "rejects`).\n\n");
	criteria_print(json_object_get(root, "successCriteria"), f, 1);
	fprintf(f, "\n## Rejects by reason\n\nCounts only; the rows themselves are in `mdw.rejects` in the target "
		   "database.\n\n| phase | reason | rows |\n|---|---|---:|\n");
	json_array_foreach(json_object_get(root, "phases"), i, ph)
	{
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(ph, "rejectsByReason"), k, v)
			fprintf(f, "| %s | %s | %lld |\n", json_string_value(json_object_get(ph, "phase")), k,
				(long long)json_integer_value(v));
	}
	fprintf(f,
		"\n## Deleted in the legacy database\n\nLegacy rows that catch-up runs found deleted since they were "
		"migrated; their target rows stay until `mdwctl catch-up --deleted --apply` (since: when a catch-up "
		"first saw the row gone).\n\n| phase | legacy id | since | target row made by run |\n|---|---:|---|---:|\n");
	json_array_foreach(json_object_get(root, "deletedInLegacy"), i, ph)
	{
		json_t *by = json_object_get(ph, "migratedBy");
		char run[24] = "- (not the migration's)";
		if (json_is_integer(by))
			snprintf(run, sizeof run, "%lld", (long long)json_integer_value(by));
		fprintf(f, "| %s | %lld | %s | %s |\n", json_string_value(json_object_get(ph, "phase")),
			(long long)json_integer_value(json_object_get(ph, "legacyId")),
			json_string_value(json_object_get(ph, "since")), run);
	}
	json_array_foreach(json_object_get(root, "phases"), i, ph)
	{
		const char *why = json_string_value(json_object_get(ph, "failure"));
		if (why)
			fprintf(f, "\n**%s failed:** %s\n", json_string_value(json_object_get(ph, "phase")), why);
	}
}

/* Write via a temporary file and rename, so readers never see half a report. */
static int write_atomic(const char *path, json_t *root, int md, char *err, size_t errlen)
{
	char tmp[4096];
	FILE *f;
	int ok;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (!(f = fopen(tmp, "w"))) {
		snprintf(err, errlen, "cannot write %s", tmp);
		return -1;
	}
	if (md)
		render_md(root, f);
	else
		json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	ok = !ferror(f);
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		snprintf(err, errlen, "cannot write %s", path);
		remove(tmp);
		return -1;
	}
	return 0;
}

int report_write(PGconn *tgt, PGconn *src, int64_t run, const char *path, char *err, size_t errlen)
{
	json_t *root = report_build(tgt, src, run, err, errlen);
	char jpath[4096];
	const char *dot = strrchr(path, '.');
	int rc;

	if (!root)
		return -1;
	if (dot && strcmp(dot, ".md") == 0)
		snprintf(jpath, sizeof jpath, "%.*s.json", (int)(dot - path), path);
	else
		snprintf(jpath, sizeof jpath, "%s.json", path);
	rc = write_atomic(path, root, 1, err, errlen);
	if (rc == 0)
		rc = write_atomic(jpath, root, 0, err, errlen);
	json_decref(root);
	return rc;
}
