/*
 * CUnit: the ledger's statements (shared/ledger.c) against a real Postgres
 * (MDW_TARGET_DSN of the stack), in a database of the suite's own with the
 * target schema: a run and its plan, a chunk's life as a worker lives it
 * (claim, lock, done; a settled chunk stays settled), dead chunks and their
 * retry, a phase stopped, the figures, and the runs found. Without
 * MDW_TARGET_DSN the suite is skipped.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_pg.h"
#include "mdw/ledger.h"
#include "mdw/pgx.h"

#define DB "mdw_unit_ledger"

static PGconn *TGT;
static int64_t RUN;

/* The single value of SQL (on run RUN as $1), copied into OUT. */
static const char *value(const char *sql, char *out, size_t outlen)
{
	char id[24], err[256];
	const char *p[1] = {id};
	PGresult *r;

	snprintf(id, sizeof id, "%" PRId64, RUN);
	r = pgx_query(TGT, sql, 1, p, err, sizeof err, NULL);
	snprintf(out, outlen, "%s", !r ? err : PQntuples(r) ? PQgetvalue(r, 0, 0) : "(no row)");
	PQclear(r);
	return out;
}

static struct mdw_chunk chunk(int no)
{
	struct mdw_chunk c = {RUN, MDW_PH_PRACTICES, no, 1 + 40 * no, 40 + 40 * no, MDW_PART_NONE};
	return c;
}

static void test_applicable(void)
{
	CU_ASSERT_TRUE(ledger_chunk_applicable("pending"));
	CU_ASSERT_TRUE(ledger_chunk_applicable("running"));
	CU_ASSERT_FALSE(ledger_chunk_applicable("done"));
	CU_ASSERT_FALSE(ledger_chunk_applicable("dead"));
	CU_ASSERT_FALSE(ledger_chunk_applicable("rolled_back"));
	CU_ASSERT_FALSE(ledger_chunk_applicable("")); /* no ledger row */
}

static void test_plan(void)
{
	char err[512];
	PGresult *r;

	CU_ASSERT_EQUAL_FATAL(pgx_exec(TGT, "BEGIN", 0, NULL, err, sizeof err, NULL), 0);
	CU_ASSERT_EQUAL(ledger_phase_insert(TGT, RUN, "practices", 120, 3, err, sizeof err), 0);
	CU_ASSERT_EQUAL(ledger_chunks_insert(TGT, RUN, "practices", "{1,41,81}", "{40,80,120}", "{NULL,NULL,NULL}", err,
					     sizeof err),
			0);
	CU_ASSERT_EQUAL_FATAL(pgx_exec(TGT, "COMMIT", 0, NULL, err, sizeof err, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(ledger_chunks_open(TGT, RUN, "practices", &r, err, sizeof err), 0);
	CU_ASSERT_EQUAL(PQntuples(r), 3);
	if (PQntuples(r) == 3) {
		CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 2, 0), "2");
		CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 2, 1), "81");
		CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 2, 2), "120");
		CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 2, 3), "");
	}
	PQclear(r);
	{
		char id[24];
		const char *p[1] = {id};
		snprintf(id, sizeof id, "%" PRId64, RUN);
		CU_ASSERT_EQUAL_FATAL(pgx_exec(TGT,
					       "INSERT INTO mdw.flags (run_id, phase, legacy_id, code) "
					       "VALUES ($1::bigint, 'practices', 7, 'unit_flag')",
					       1, p, err, sizeof err, NULL),
				      0);
	}
	for (int with_flags = 0; with_flags < 2; with_flags++) {
		CU_ASSERT_EQUAL_FATAL(ledger_phase_stats(TGT, RUN, with_flags, &r, err, sizeof err), 0);
		CU_ASSERT_EQUAL_FATAL(PQntuples(r), 1);
		CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "practices");
		CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 1), "running");
		CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 2), "120");                   /* source rows */
		CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 3), "3");                     /* chunks */
		CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 6), "3");                     /* open */
		CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 17), with_flags ? "1" : "0"); /* flagged: counted when asked */
		PQclear(r);
	}
	CU_ASSERT_EQUAL(pgx_exec(TGT, "DELETE FROM mdw.flags WHERE code = 'unit_flag'", 0, NULL, err, sizeof err, NULL),
			0);
}

