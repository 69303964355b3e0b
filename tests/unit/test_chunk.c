/*
 * CUnit: the relational chunk protocol (worker/chunk.c) against a real
 * Postgres (MDW_TARGET_DSN of the stack), through chunk_rel_process as a worker
 * calls it: a row that breaks a CHECK constraint the C transform does not
 * know of fails the set-based insert; the range is bisected under savepoints
 * down to that row, which lands in mdw.rejects as db_error with the server's
 * SQLSTATE and message, and the chunk balances (read = inserted + existing +
 * merged + rejected). The suite works in a database of its own
 * (mdw_unit_chunk, legacy and target tables side by side), dropped at the
 * end. Without MDW_TARGET_DSN it is skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "mdw/pgx.h"
#include "mdw/row_hash.h"
#include "mdw/verify_spec.h"
#include "unit_pg.h"
#include "mdw/sqlfiles.h"

#define DB "mdw_unit_chunk"

static char DB_DSN[1024];
static PGconn *SRC, *TGT;

static long long count(const char *sql)
{
	char v[512];
	return strtoll(pg_value(TGT, sql, v, sizeof v), NULL, 10);
}

static int exec(const char *sql)
{
	char err[512];
	if (pgx_exec(TGT, sql, 0, NULL, err, sizeof err, NULL) < 0) {
		fprintf(stderr, "test_chunk: %s: %s\n", sql, err);
		return -1;
	}
	return 0;
}

/* Process chunk NO of RUN over [LO, HI] of practices as worker "unit" does, on target session T. */
static enum chunk_outcome process_on(PGconn *t, long long run, int no, long long lo, long long hi, struct mdw_counts *n,
				     char *err, size_t errlen)
{
	struct chunk_ctx ctx = {.src = SRC, .tgt = t, .worker_id = "unit", .lease_ms = 30000, .max_bytes = 1 << 20};
	struct mdw_chunk c = {.run = run, .phase = MDW_PH_PRACTICES, .chunk_no = no, .lo = lo, .hi = hi};

	enum chunk_outcome res;

	memset(n, 0, sizeof *n);
	if ((res = chunk_rel_process(&ctx, &c, n, err, errlen)) != CHUNK_OK)
		fprintf(stderr, "test_chunk: run %lld chunk %d: outcome %d: %s\n", run, no, (int)res, err);
	return res;
}

static enum chunk_outcome process(long long run, int no, long long lo, long long hi, struct mdw_counts *n, char *err,
				  size_t errlen)
{
	return process_on(TGT, run, no, lo, hi, n, err, errlen);
}

/* The ledger's counts of chunk NO of RUN: "status read inserted existing merged rejected". */
static const char *ledger(long long run, int no, char *out, size_t outlen)
{
	char sql[512];
	snprintf(sql, sizeof sql,
		 "SELECT concat_ws(' ', status, rows_read, rows_inserted, rows_existing, rows_merged, rows_rejected) "
		 "FROM mdw.chunks WHERE run_id = %lld AND phase = 'practices' AND chunk_no = %d",
		 run, no);
	return pg_value(TGT, sql, out, outlen);
}

/*
 * Process the chunk: it is done, with COUNTS ("read inserted existing merged
 * rejected") both returned and in its ledger row, which the database checks
 * against the accounting rule.
 */
static void assert_done(long long run, int no, long long lo, long long hi, const char *counts)
{
	struct mdw_counts n;
	char err[1024], got[160], want[160], v[512];

	CU_ASSERT_EQUAL_FATAL(process(run, no, lo, hi, &n, err, sizeof err), CHUNK_OK);
	snprintf(got, sizeof got, "%lld %lld %lld %lld %lld", n.read, n.inserted, n.existing, n.merged, n.rejected);
	CU_ASSERT_STRING_EQUAL(got, counts);
	snprintf(want, sizeof want, "done %s", counts);
	CU_ASSERT_STRING_EQUAL(ledger(run, no, v, sizeof v), want);
}

