/* mdwctl status and validate: the ledger's view of the newest run, phase by phase. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "stats.h"
#include "validate.h"
#include "criteria.h"
#include "ctl.h"
#include "mdw/pgx.h"
#include "mdw/queue.h"
#include "report.h"
#include "status_json.h"

static void bar(char *out, double frac, int width)
{
	int full = (int)(frac * width + 0.5);
	if (full > width)
		full = width;
	for (int i = 0; i < width; i++)
		out[i] = i < full ? '#' : '.';
	out[width] = 0;
}

static void eta(char *out, size_t len, long long remaining, double rate)
{
	if (remaining <= 0)
		snprintf(out, len, "-");
	else if (rate <= 0)
		snprintf(out, len, "?");
	else {
		long long s = (long long)(remaining / rate);
		snprintf(out, len, "%lldh%02lldm%02llds", s / 3600, s / 60 % 60, s % 60);
	}
}

#define JI(o, k) ((long long)json_integer_value(json_object_get(o, k)))
#define JR(o, k) json_number_value(json_object_get(o, k))

/* The status document (status_json.h) as JSON, or as the table an operator reads. */
static int show(struct mdw_config *cfg, PGconn *c, struct rds *r, int have_redis)
{
	struct status_opts o = {cfg->rate_rpm, cfg->report_path};
	char err[512];
	int64_t run = ops_current_run(c, cfg->run_id);
	json_t *root, *p, *w;
	size_t i;

	if (!run)
		return 1;
	if (!(root = status_json(c, have_redis ? r : NULL, run, &o, err, sizeof err))) {
		fprintf(stderr, "mdwctl status: %s\n", err);
		return 1;
	}
	have_redis = json_is_true(json_object_get(root, "redis"));
	if (cfg->json) {
		json_dumpf(root, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("\n");
		goto out;
	}
	printf("run %" PRId64 "%s\n%-19s %-11s %-22s %11s %8s %8s %8s %7s %7s %8s %7s %5s %8s %10s\n", run,
	       have_redis ? "" : "  (Redis unreachable: queue and workers unknown)", "phase", "state", "progress",
	       "chunks", "read", "inserted", "existing", "updated", "merged", "rejected", "flagged", "dead", "rows/s",
	       "eta");
	json_array_foreach(json_object_get(root, "phases"), i, p)
	{
		char b[24], chunks[32], e[32];

		eta(e, sizeof e, JI(p, "source_rows") - JI(p, "read"), JR(p, "rows_per_second"));
		bar(b, JR(p, "progress"), 20);
		snprintf(chunks, sizeof chunks, "%lld/%lld", JI(p, "chunks_done"), JI(p, "chunks"));
		printf("%-19s %-11s [%s] %11s %8lld %8lld %8lld %7lld %7lld %8lld %7lld %5lld %8.0f %10s\n",
		       json_string_value(json_object_get(p, "phase")), json_string_value(json_object_get(p, "state")),
		       b, chunks, JI(p, "read"), JI(p, "inserted"), JI(p, "existing"), JI(p, "updated"),
		       JI(p, "merged"), JI(p, "rejected"), JI(p, "flagged"), JI(p, "chunks_dead"),
		       JR(p, "rows_per_second"), e);
	}
	if (have_redis) {
		printf("\nqueues:");
		json_array_foreach(json_object_get(root, "phases"), i,
				   p) if (JI(p, "queue_length") || JI(p, "queue_pending"))
			printf(" %s %lld queued/%lld pending;", json_string_value(json_object_get(p, "phase")),
			       JI(p, "queue_length") - JI(p, "queue_pending"), JI(p, "queue_pending"));
		printf("\nworkers:\n");
		json_array_foreach(json_object_get(root, "workers"), i, w)
		{
			const char *ch = json_string_value(json_object_get(w, "chunk"));
			printf("  %-24s %-24s seen %.0f s ago\n", json_string_value(json_object_get(w, "id")),
			       ch && *ch ? ch : "?", JR(w, "seen_seconds_ago"));
		}
	}
out:
	fflush(stdout);
	json_decref(root);
	return 0;
}

static volatile sig_atomic_t status_stop;

static void on_int(int sig)
{
	(void)sig;
	status_stop = 1;
}

int ctl_status(struct mdw_config *cfg, int argc, char **argv)
{
	struct rds r;
	char err[512];
	PGconn *c;
	int have_redis, rc, tty = isatty(1);

	(void)argc, (void)argv;
	if (!(c = ops_target(cfg)))
		return 1;
	have_redis = rds_parse_url(&r, cfg->redis_url, err, sizeof err) == 0 && rds_connect(&r) == 0;
	signal(SIGINT, on_int);
	for (;;) {
		if (cfg->watch && tty && !cfg->json)
			printf("\033[H\033[J"); /* redraw in place */
		rc = show(cfg, c, &r, have_redis);
		if (!cfg->watch || rc != 0 || status_stop)
			break;
		if (!tty && !cfg->json)
			printf("\n");
		if (fflush(stdout) == EOF)
			break; /* the reader went away (SIGPIPE is ignored) */
		sleep(2);
		if (status_stop)
			break;
		if (PQstatus(c) != CONNECTION_OK)
			PQreset(c);
	}
	if (have_redis)
		rds_close(&r);
	PQfinish(c);
	return rc;
}

int ctl_report(struct mdw_config *cfg, int argc, char **argv)
{
	char err[512];
	PGconn *c, *src;
	int64_t run;
	int rc = 1;

	(void)argc, (void)argv;
	if (!(c = ops_target(cfg)))
		return 1;
	/* the source rows now; without the legacy database the counts taken at planning */
	if (!(src = pgx_connect(cfg->source_dsn, "mdwctl", err, sizeof err)))
		fprintf(stderr, "mdwctl report: legacy database unreachable (%s): source counts as planned\n", err);
	if ((run = ops_current_run(c, cfg->run_id))) {
		if (report_write(c, src, run, cfg->report_path, err, sizeof err) < 0)
			fprintf(stderr, "mdwctl report: %s\n", err);
		else {
			printf("wrote %s and its .json twin (run %" PRId64 ")\n", cfg->report_path, run);
			rc = 0;
		}
	}
	if (src)
		PQfinish(src);
	PQfinish(c);
	return rc;
}

/*
 * The success criteria (criteria.h), where the migration stands: informational
 * (they do not fail validation); -1 only when they cannot be measured.
 */
static int print_criteria(PGconn *c, const struct mdw_config *cfg, int phase)
{
	char err[512];
	json_t *a = criteria_eval(c, phase, err, sizeof err);

	if (!a) {
		fprintf(stderr, "mdwctl validate: success criteria: %s\n", err);
		return -1;
	}
	if (cfg->json) {
		char *s = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf(", \"successCriteria\": %s", s ? s : "[]");
		free(s);
	} else if (json_array_size(a)) {
		printf("\nsuccess criteria (every run):\n");
		criteria_print(a, stdout, 0);
	}
	json_decref(a);
	return 0;
}

int ctl_validate(struct mdw_config *cfg, int argc, char **argv)
{
	struct phase_stat ps[MDW_NPHASES];
	char err[512];
	PGconn *c;
	int64_t run;
	int bad = 0, n = 0;
	const struct mdw_phase *only = NULL;

	(void)argc, (void)argv;
	if (cfg->phase[0] && !(only = mdw_phase_find(cfg->phase))) {
		fprintf(stderr, "mdwctl validate: unknown phase \"%s\"\n", cfg->phase);
		return 2;
	}
	if (!(c = ops_target(cfg)))
		return 1;
	if (!(run = ops_current_run(c, cfg->run_id)) || stats_load(c, run, 0, ps, err, sizeof err) < 0) {
		PQfinish(c);
		return 1;
	}
	if (cfg->json)
		printf("{\"run\": %" PRId64 ", \"phases\": [", run);
	for (int i = 0; i < MDW_NPHASES; i++) {
		char why[512];
		int v;
		if ((only && (int)only->id != i) || (!only && ps[i].state == PS_NONE))
			continue;
		v = validate_phase(c, run, (enum mdw_phase_id)i, why, sizeof why);
		if (v != 1)
			bad++;
		if (cfg->json)
			printf("%s{\"phase\": \"%s\", \"valid\": %s, \"detail\": \"%s\"}", n ? ", " : "",
			       mdw_phases[i].name, v == 1 ? "true" : "false", why);
		else
			printf("%-19s %-5s %s\n", mdw_phases[i].name, v == 1 ? "ok" : "FAIL", why);
		n++;
	}
	if (cfg->json)
		printf("]");
	if (print_criteria(c, cfg, only ? (int)only->id : -1) < 0)
		bad++;
	if (cfg->json)
		printf("}\n");
	PQfinish(c);
	return bad ? 1 : 0;
}
