/*
 * CUnit: the Prometheus text of coordinator/metrics.c rendered from a real
 * ledger: chunks by state, rows by outcome (a catch-up's updated rows
 * included), the duration histogram, one run's chunks only, and Redis down.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_pg.h"
#include "metrics.h"
#include "mdw/ledger.h"
#include "mdw/pgx.h"

#define DB "mdw_unit_metrics"

static PGconn *TGT;
static int64_t RUN, OTHER;

/* Whether TEXT holds LINE as one whole line. */
static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return 1;
	return 0;
}

static void test_counts(void)
{
	char err[512], line[48];
	char *t = metrics_render(TGT, NULL, RUN, err, sizeof err);

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	snprintf(line, sizeof line, "mdw_run %" PRId64, RUN);
	CU_ASSERT(has_line(t, line));
	CU_ASSERT(has_line(t, "mdw_chunks{phase=\"patients\",state=\"done\"} 2"));
	CU_ASSERT(has_line(t, "mdw_chunks{phase=\"patients\",state=\"pending\"} 1"));
	CU_ASSERT(has_line(t, "mdw_chunks{phase=\"cases\",state=\"dead\"} 1"));
	CU_ASSERT(has_line(t, "mdw_chunks{phase=\"cases\",state=\"done\"} 0"));
	/* done chunks only: the pending chunk's figures are not counted */
	CU_ASSERT(has_line(t, "mdw_rows_total{phase=\"patients\",outcome=\"read\"} 30"));
	CU_ASSERT(has_line(t, "mdw_rows_total{phase=\"patients\",outcome=\"inserted\"} 13"));
	CU_ASSERT(has_line(t, "mdw_rows_total{phase=\"patients\",outcome=\"existing\"} 2"));
	CU_ASSERT(has_line(t, "mdw_rows_total{phase=\"patients\",outcome=\"merged\"} 1"));
	CU_ASSERT(has_line(t, "mdw_rows_total{phase=\"patients\",outcome=\"rejected\"} 4"));
	CU_ASSERT(has_line(t, "mdw_rows_total{phase=\"patients\",outcome=\"updated\"} 10"));
	CU_ASSERT(has_line(t, "mdw_rows_total{phase=\"cases\",outcome=\"read\"} 0"));
	/* the durations of the done chunks: 0.3 s and 2 s */
	CU_ASSERT(has_line(t, "mdw_chunk_duration_seconds_bucket{phase=\"patients\",le=\"0.25\"} 0"));
	CU_ASSERT(has_line(t, "mdw_chunk_duration_seconds_bucket{phase=\"patients\",le=\"0.5\"} 1"));
	CU_ASSERT(has_line(t, "mdw_chunk_duration_seconds_bucket{phase=\"patients\",le=\"2.5\"} 2"));
	CU_ASSERT(has_line(t, "mdw_chunk_duration_seconds_bucket{phase=\"patients\",le=\"+Inf\"} 2"));
	CU_ASSERT(has_line(t, "mdw_chunk_duration_seconds_sum{phase=\"patients\"} 2.300000"));
	CU_ASSERT(has_line(t, "mdw_chunk_duration_seconds_count{phase=\"patients\"} 2"));
	/* no Redis given: no queue series, and it says Redis is not up */
	CU_ASSERT_PTR_NULL(strstr(t, "mdw_queue_length{"));
	CU_ASSERT(has_line(t, "mdw_redis_up 0"));
	free(t);
}

static void test_other_run(void)
{
	char err[512];
	char *t = metrics_render(TGT, NULL, OTHER, err, sizeof err);

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT(has_line(t, "mdw_chunks{phase=\"patients\",state=\"done\"} 1"));
	CU_ASSERT(has_line(t, "mdw_rows_total{phase=\"patients\",outcome=\"updated\"} 0"));
	CU_ASSERT(has_line(t, "mdw_rows_total{phase=\"patients\",outcome=\"inserted\"} 100"));
	free(t);
}

static int fill(void)
{
	char err[512], run[24], other[24];
	const char *p[2] = {run, other};

	if (ledger_run_create(TGT, "{}", &RUN, err, sizeof err) < 0 ||
	    ledger_run_create(TGT, "{}", &OTHER, err, sizeof err) < 0)
		goto fail;
	snprintf(run, sizeof run, "%" PRId64, RUN);
	snprintf(other, sizeof other, "%" PRId64, OTHER);
	/* read = inserted + existing + updated + merged + rejected (the ledger's own check) */
	if (pgx_exec(TGT,
		     "INSERT INTO mdw.chunks (run_id, phase, chunk_no, lo, hi, status, started_at, finished_at, "
		     " rows_read, rows_inserted, rows_existing, rows_merged, rows_rejected, rows_updated) VALUES "
		     "($1, 'patients', 0, 1, 10, 'done', '2026-01-01 00:00:00+00', '2026-01-01 00:00:00.3+00', "
		     " 10, 3, 0, 0, 0, 7), "
		     "($1, 'patients', 1, 11, 30, 'done', '2026-01-01 00:00:00+00', '2026-01-01 00:00:02+00', "
		     " 20, 10, 2, 1, 4, 3), "
		     "($1, 'patients', 2, 31, 40, 'pending', NULL, NULL, 9, 9, 0, 0, 0, 0), "
		     "($1, 'cases', 0, 1, 10, 'dead', '2026-01-01 00:00:00+00', NULL, 0, 0, 0, 0, 0, 0), "
		     "($2, 'patients', 0, 1, 100, 'done', NULL, NULL, 100, 100, 0, 0, 0, 0)",
		     2, p, err, sizeof err, NULL) < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "test_metrics: %s\n", err);
	return -1;
}

static int setup(const char *db_dsn)
{
	char err[512];

	if (!(TGT = pgx_connect(db_dsn, "mdw-unit", err, sizeof err)) || mdw_schema_apply(TGT, err, sizeof err) < 0) {
		fprintf(stderr, "test_metrics: %s\n", err);
		return -1;
	}
	return fill();
}

static void teardown(void)
{
	PQfinish(TGT);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"chunks by state, rows by outcome, durations", test_counts},
		{"another run's chunks are not counted", test_other_run},
		{NULL, NULL},
	};
	static const struct unit_pg_suite suite = {"metrics", "MDW_TARGET_DSN", DB, setup, teardown, tests};

	return unit_pg_main(&suite);
}