static void test_one_bad_row(void)
{
	char v[512];

	assert_done(1, 0, 1, 40, "40 39 0 0 1");
	/* the one row, with the server's SQLSTATE and constraint, and the legacy row as it was */
	CU_ASSERT_STRING_EQUAL(pg_value(TGT,
					"SELECT string_agg(concat_ws(' ', legacy_id, reason, source_table, "
					"source_row->>'id', source_row->>'city'), ';') FROM mdw.rejects WHERE run_id = 1",
					v, sizeof v),
			       "23 db_error dispatch_office 23 Bisectville");
	pg_value(TGT, "SELECT detail FROM mdw.rejects WHERE run_id = 1", v, sizeof v);
	CU_ASSERT_EQUAL(strncmp(v, "23514: ", 7), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(v, "unit_no_bisectville"));
	/* every other row of the chunk arrived, the bad one did not */
	CU_ASSERT_EQUAL(count("SELECT count(*) FROM practices WHERE legacy_id BETWEEN 1 AND 40 AND mdw_run_id = 1"),
			39);
	CU_ASSERT_EQUAL(count("SELECT count(*) FROM practices WHERE legacy_id = 23"), 0);
}

static void test_bad_rows_at_the_ends(void)
{
	char v[512];

	/* 41..60: the first, a middle and the last row break the constraint */
	assert_done(1, 1, 41, 60, "20 17 0 0 3");
	CU_ASSERT_STRING_EQUAL(pg_value(TGT,
					"SELECT string_agg(legacy_id::text, ',' ORDER BY legacy_id) FROM mdw.rejects "
					"WHERE run_id = 1 AND legacy_id > 40 AND reason = 'db_error' "
					"AND detail LIKE '23514: %unit_no_bisectville%'",
					v, sizeof v),
			       "41,50,60");
	CU_ASSERT_EQUAL(count("SELECT count(*) FROM practices WHERE legacy_id BETWEEN 41 AND 60"), 17);
}

static void test_rerun_existing(void)
{
	struct mdw_counts n;
	char err[1024];

	/* run 2 over every row: the good ones exist already, the bad ones are rejected again */
	assert_done(2, 0, 1, 60, "60 0 56 0 4");
	CU_ASSERT_EQUAL(count("SELECT count(*) FROM mdw.rejects WHERE run_id = 2 AND reason = 'db_error'"), 4);
	/* a done chunk processed again is a no-op */
	CU_ASSERT_EQUAL(process(2, 0, 1, 60, &n, err, sizeof err), CHUNK_ALREADY);
	CU_ASSERT_EQUAL(count("SELECT count(*) FROM mdw.rejects WHERE run_id = 2"), 4);
}

/*
 * In a range the target holds no row of, the chunk inserts without the
 * phase's ON CONFLICT (chunk.c, fresh_range). A row that an application
 * writes into the range after that look (here a trigger on the stage, fired
 * by the chunk's own COPY) fails that insert; the range is loaded again with
 * the phase's own: the row exists, as without the plain insert, and nothing
 * is rejected as db_error.
 */
static void test_plain_insert_conflict(void)
{
	static const char *const set_up[] = {
		"INSERT INTO dispatch_office (id, name, city, is_active, created_at) "
		"SELECT i, 'Office ' || i, 'Town', true, '2020-01-01' FROM generate_series(101, 103) i",
		"INSERT INTO mdw.chunks (run_id, phase, chunk_no, lo, hi) VALUES (4, 'practices', 0, 101, 103)",
		"CREATE FUNCTION unit_app_writes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
		"INSERT INTO public.practices (legacy_id, name, is_active) VALUES (102, 'Application', true) "
		"ON CONFLICT DO NOTHING; RETURN NULL; END $$",
		/* the chunk's stage (the same as its DDL, which is IF NOT EXISTS), with the application's write */
		"CREATE TEMP TABLE IF NOT EXISTS stage_practices (legacy_id integer PRIMARY KEY, name text, address text, apt text, "
		"city text, state text, zip text, country text, phone text, email text, is_active boolean, "
		"created_at timestamptz) ON COMMIT DELETE ROWS",
		"CREATE TRIGGER unit_app AFTER INSERT ON stage_practices EXECUTE FUNCTION unit_app_writes()",
		"ALTER TABLE stage_practices ENABLE ALWAYS TRIGGER unit_app", /* the chunk runs as a replica */
	};

	for (size_t i = 0; i < sizeof set_up / sizeof set_up[0]; i++)
		CU_ASSERT_EQUAL_FATAL(exec(set_up[i]), 0);
	assert_done(4, 0, 101, 103, "3 2 1 0 0");
	CU_ASSERT_EQUAL(count("SELECT count(*) FROM practices WHERE legacy_id BETWEEN 101 AND 103 AND mdw_run_id = 4"),
			2);
	CU_ASSERT_EQUAL(count("SELECT count(*) FROM practices WHERE legacy_id = 102 AND name = 'Application'"), 1);
	CU_ASSERT_EQUAL(count("SELECT count(*) FROM mdw.rejects WHERE run_id = 4"), 0);
	/* the plain insert recorded no hash (rolled back with it): the chunk's own two, after its rows */
	CU_ASSERT_EQUAL(count("SELECT count(*) FROM mdw.row_hashes WHERE run_id = 4 AND legacy_id BETWEEN 101 AND 103"),
			2);
	CU_ASSERT_EQUAL(count("SELECT rows_hashed FROM mdw.chunks WHERE run_id = 4 AND phase = 'practices' AND chunk_no = 0"),
			2);
	CU_ASSERT_EQUAL(exec("DROP TABLE stage_practices"), 0);
}