static void test_chunk_life(void)
{
	struct mdw_chunk c = chunk(0), missing = chunk(7);
	struct mdw_counts n = {40, 30, 5, 2, 0, 3}; /* read, inserted, existing, updated, merged, rejected */
	char err[512], status[32], v[256];
	int transient = -1;
	PGresult *r;

	CU_ASSERT_EQUAL_FATAL(ledger_chunk_lookup(TGT, &c, &r, err, sizeof err, &transient), 0);
	CU_ASSERT_EQUAL_FATAL(PQntuples(r), 1);
	CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "pending");
	CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 1), "1");
	CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 2), "40");
	PQclear(r);
	CU_ASSERT_EQUAL(ledger_chunk_claim(TGT, &c, "w1", err, sizeof err, &transient), 0);
	CU_ASSERT_STRING_EQUAL(value("SELECT status || ' ' || attempts || ' ' || worker FROM mdw.chunks WHERE run_id = $1 AND chunk_no = 0",
				     v, sizeof v),
			       "running 1 w1");

	CU_ASSERT_EQUAL_FATAL(pgx_exec(TGT, "BEGIN", 0, NULL, err, sizeof err, NULL), 0);
	CU_ASSERT_EQUAL(ledger_chunk_lock(TGT, &c, status, sizeof status, err, sizeof err, &transient), 0);
	CU_ASSERT_STRING_EQUAL(status, "running");
	CU_ASSERT_EQUAL(ledger_chunk_done(TGT, &c, &n, -1, err, sizeof err, &transient), 0);
	CU_ASSERT_EQUAL_FATAL(pgx_exec(TGT, "COMMIT", 0, NULL, err, sizeof err, NULL), 0);
	CU_ASSERT_STRING_EQUAL(value("SELECT concat_ws(' ', status, rows_read, rows_inserted, rows_existing, rows_updated, "
				     "rows_merged, rows_rejected) FROM mdw.chunks WHERE run_id = $1 AND chunk_no = 0",
				     v, sizeof v),
			       "done 40 30 5 2 0 3");

	/* a settled chunk stays settled: no claim, no error, no death */
	CU_ASSERT_EQUAL(ledger_chunk_claim(TGT, &c, "w2", err, sizeof err, &transient), 0);
	CU_ASSERT_EQUAL(ledger_chunk_note_error(TGT, &c, "late", err, sizeof err), 0);
	CU_ASSERT_EQUAL(ledger_chunk_dead(TGT, &c, "late", err, sizeof err), 1);
	ledger_chunk_last_error(TGT, &c, v, sizeof v);
	CU_ASSERT_STRING_EQUAL(v, "no error recorded");
	CU_ASSERT_STRING_EQUAL(value("SELECT status || ' ' || worker FROM mdw.chunks WHERE run_id = $1 AND chunk_no = 0",
				     v, sizeof v),
			       "done w1");

	/* the done chunk is no longer open */
	CU_ASSERT_EQUAL_FATAL(ledger_chunks_open(TGT, RUN, "practices", &r, err, sizeof err), 0);
	CU_ASSERT_EQUAL(PQntuples(r), 2);
	CU_ASSERT_STRING_EQUAL(PQntuples(r) ? PQgetvalue(r, 0, 0) : "", "1");
	PQclear(r);

	/* a chunk the ledger does not hold */
	CU_ASSERT_EQUAL(ledger_chunk_lookup(TGT, &missing, &r, err, sizeof err, &transient), 0);
	CU_ASSERT_EQUAL(PQntuples(r), 0);
	PQclear(r);
	CU_ASSERT_EQUAL_FATAL(pgx_exec(TGT, "BEGIN", 0, NULL, err, sizeof err, NULL), 0);
	CU_ASSERT_EQUAL(ledger_chunk_lock(TGT, &missing, status, sizeof status, err, sizeof err, &transient), 0);
	CU_ASSERT_STRING_EQUAL(status, "");
	CU_ASSERT_EQUAL(pgx_exec(TGT, "ROLLBACK", 0, NULL, err, sizeof err, NULL), 0);

	/* a done chunk that does not balance is refused by the database, not recorded */
	{
		struct mdw_chunk c1 = chunk(1);
		struct mdw_counts bad = {40, 1, 0, 0, 0, 0};
		CU_ASSERT_EQUAL(ledger_chunk_done(TGT, &c1, &bad, -1, err, sizeof err, &transient), -1);
		CU_ASSERT_EQUAL(transient, 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "23514"));
	}
}