/* Verify's target side over an insert's returned rows: for the sides that read their table alone. */
static void test_target_side_over(void)
{
	static const enum mdw_phase_id alone[] = {MDW_PH_PRACTICES, MDW_PH_PATIENTS, MDW_PH_CASES, MDW_PH_PROJECTS,
						  MDW_PH_CASE_STATES};
	static const enum mdw_phase_id not_alone[] = {MDW_PH_PROFILES, MDW_PH_PRACTICE_MEMBERS,
						      MDW_PH_WORKFLOW_TEMPLATES, MDW_PH_EMBEDDINGS};
	char out[8192], *fused = NULL;

	for (size_t i = 0; i < sizeof alone / sizeof alone[0]; i++) {
		char table[64];

		CU_ASSERT_EQUAL(verify_target_sql_over(alone[i], "ins", out, sizeof out), 0);
		snprintf(table, sizeof table, "public.%s ", mdw_phases[alone[i]].target);
		CU_ASSERT_PTR_NULL(strstr(out, table));
		CU_ASSERT_EQUAL(strlen(out) + strlen("public.") + strlen(mdw_phases[alone[i]].target),
				strlen(verify_target_sql(alone[i])) + strlen("ins"));
	}
	CU_ASSERT_EQUAL(verify_target_sql_over(MDW_PH_CASES, "ins", out, sizeof out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, " FROM ins c LEFT JOIN public.patients pt ON pt.id = c.patient_id "));
	for (size_t i = 0; i < sizeof not_alone / sizeof not_alone[0]; i++)
		CU_ASSERT_EQUAL(verify_target_sql_over(not_alone[i], "ins", out, sizeof out), -1);
	CU_ASSERT_EQUAL(verify_target_sql_over(MDW_PH_PROJECTS, "ins", out, 40), -1);
	CU_ASSERT_EQUAL(row_hash_insert_sql(MDW_PH_PROFILES, "INSERT INTO public.profiles SELECT 1", &fused), 0);
	CU_ASSERT_PTR_NULL(fused);
	CU_ASSERT_EQUAL(row_hash_insert_sql(MDW_PH_PRACTICES, "INSERT INTO public.practices SELECT 1", &fused), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fused);
	{
		static const char head[] = "WITH ins AS (INSERT INTO public.practices SELECT 1 RETURNING *), ";
		CU_ASSERT_EQUAL(strncmp(fused, head, sizeof head - 1), 0);
	}
	free(fused);
}

/*
 * A chunk whose range is new to the target and holds no hash inserts its
 * rows and records their hashes in one statement (row_hash_insert_sql): the
 * hashes are verify's target side of the rows, one per row, counted in the
 * ledger (a statement trigger notes which statement wrote them).
 */
static void test_fused_hashes(void)
{
	static const char *const set_up[] = {
		"INSERT INTO dispatch_office (id, name, city, is_active, created_at) "
		"SELECT i, 'Office ' || i, 'Town', true, '2020-01-01' FROM generate_series(201, 210) i",
		"INSERT INTO mdw.chunks (run_id, phase, chunk_no, lo, hi) VALUES (4, 'practices', 1, 201, 210)",
		"CREATE TABLE unit_hash_writers (q text)",
		"CREATE FUNCTION unit_hash_writer() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
		"INSERT INTO unit_hash_writers VALUES (left(current_query(), 12)); RETURN NULL; END $$",
		"CREATE TRIGGER unit_hash_writer AFTER INSERT ON mdw.row_hashes EXECUTE FUNCTION unit_hash_writer()",
		"ALTER TABLE mdw.row_hashes ENABLE ALWAYS TRIGGER unit_hash_writer",
	};
	char sql[4096], v[64];

	for (size_t i = 0; i < sizeof set_up / sizeof set_up[0]; i++)
		CU_ASSERT_EQUAL_FATAL(exec(set_up[i]), 0);
	assert_done(4, 1, 201, 210, "10 10 0 0 0");
	CU_ASSERT_STRING_EQUAL(pg_value(TGT, "SELECT string_agg(q, ',') FROM unit_hash_writers", v, sizeof v),
			       "WITH ins AS ");
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM mdw.row_hashes h JOIN (%s) x ON x.id = h.legacy_id "
		 "WHERE h.phase = 'practices' AND h.run_id = 4 AND h.legacy_id BETWEEN 201 AND 210 AND h.hash = md5(x::text)",
		 verify_target_sql(MDW_PH_PRACTICES));
	CU_ASSERT_EQUAL(count(sql), 10);
	CU_ASSERT_EQUAL(count("SELECT rows_hashed FROM mdw.chunks WHERE run_id = 4 AND phase = 'practices' AND chunk_no = 1"),
			10);
	CU_ASSERT_EQUAL(exec("DROP TRIGGER unit_hash_writer ON mdw.row_hashes"), 0);
	CU_ASSERT_EQUAL(exec("DROP TABLE unit_hash_writers"), 0);
}

/*
 * The chunk's row hashes (shared/row_hash.c) are read by index lookups,
 * planned with hash and merge joins off for that statement only: the
 * session's own settings are back for the rest of the transaction, and each
 * hash is the row as verify's target side reads the whole table back. After
 * test_plain_insert_conflict: run 4 made practices 101 and 103.
 */
static void test_row_hashes_settings(void)
{
	struct mdw_chunk c = {.run = 4, .phase = MDW_PH_PRACTICES, .chunk_no = 0, .lo = 101, .hi = 103};
	char err[512], v[64], sql[4096];
	long long n = -1;
	int transient = 0;

	CU_ASSERT_EQUAL_FATAL(exec("SET enable_mergejoin = off"), 0);
	CU_ASSERT_EQUAL_FATAL(exec("BEGIN"), 0);
	CU_ASSERT_EQUAL(row_hash_record_chunk(TGT, &c, 0, &n, err, sizeof err, &transient), 0);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_STRING_EQUAL(pg_value(TGT,
					"SELECT current_setting('enable_hashjoin') || ' ' || "
					"current_setting('enable_mergejoin')",
					v, sizeof v),
			       "on off");
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM mdw.row_hashes h JOIN (%s) x ON x.id = h.legacy_id "
		 "WHERE h.phase = 'practices' AND h.run_id = 4 AND h.legacy_id BETWEEN 101 AND 103 AND h.hash = md5(x::text)",
		 verify_target_sql(MDW_PH_PRACTICES));
	CU_ASSERT_EQUAL(count(sql), 2);
	CU_ASSERT_EQUAL(exec("ROLLBACK"), 0);
	CU_ASSERT_EQUAL(exec("RESET enable_mergejoin"), 0);
}

/*
 * Each way a chunk can end is one outcome: no ledger row or other bounds
 * are CHUNK_DEAD, a ledger row locked by another session CHUNK_NOT_NOW (not
 * an attempt), a lost connection CHUNK_RETRY.
 */