static void test_dead_and_retry(void)
{
	struct mdw_chunk c = chunk(1);
	char err[512], v[256];
	PGresult *r;

	CU_ASSERT_EQUAL(ledger_chunk_note_error(TGT, &c, "boom", err, sizeof err), 0);
	ledger_chunk_last_error(TGT, &c, v, sizeof v);
	CU_ASSERT_STRING_EQUAL(v, "boom");
	CU_ASSERT_EQUAL(ledger_chunk_dead(TGT, &c, "gave up", err, sizeof err), 0);
	CU_ASSERT_EQUAL(ledger_chunk_dead(TGT, &c, "again", err, sizeof err), 1);
	CU_ASSERT_EQUAL_FATAL(ledger_first_dead_chunk(TGT, RUN, &r, err, sizeof err), 0);
	CU_ASSERT_EQUAL_FATAL(PQntuples(r), 1);
	CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "practices");
	CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 1), "1");
	CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 2), "gave up");
	PQclear(r);
	CU_ASSERT_EQUAL_FATAL(ledger_dead_chunks(TGT, RUN, "", &r, err, sizeof err), 0);
	CU_ASSERT_EQUAL_FATAL(PQntuples(r), 1);
	CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 2), "41"); /* lo */
	CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 6), "gave up");
	PQclear(r);
	CU_ASSERT_EQUAL_FATAL(ledger_dead_chunks(TGT, RUN, "patients", &r, err, sizeof err), 0);
	CU_ASSERT_EQUAL(PQntuples(r), 0);
	PQclear(r);

	/* retry: the chunk pending again, its failed phase running again */
	CU_ASSERT_EQUAL(ledger_phase_fail(TGT, RUN, "practices", "chunk 1 dead", err, sizeof err), 0);
	CU_ASSERT_EQUAL_FATAL(ledger_dead_chunks_retry(TGT, RUN, "", &r, err, sizeof err), 0);
	CU_ASSERT_EQUAL(PQntuples(r), 1);
	PQclear(r);
	CU_ASSERT_STRING_EQUAL(value("SELECT concat_ws(' ', status, attempts, coalesce(last_error, '-')) FROM mdw.chunks "
				     "WHERE run_id = $1 AND chunk_no = 1",
				     v, sizeof v),
			       "pending 0 -");
	CU_ASSERT_STRING_EQUAL(value("SELECT status || ' ' || coalesce(error, '-') FROM mdw.run_phases WHERE run_id = $1",
				     v, sizeof v),
			       "running -");

	/* the phase stopped: its open chunks dead with the reason, the done one stays */
	CU_ASSERT_EQUAL(ledger_chunks_stop(TGT, RUN, "practices", "needs x, which failed", err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(value("SELECT string_agg(status || ':' || coalesce(last_error, '-'), ',' ORDER BY chunk_no) "
				     "FROM mdw.chunks WHERE run_id = $1",
				     v, sizeof v),
			       "done:-,dead:needs x, which failed,dead:needs x, which failed");
}

static void test_figures(void)
{
	char err[512];
	PGresult *r;

	CU_ASSERT_EQUAL_FATAL(ledger_phase_balance(TGT, RUN, "practices", &r, err, sizeof err), 0);
	CU_ASSERT_EQUAL_FATAL(PQntuples(r), 1);
	CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 0), "120"); /* source rows */
	CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 1), "40");  /* read */
	CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 2), "40");  /* outcomes */
	CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 3), "0");   /* unbalanced */
	CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 4), "2");   /* not done */
	PQclear(r);
	CU_ASSERT_EQUAL_FATAL(ledger_phase_balance(TGT, RUN, "patients", &r, err, sizeof err), 0);
	CU_ASSERT_EQUAL(PQntuples(r), 0);
	PQclear(r);
	CU_ASSERT_EQUAL_FATAL(ledger_chunk_totals(TGT, RUN, &r, err, sizeof err), 0);
	CU_ASSERT_EQUAL(PQntuples(r), 2); /* done, dead */
	PQclear(r);
	CU_ASSERT_EQUAL_FATAL(ledger_chunk_durations(TGT, RUN, &r, err, sizeof err), 0);
	CU_ASSERT_EQUAL(PQntuples(r), 1);
	PQclear(r);
	CU_ASSERT_EQUAL_FATAL(ledger_rows_series(TGT, RUN, &r, err, sizeof err), 0);
	CU_ASSERT_EQUAL_FATAL(PQntuples(r), 1);
	CU_ASSERT_STRING_EQUAL(PQgetvalue(r, 0, 3), "40");
	PQclear(r);
}

static void test_runs(void)
{
	char err[512], v[256];
	int64_t found = -1, next = 0;
	long long resume = -1, left = -1;
	int present = 0, a = -1, b = -1, k = -1;
	PGresult *r;

	CU_ASSERT_EQUAL(ledger_present(TGT, &present, err, sizeof err), 0);
	CU_ASSERT_EQUAL(present, 1);
	CU_ASSERT_EQUAL(ledger_flags_present(TGT, &present, err, sizeof err), 0);
	CU_ASSERT_EQUAL(present, 1);
	CU_ASSERT_EQUAL(ledger_run_find(TGT, 0, &found, err, sizeof err), 0);
	CU_ASSERT_EQUAL(found, RUN);
	CU_ASSERT_EQUAL(ledger_run_find(TGT, RUN + 100, &found, err, sizeof err), 0);
	CU_ASSERT_EQUAL(found, 0);
	CU_ASSERT_EQUAL(ledger_catchup_run_find(TGT, 0, &found, err, sizeof err), 0);
	CU_ASSERT_EQUAL(found, 0);
	CU_ASSERT_EQUAL(ledger_resumable_run(TGT, &resume, &left, err, sizeof err), 0);
	CU_ASSERT_EQUAL(resume, RUN);
	CU_ASSERT_EQUAL(left, 2);

	/* the mode is recorded once: a resumed run keeps it */
	CU_ASSERT_EQUAL(ledger_run_mode(TGT, RUN, 1, 0, 1, &a, &b, &k, err, sizeof err), 0);
	CU_ASSERT(a == 1 && b == 0 && k == 1);
	CU_ASSERT_EQUAL(ledger_run_mode(TGT, RUN, 0, 1, 0, &a, &b, &k, err, sizeof err), 0);
	CU_ASSERT(a == 1 && b == 0 && k == 1);
	CU_ASSERT_EQUAL(ledger_catchup_run_find(TGT, 0, &found, err, sizeof err), 0);
	CU_ASSERT_EQUAL(found, RUN);

	CU_ASSERT_EQUAL(ledger_phase_state(TGT, RUN, "practices", "complete", "ok", err, sizeof err), 0);
	CU_ASSERT_EQUAL(ledger_phase_ever_complete(TGT, "practices", err, sizeof err), 1);
	CU_ASSERT_EQUAL(ledger_phase_ever_complete(TGT, "patients", err, sizeof err), 0);
	CU_ASSERT_EQUAL_FATAL(ledger_phase_validations(TGT, RUN, &r, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(PQntuples(r) ? PQgetvalue(r, 0, 1) : "", "ok");
	PQclear(r);
	CU_ASSERT_EQUAL(ledger_run_finish(TGT, RUN, "complete", "done", err, sizeof err), 0);
	CU_ASSERT_EQUAL_FATAL(ledger_run_unfinished(TGT, &r, err, sizeof err), 0);
	CU_ASSERT_EQUAL(PQntuples(r), 0);
	PQclear(r);
	CU_ASSERT_EQUAL(ledger_resumable_run(TGT, &resume, &left, err, sizeof err), 0);
	CU_ASSERT_EQUAL(resume, 0);
	CU_ASSERT_EQUAL(ledger_run_resume(TGT, RUN, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(value("SELECT status || ' ' || (finished_at IS NULL) FROM mdw.runs WHERE id = $1", v,
				     sizeof v),
			       "running true");
	CU_ASSERT_EQUAL(ledger_run_create(TGT, "{}", &next, err, sizeof err), 0);
	CU_ASSERT(next > RUN);
	CU_ASSERT_EQUAL(ledger_run_find(TGT, 0, &found, err, sizeof err), 0);
	CU_ASSERT_EQUAL(found, next);
	CU_ASSERT_EQUAL(ledger_run_find(TGT, RUN, &found, err, sizeof err), 0);
	CU_ASSERT_EQUAL(found, RUN);
}

static void test_reopen(void)
{
	char err[512], v[64];

	CU_ASSERT_EQUAL(ledger_reopen_rolled_back(TGT, RUN, err, sizeof err), 0);
	CU_ASSERT_EQUAL(ledger_phase_state(TGT, RUN, "practices", "rolled_back", "", err, sizeof err), 0);
	CU_ASSERT_EQUAL(ledger_reopen_rolled_back(TGT, RUN, err, sizeof err), 1);
	CU_ASSERT_STRING_EQUAL(value("SELECT count(*) FROM mdw.chunks WHERE run_id = $1", v, sizeof v), "0");
	CU_ASSERT_STRING_EQUAL(value("SELECT count(*) FROM mdw.run_phases WHERE run_id = $1", v, sizeof v), "0");
}

static int setup(const char *db_dsn)
{
	char err[512];

	if (!(TGT = pgx_connect(db_dsn, "mdw-unit", err, sizeof err)) || mdw_schema_apply(TGT, err, sizeof err) < 0 ||
	    ledger_run_create(TGT, "{}", &RUN, err, sizeof err) < 0) {
		fprintf(stderr, "test_ledger: %s\n", err);
		return -1;
	}
	return 0;
}

static void teardown(void)
{
	PQfinish(TGT);
}

int main(void)
{
	/* in order: each test goes on from the ledger the one before left */
	static const struct unit_test tests[] = {
		{"only pending and running chunks may be applied", test_applicable},
		{"a run's plan: its phase and chunks, open, in the figures", test_plan},
		{"a chunk's life: claim, lock, done; settled stays settled", test_chunk_life},
		{"dead chunks, their retry, a phase stopped", test_dead_and_retry},
		{"the figures of a phase and its chunks", test_figures},
		{"runs found, resumed, finished; the mode recorded once", test_runs},
		{"a rolled-back phase reopened", test_reopen},
		{NULL, NULL},
	};
	static const struct unit_pg_suite suite = {"ledger", "MDW_TARGET_DSN", DB, setup, teardown, tests};

	return unit_pg_main(&suite);
}