static void test_outcomes(void)
{
	char sql[128], err[1024];
	struct mdw_counts n;
	PGconn *locker, *lost;
	PGresult *r;

	CU_ASSERT_EQUAL(process(3, 9, 1, 60, &n, err, sizeof err), CHUNK_DEAD);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no ledger row"));
	CU_ASSERT_EQUAL(process(3, 0, 1, 59, &n, err, sizeof err), CHUNK_DEAD);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "differ from the ledger"));

	locker = pgx_connect(DB_DSN, "mdw-unit-locker", err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(locker);
	CU_ASSERT_EQUAL(pgx_exec(locker, "BEGIN", 0, NULL, err, sizeof err, NULL), 0);
	CU_ASSERT_EQUAL(pgx_exec(locker,
				 "SELECT 1 FROM mdw.chunks WHERE run_id = 3 AND phase = 'practices' AND chunk_no = 0 "
				 "FOR UPDATE",
				 0, NULL, err, sizeof err, NULL),
			0);
	CU_ASSERT_EQUAL(exec("SET lock_timeout = '200ms'"), 0);
	CU_ASSERT_EQUAL(process(3, 0, 1, 60, &n, err, sizeof err), CHUNK_NOT_NOW);
	CU_ASSERT_EQUAL(strncmp(err, "55P03", 5), 0);
	CU_ASSERT_EQUAL(exec("RESET lock_timeout"), 0);
	PQfinish(locker);
	CU_ASSERT_EQUAL(count("SELECT attempts FROM mdw.chunks WHERE run_id = 3 AND chunk_no = 0"), 0);

	lost = pgx_connect(DB_DSN, "mdw-unit-lost", err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lost);
	snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", PQbackendPID(lost));
	r = PQexec(TGT, sql);
	CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	CU_ASSERT_EQUAL(process_on(lost, 3, 0, 1, 60, &n, err, sizeof err), CHUNK_RETRY);
	PQfinish(lost);
	CU_ASSERT_EQUAL(process(3, 0, 1, 60, &n, err, sizeof err), CHUNK_OK);
}

/* A database of the suite's own with the legacy tables, the target schema, 60 offices and 4 bad ones. */
static int setup(const char *db_dsn)
{
	static const char *const data[] = {
		"INSERT INTO dispatch_office (id, name, city, is_active, created_at) "
		"SELECT i, 'Office ' || i, CASE WHEN i IN (23, 41, 50, 60) THEN 'Bisectville' ELSE 'Town' END, true, "
		"'2020-01-01' FROM generate_series(1, 60) i",
		/* a rule of the target's that the transform does not check */
		"ALTER TABLE practices ADD CONSTRAINT unit_no_bisectville CHECK (city IS DISTINCT FROM 'Bisectville')",
		"INSERT INTO mdw.runs (id) VALUES (1), (2), (3), (4)",
		"INSERT INTO mdw.chunks (run_id, phase, chunk_no, lo, hi) VALUES "
		"(1, 'practices', 0, 1, 40), (1, 'practices', 1, 41, 60), (2, 'practices', 0, 1, 60), "
		"(3, 'practices', 0, 1, 60)",
	};
	char err[512];
	PGresult *r;
	int rc;

	snprintf(DB_DSN, sizeof DB_DSN, "%s", db_dsn);
	if (!(TGT = pgx_connect(DB_DSN, "mdw-worker/unit", err, sizeof err)) ||
	    !(SRC = pgx_connect_source(DB_DSN, "mdw-worker/unit", 0, err, sizeof err))) {
		fprintf(stderr, "test_chunk: %s\n", err);
		return -1;
	}
	r = PQexec(TGT, mdw_sql_get("legacy/schema.sql"));
	rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
	if (rc)
		fprintf(stderr, "test_chunk: legacy schema: %s", PQerrorMessage(TGT));
	PQclear(r);
	if (rc || mdw_schema_apply(TGT, err, sizeof err) < 0) {
		fprintf(stderr, "test_chunk: target schema: %s\n", rc ? "" : err);
		return -1;
	}
	for (size_t i = 0; i < sizeof data / sizeof data[0]; i++)
		if (exec(data[i]) < 0)
			return -1;
	return 0;
}

static void teardown(void)
{
	PQfinish(SRC);
	PQfinish(TGT);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"a row breaking a CHECK is bisected out as db_error, the chunk balances", test_one_bad_row},
		{"bad first, middle and last rows of a chunk", test_bad_rows_at_the_ends},
		{"a re-run: existing rows and the same rejects, then a no-op", test_rerun_existing},
		{"each way a chunk ends is one outcome: dead, not now, retry, ok", test_outcomes},
		{"a conflict of the plain insert into a new range: loaded again, the row exists",
		 test_plain_insert_conflict},
		{"verify's target side over an insert's rows, where it reads its table alone", test_target_side_over},
		{"a new range: its rows and their hashes in one statement", test_fused_hashes},
		{"the row hashes: by index, the session's join settings kept, verify's rows", test_row_hashes_settings},
		{NULL, NULL},
	};
	static const struct unit_pg_suite suite = {"chunk", "MDW_TARGET_DSN", DB, setup, teardown, tests};

	return unit_pg_main(&suite);
}
