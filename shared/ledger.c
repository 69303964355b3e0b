/* The ledger's statements: runs, run phases and chunks (see ledger.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdw/ledger.h"
#include "mdw/phase.h"

/* A chunk's key as text parameters: run, phase name, chunk_no. */
struct chunk_key {
	char run[24], no[16];
	const char *phase;
};

static void chunk_key(struct chunk_key *k, const struct mdw_chunk *c)
{
	snprintf(k->run, sizeof k->run, "%" PRId64, c->run);
	snprintf(k->no, sizeof k->no, "%d", (int)c->chunk_no);
	k->phase = mdw_phases[c->phase].name;
}

/* Run SQL with N parameters into *RES. 0 or -1. */
static int query(PGconn *tgt, const char *sql, int n, const char *const *p, PGresult **res, char *err, size_t errlen,
		 int *transient)
{
	*res = pgx_query(tgt, sql, n, p, err, errlen, transient);
	return *res ? 0 : -1;
}

/* Run SQL of run RUN ($1) and optionally PHASE ($2) into *RES. 0 or -1. */
static int run_query(PGconn *tgt, const char *sql, int64_t run, const char *phase, PGresult **res, char *err,
		     size_t errlen)
{
	char id[24];
	const char *p[2] = {id, phase};

	snprintf(id, sizeof id, "%" PRId64, run);
	return query(tgt, sql, phase ? 2 : 1, p, res, err, errlen, NULL);
}

/* Run the statement SQL of run RUN ($1) with N parameters in all: $2.. from P2, P3, P4. 0 or -1. */
static int run_exec(PGconn *tgt, const char *sql, int64_t run, int n, const char *p2, const char *p3, const char *p4,
		    char *err, size_t errlen)
{
	char id[24];
	const char *p[4] = {id, p2, p3, p4};

	snprintf(id, sizeof id, "%" PRId64, run);
	return pgx_exec(tgt, sql, n, p, err, errlen, NULL);
}

/* Whether the table NAME exists (*PRESENT 1 or 0). */
static int table_present(PGconn *tgt, const char *name, int *present, char *err, size_t errlen)
{
	const char *p[1] = {name};
	PGresult *r;

	if (query(tgt, "SELECT to_regclass($1) IS NOT NULL", 1, p, &r, err, errlen, NULL) < 0)
		return -1;
	*present = !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	return 0;
}

/*
 * Done and dead are settled; rolled_back means the chunk's rows were removed
 * on purpose, and a stale message must not bring them back.
 */
int ledger_chunk_applicable(const char *status)
{
	return !strcmp(status, "pending") || !strcmp(status, "running");
}

int ledger_chunk_lookup(PGconn *tgt, const struct mdw_chunk *c, PGresult **res, char *err, size_t errlen,
			int *transient)
{
	struct chunk_key k;

	chunk_key(&k, c);
	{
		const char *p[3] = {k.run, k.phase, k.no};
		return query(tgt,
			     "SELECT status, lo, hi FROM mdw.chunks WHERE run_id = $1 AND phase = $2 AND chunk_no = $3",
			     3, p, res, err, errlen, transient);
	}
}

int ledger_chunk_claim(PGconn *tgt, const struct mdw_chunk *c, const char *worker, char *err, size_t errlen,
		       int *transient)
{
	struct chunk_key k;

	chunk_key(&k, c);
	{
		const char *p[4] = {k.run, k.phase, k.no, worker};
		return pgx_exec(tgt,
				"UPDATE mdw.chunks SET status = 'running', attempts = attempts + 1, worker = $4, "
				"started_at = now() WHERE run_id = $1 AND phase = $2 AND chunk_no = $3 "
				"AND status IN ('pending', 'running')",
				4, p, err, errlen, transient);
	}
}

int ledger_chunk_lock(PGconn *tgt, const struct mdw_chunk *c, char *status, size_t statuslen, char *err, size_t errlen,
		      int *transient)
{
	struct chunk_key k;
	PGresult *r;

	chunk_key(&k, c);
	{
		const char *p[3] = {k.run, k.phase, k.no};
		if (query(tgt,
			  "SELECT status FROM mdw.chunks WHERE run_id = $1 AND phase = $2 AND chunk_no = $3 FOR UPDATE",
			  3, p, &r, err, errlen, transient) < 0)
			return -1;
	}
	snprintf(status, statuslen, "%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return 0;
}

int ledger_chunk_done(PGconn *tgt, const struct mdw_chunk *c, const struct mdw_counts *n, long long hashed, char *err,
		      size_t errlen, int *transient)
{
	struct chunk_key k;
	char nb[7][24];
	const char *q[10] = {k.run, NULL, k.no, nb[0], nb[1], nb[2], nb[3], nb[4], nb[5], hashed < 0 ? NULL : nb[6]};

	chunk_key(&k, c);
	q[1] = k.phase;
	snprintf(nb[0], 24, "%lld", n->read);
	snprintf(nb[1], 24, "%lld", n->inserted);
	snprintf(nb[2], 24, "%lld", n->existing);
	snprintf(nb[3], 24, "%lld", n->merged);
	snprintf(nb[4], 24, "%lld", n->rejected);
	snprintf(nb[5], 24, "%lld", n->updated);
	snprintf(nb[6], 24, "%lld", hashed);
	return pgx_exec(tgt,
			"UPDATE mdw.chunks SET status = 'done', finished_at = now(), last_error = NULL, "
			"rows_read = $4, rows_inserted = $5, rows_existing = $6, rows_merged = $7, rows_rejected = $8, "
			"rows_updated = $9, rows_hashed = $10::bigint WHERE run_id = $1 AND phase = $2 AND chunk_no = $3",
			10, q, err, errlen, transient);
}

int ledger_chunk_note_error(PGconn *tgt, const struct mdw_chunk *c, const char *error, char *err, size_t errlen)
{
	struct chunk_key k;

	chunk_key(&k, c);
	{
		const char *p[4] = {k.run, k.phase, k.no, error};
		return pgx_exec(tgt,
				"UPDATE mdw.chunks SET last_error = $4 WHERE run_id = $1 AND phase = $2 AND chunk_no = $3 "
				"AND status <> 'done'",
				4, p, err, errlen, NULL);
	}
}

void ledger_chunk_last_error(PGconn *tgt, const struct mdw_chunk *c, char *out, size_t outlen)
{
	struct chunk_key k;
	char e[128];
	PGresult *r;

	chunk_key(&k, c);
	{
		const char *p[3] = {k.run, k.phase, k.no};
		r = pgx_query(tgt,
			      "SELECT last_error FROM mdw.chunks WHERE run_id = $1 AND phase = $2 AND chunk_no = $3", 3,
			      p, e, sizeof e, NULL);
	}
	snprintf(out, outlen, "%s",
		 r && PQntuples(r) && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "no error recorded");
	PQclear(r);
}

int ledger_chunk_dead(PGconn *tgt, const struct mdw_chunk *c, const char *error, char *err, size_t errlen)
{
	struct chunk_key k;
	PGresult *r;
	int updated;

	chunk_key(&k, c);
	{
		const char *p[4] = {k.run, k.phase, k.no, error};
		if (query(tgt,
			  "UPDATE mdw.chunks SET status = 'dead', last_error = $4, finished_at = now() "
			  "WHERE run_id = $1 AND phase = $2 AND chunk_no = $3 AND status IN ('pending', 'running')",
			  4, p, &r, err, errlen, NULL) < 0)
			return -1;
	}
	updated = strcmp(PQcmdTuples(r), "0") != 0;
	PQclear(r);
	return updated ? 0 : 1;
}

int ledger_phase_insert(PGconn *tgt, int64_t run, const char *phase, long long source_rows, int nchunks, char *err,
			size_t errlen)
{
	char id[24], rows[24], n[16];
	const char *p[4] = {id, phase, rows, n};

	snprintf(id, sizeof id, "%" PRId64, run);
	snprintf(rows, sizeof rows, "%lld", source_rows);
	snprintf(n, sizeof n, "%d", nchunks);
	return pgx_exec(tgt,
			"INSERT INTO mdw.run_phases (run_id, phase, status, source_rows, chunks, planned_at) "
			"VALUES ($1, $2, 'running', $3, $4, now())",
			4, p, err, errlen, NULL);
}

int ledger_phase_state(PGconn *tgt, int64_t run, const char *phase, const char *state, const char *detail, char *err,
		       size_t errlen)
{
	return run_exec(tgt,
			"UPDATE mdw.run_phases SET status = $3, error = CASE WHEN $3 = 'failed' THEN $4 END, "
			"validation = jsonb_build_object('result', $4::text), "
			"completed_at = CASE WHEN $3 = 'complete' THEN now() END WHERE run_id = $1 AND phase = $2",
			run, 4, phase, state, detail, err, errlen);
}

/* The single bigint of SQL with the parameter WANT into *OUT (0 for NULL). */
static int find_id(PGconn *tgt, const char *sql, long long want, int64_t *out, char *err, size_t errlen)
{
	char w[24];
	const char *p[1] = {w};
	PGresult *r;

	*out = 0;
	snprintf(w, sizeof w, "%lld", want);
	if (query(tgt, sql, 1, p, &r, err, errlen, NULL) < 0)
		return -1;
	if (PQntuples(r) && !PQgetisnull(r, 0, 0))
		*out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

int ledger_run_find(PGconn *tgt, long long run_id, int64_t *run, char *err, size_t errlen)
{
	return find_id(tgt, "SELECT max(id) FROM mdw.runs WHERE $1::bigint <= 0 OR id = $1::bigint", run_id, run, err,
		       errlen);
}

int ledger_catchup_run_find(PGconn *tgt, long long run_id, int64_t *run, char *err, size_t errlen)
{
	return find_id(tgt,
		       "SELECT max(id) FROM mdw.runs WHERE coalesce(settings ->> 'catch_up', 'false') = 'true' "
		       "AND ($1::bigint = 0 OR id = $1::bigint)",
		       run_id, run, err, errlen);
}

int ledger_run_unfinished(PGconn *tgt, PGresult **res, char *err, size_t errlen)
{
	return query(tgt,
		     "SELECT id, settings->>'phases' FROM mdw.runs WHERE status <> 'complete' ORDER BY id DESC LIMIT 1",
		     0, NULL, res, err, errlen, NULL);
}

int ledger_run_create(PGconn *tgt, const char *settings, int64_t *run, char *err, size_t errlen)
{
	const char *p[1] = {settings};
	PGresult *r;

	if (query(tgt, "INSERT INTO mdw.runs (settings) VALUES ($1::jsonb) RETURNING id", 1, p, &r, err, errlen, NULL) <
	    0)
		return -1;
	*run = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

int ledger_run_resume(PGconn *tgt, int64_t run, char *err, size_t errlen)
{
	return run_exec(tgt, "UPDATE mdw.runs SET status = 'running', finished_at = NULL WHERE id = $1", run, 1, NULL,
			NULL, NULL, err, errlen);
}

int ledger_run_mode(PGconn *tgt, int64_t run, int incremental, int redrive, int catch_up, int *was_incremental,
		    int *was_redrive, int *was_catch_up, char *err, size_t errlen)
{
	char id[24];
	const char *p[4] = {id, incremental ? "true" : "false", redrive ? "true" : "false",
			    catch_up ? "true" : "false"};
	PGresult *r;

	snprintf(id, sizeof id, "%" PRId64, run);
	if (query(tgt,
		  "WITH u AS (UPDATE mdw.runs SET settings = settings || jsonb_build_object('incremental', $2::boolean, "
		  " 'redrive', $3::boolean, 'catch_up', $4::boolean) WHERE id = $1 AND NOT settings ? 'incremental' "
		  " RETURNING settings), "
		  "s AS (SELECT coalesce((SELECT settings FROM u), (SELECT settings FROM mdw.runs WHERE id = $1)) AS v) "
		  "SELECT v ->> 'incremental', coalesce(v ->> 'redrive', 'false'), coalesce(v ->> 'catch_up', 'false') "
		  "FROM s",
		  4, p, &r, err, errlen, NULL) < 0)
		return -1;
	*was_incremental = !strcmp(PQgetvalue(r, 0, 0), "true");
	*was_redrive = !strcmp(PQgetvalue(r, 0, 1), "true");
	*was_catch_up = !strcmp(PQgetvalue(r, 0, 2), "true");
	PQclear(r);
	return 0;
}

int ledger_run_row(PGconn *tgt, int64_t run, PGresult **res, char *err, size_t errlen)
{
	return run_query(tgt,
			 "SELECT status, coalesce(extract(epoch FROM started_at), 0), "
			 "coalesce(extract(epoch FROM finished_at), 0) FROM mdw.runs WHERE id = $1::bigint",
			 run, NULL, res, err, errlen);
}

int ledger_run_finish(PGconn *tgt, int64_t run, const char *status, const char *summary, char *err, size_t errlen)
{
	return run_exec(tgt, "UPDATE mdw.runs SET status = $2, finished_at = now(), summary = $3 WHERE id = $1", run, 3,
			status, summary, NULL, err, errlen);
}

int ledger_phase_ever_complete(PGconn *tgt, const char *phase, char *err, size_t errlen)
{
	const char *p[1] = {phase};
	PGresult *r;
	int yes;

	if (query(tgt, "SELECT 1 FROM mdw.run_phases WHERE phase = $1 AND status = 'complete' LIMIT 1", 1, p, &r, err,
		  errlen, NULL) < 0)
		return -1;
	yes = PQntuples(r) > 0;
	PQclear(r);
	return yes;
}

int ledger_complete_phases(PGconn *tgt, PGresult **res, char *err, size_t errlen)
{
	return query(tgt, "SELECT DISTINCT phase FROM mdw.run_phases WHERE status = 'complete'", 0, NULL, res, err,
		     errlen, NULL);
}

int ledger_phase_validations(PGconn *tgt, int64_t run, PGresult **res, char *err, size_t errlen)
{
	return run_query(tgt,
			 "SELECT phase, coalesce(validation->>'result', '') FROM mdw.run_phases "
			 "WHERE run_id = $1::bigint",
			 run, NULL, res, err, errlen);
}

int ledger_phase_fail(PGconn *tgt, int64_t run, const char *phase, const char *error, char *err, size_t errlen)
{
	return run_exec(tgt, "UPDATE mdw.run_phases SET status = 'failed', error = $3 WHERE run_id = $1 AND phase = $2",
			run, 3, phase, error, NULL, err, errlen);
}

int ledger_chunks_insert(PGconn *tgt, int64_t run, const char *phase, const char *los, const char *his,
			 const char *parts, char *err, size_t errlen)
{
	char id[24];
	const char *p[5] = {id, phase, los, his, parts};

	snprintf(id, sizeof id, "%" PRId64, run);
	return pgx_exec(tgt,
			"INSERT INTO mdw.chunks (run_id, phase, chunk_no, lo, hi, part) "
			"SELECT $1, $2, (g.n - 1)::int, g.lo, g.hi, g.part FROM unnest($3::bigint[], $4::bigint[], "
			"$5::text[]) WITH ORDINALITY AS g(lo, hi, part, n)",
			5, p, err, errlen, NULL);
}

int ledger_chunks_open(PGconn *tgt, int64_t run, const char *phase, PGresult **res, char *err, size_t errlen)
{
	return run_query(tgt,
			 "SELECT chunk_no, lo, hi, coalesce(part, '') FROM mdw.chunks WHERE run_id = $1 AND phase = $2 "
			 "AND status IN ('pending', 'running') ORDER BY chunk_no",
			 run, phase, res, err, errlen);
}

int ledger_chunks_stop(PGconn *tgt, int64_t run, const char *phase, const char *why, char *err, size_t errlen)
{
	return run_exec(tgt,
			"UPDATE mdw.chunks SET status = 'dead', last_error = $3, finished_at = now() "
			"WHERE run_id = $1 AND phase = $2 AND status IN ('pending', 'running')",
			run, 3, phase, why, NULL, err, errlen);
}

int ledger_chunks_covered(PGconn *tgt, const char *phase, PGresult **res, char *err, size_t errlen)
{
	const char *p[1] = {phase};

	return query(tgt,
		     "SELECT coalesce(array_agg(ch.lo ORDER BY ch.run_id, ch.lo)::text, '{}'), "
		     "coalesce(array_agg(ch.hi ORDER BY ch.run_id, ch.lo)::text, '{}'), "
		     "coalesce(array_agg(ch.rows_read ORDER BY ch.run_id, ch.lo)::text, '{}'), "
		     "coalesce(array_agg(extract(epoch FROM coalesce(rp.planned_at, rp.started_at)) ORDER BY ch.run_id, ch.lo)"
		     "::text, '{}'), coalesce(array_agg(ch.run_id ORDER BY ch.run_id, ch.lo)::text, '{}') "
		     "FROM mdw.chunks ch JOIN mdw.run_phases rp ON rp.run_id = ch.run_id AND rp.phase = ch.phase "
		     "WHERE ch.phase = $1 AND rp.status = 'complete' AND ch.status = 'done'",
		     1, p, res, err, errlen, NULL);
}

int ledger_dead_chunks(PGconn *tgt, int64_t run, const char *phase, PGresult **res, char *err, size_t errlen)
{
	return run_query(tgt,
			 "SELECT " LEDGER_DEAD_COLUMNS " FROM mdw.chunks WHERE run_id = $1 AND status = 'dead' "
			 "AND ($2 = '' OR phase = $2) ORDER BY phase, chunk_no",
			 run, phase, res, err, errlen);
}

int ledger_dead_chunks_retry(PGconn *tgt, int64_t run, const char *phase, PGresult **res, char *err, size_t errlen)
{
	return run_query(tgt,
			 "WITH d AS (UPDATE mdw.chunks SET status = 'pending', attempts = 0, last_error = NULL "
			 " WHERE run_id = $1 AND status = 'dead' AND ($2 = '' OR phase = $2) RETURNING *), "
			 "p AS (UPDATE mdw.run_phases SET status = 'running', error = NULL WHERE run_id = $1 "
			 " AND status = 'failed' AND phase IN (SELECT phase FROM d)) "
			 "SELECT " LEDGER_DEAD_COLUMNS " FROM d ORDER BY phase, chunk_no",
			 run, phase, res, err, errlen);
}

int ledger_first_dead_chunk(PGconn *tgt, int64_t run, PGresult **res, char *err, size_t errlen)
{
	return run_query(tgt,
			 "SELECT phase, chunk_no, coalesce(last_error, 'no error recorded') FROM mdw.chunks "
			 "WHERE run_id = $1 AND status = 'dead' ORDER BY finished_at, phase, chunk_no LIMIT 1",
			 run, NULL, res, err, errlen);
}

int ledger_phase_stats(PGconn *tgt, int64_t run, int with_flags, PGresult **res, char *err, size_t errlen)
{
	return run_query(tgt,
			 "SELECT rp.phase, rp.status, coalesce(rp.source_rows, 0), count(c.chunk_no), "
			 "count(*) FILTER (WHERE c.status = 'done'), count(*) FILTER (WHERE c.status = 'dead'), "
			 "count(*) FILTER (WHERE c.status IN ('pending', 'running')), "
			 "coalesce(sum(c.rows_read), 0), coalesce(sum(c.rows_inserted), 0), "
			 "coalesce(sum(c.rows_existing), 0), coalesce(sum(c.rows_merged), 0), "
			 "coalesce(sum(c.rows_rejected), 0), "
			 "coalesce(sum(c.rows_read) FILTER (WHERE c.finished_at > now() - interval '60 s'), 0) / 60.0, "
			 "extract(epoch FROM rp.started_at), coalesce(extract(epoch FROM rp.completed_at), 0), "
			 "coalesce(extract(epoch FROM max(c.finished_at) - min(c.started_at)), 0), coalesce(rp.error, ''), "
			 "CASE WHEN $2::boolean THEN (SELECT count(*) FROM mdw.flags f WHERE f.run_id = $1 "
			 "AND f.phase = rp.phase) ELSE 0 END, "
			 "coalesce(sum(c.rows_updated), 0) "
			 "FROM mdw.run_phases rp LEFT JOIN mdw.chunks c ON c.run_id = rp.run_id AND c.phase = rp.phase "
			 "WHERE rp.run_id = $1 GROUP BY rp.phase, rp.status, rp.source_rows, rp.started_at, rp.completed_at, "
			 "rp.error",
			 run, with_flags ? "true" : "false", res, err, errlen);
}

int ledger_phase_balance(PGconn *tgt, int64_t run, const char *phase, PGresult **res, char *err, size_t errlen)
{
	return run_query(tgt,
			 "SELECT rp.source_rows, coalesce(sum(c.rows_read), 0), "
			 "coalesce(sum(c.rows_inserted + c.rows_existing + c.rows_updated + c.rows_merged + c.rows_rejected), 0), "
			 "count(*) FILTER (WHERE c.rows_read <> c.rows_inserted + c.rows_existing + c.rows_updated + "
			 "c.rows_merged + c.rows_rejected), count(*) FILTER (WHERE c.status <> 'done') "
			 "FROM mdw.run_phases rp LEFT JOIN mdw.chunks c ON c.run_id = rp.run_id AND c.phase = rp.phase "
			 "WHERE rp.run_id = $1 AND rp.phase = $2 GROUP BY rp.source_rows",
			 run, phase, res, err, errlen);
}

int ledger_chunk_totals(PGconn *tgt, int64_t run, PGresult **res, char *err, size_t errlen)
{
	return run_query(tgt,
			 "SELECT phase, status, count(*), sum(rows_read), sum(rows_inserted), sum(rows_existing), "
			 "sum(rows_merged), sum(rows_rejected), sum(rows_updated) FROM mdw.chunks WHERE run_id = $1 "
			 "GROUP BY phase, status",
			 run, NULL, res, err, errlen);
}

int ledger_chunk_durations(PGconn *tgt, int64_t run, PGresult **res, char *err, size_t errlen)
{
	return run_query(tgt,
			 "SELECT phase, extract(epoch FROM finished_at - started_at) FROM mdw.chunks "
			 "WHERE run_id = $1 AND status = 'done' AND started_at IS NOT NULL AND finished_at IS NOT NULL",
			 run, NULL, res, err, errlen);
}

int ledger_rows_series(PGconn *tgt, int64_t run, PGresult **res, char *err, size_t errlen)
{
	return run_query(tgt,
			 "WITH d AS (SELECT phase, finished_at, rows_read FROM mdw.chunks WHERE run_id = $1 AND status = 'done' "
			 " AND finished_at IS NOT NULL), "
			 "b AS (SELECT min(finished_at) AS t0, greatest(1, ceil(extract(epoch FROM max(finished_at) - min(finished_at)) "
			 " / 60.0))::bigint AS w FROM d) "
			 "SELECT d.phase, (floor(extract(epoch FROM d.finished_at - b.t0) / b.w))::int, b.w, sum(d.rows_read), "
			 " extract(epoch FROM b.t0) FROM d, b GROUP BY 1, 2, 3, 5 ORDER BY 2",
			 run, NULL, res, err, errlen);
}

int ledger_rejects_by_reason(PGconn *tgt, int64_t run, const char *phase, PGresult **res, char *err, size_t errlen)
{
	return run_query(tgt,
			 "SELECT reason, count(*) FROM mdw.rejects WHERE run_id = $1 AND phase = $2 GROUP BY reason "
			 "ORDER BY count(*) DESC, reason",
			 run, phase, res, err, errlen);
}

int ledger_rejects_by_phase_reason(PGconn *tgt, int64_t run, PGresult **res, char *err, size_t errlen)
{
	return run_query(tgt,
			 "SELECT phase, reason, count(*) FROM mdw.rejects WHERE run_id = $1::bigint GROUP BY 1, 2 "
			 "ORDER BY 1, 2",
			 run, NULL, res, err, errlen);
}

int ledger_flags_present(PGconn *tgt, int *present, char *err, size_t errlen)
{
	return table_present(tgt, "mdw.flags", present, err, errlen);
}

int ledger_flags_by_phase_code(PGconn *tgt, int64_t run, PGresult **res, char *err, size_t errlen)
{
	return run_query(tgt,
			 "SELECT phase, code, count(*) FROM mdw.flags WHERE run_id = $1::bigint GROUP BY 1, 2 "
			 "ORDER BY 1, 2",
			 run, NULL, res, err, errlen);
}

int ledger_flags_by_phase(PGconn *tgt, int64_t run, PGresult **res, char *err, size_t errlen)
{
	return run_query(tgt, "SELECT phase, count(*) FROM mdw.flags WHERE run_id = $1 GROUP BY phase", run, NULL, res,
			 err, errlen);
}

int ledger_phase_rate(PGconn *tgt, const char *phase, double *rows, double *seconds, char *err, size_t errlen)
{
	const char *p[1] = {phase};
	PGresult *r;

	if (query(tgt,
		  "SELECT coalesce(sum(n), 0), coalesce(sum(s), 0) FROM (SELECT run_id, sum(rows_read) AS n, "
		  "extract(epoch FROM max(finished_at) - min(started_at)) AS s FROM mdw.chunks "
		  "WHERE phase = $1 AND status = 'done' AND rows_read > 0 AND started_at IS NOT NULL "
		  "AND finished_at IS NOT NULL GROUP BY run_id ORDER BY run_id DESC LIMIT 3) x",
		  1, p, &r, err, errlen, NULL) < 0)
		return -1;
	*rows = strtod(PQgetvalue(r, 0, 0), NULL);
	*seconds = strtod(PQgetvalue(r, 0, 1), NULL);
	PQclear(r);
	return 0;
}

int ledger_present(PGconn *tgt, int *present, char *err, size_t errlen)
{
	return table_present(tgt, "mdw.chunks", present, err, errlen);
}

int ledger_resumable_run(PGconn *tgt, long long *run, long long *left, char *err, size_t errlen)
{
	PGresult *r;

	*run = *left = 0;
	if (query(tgt,
		  "SELECT r.id, (SELECT count(*) FROM mdw.chunks ch WHERE ch.run_id = r.id AND ch.status <> "
		  "'done') FROM mdw.runs r WHERE r.status <> 'complete' ORDER BY r.id DESC LIMIT 1",
		  0, NULL, &r, err, errlen, NULL) < 0)
		return -1;
	if (PQntuples(r) == 1) {
		*run = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		*left = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	}
	PQclear(r);
	return 0;
}

int ledger_reopen_rolled_back(PGconn *tgt, int64_t run, char *err, size_t errlen)
{
	PGresult *r;
	int n;

	if (run_query(tgt,
		      "WITH p AS (DELETE FROM mdw.run_phases WHERE run_id = $1 AND status = 'rolled_back' RETURNING phase), "
		      "c AS (DELETE FROM mdw.chunks ch USING p WHERE ch.run_id = $1 AND ch.phase = p.phase), "
		      "j AS (DELETE FROM mdw.rejects j USING p WHERE j.run_id = $1 AND j.phase = p.phase) "
		      "SELECT count(*) FROM p",
		      run, NULL, &r, err, errlen) < 0)
		return -1;
	n = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

const char ledger_sql_catchup_phases[] =
	"SELECT rp.phase, rp.status, coalesce(sum(c.rows_updated), 0) AS updated, "
	"coalesce(sum(c.rows_inserted), 0) AS inserted, "
	"(SELECT count(*) FROM mdw.catchup_rows u WHERE u.run_id = rp.run_id AND u.phase = rp.phase "
	" AND u.action = 'conflict') AS conflicts, "
	"(SELECT count(*) FROM mdw.catchup_deleted d WHERE d.last_run = rp.run_id AND d.phase = rp.phase "
	" AND d.applied_at IS NULL) AS deleted "
	"FROM mdw.run_phases rp LEFT JOIN mdw.chunks c ON c.run_id = rp.run_id AND c.phase = rp.phase "
	"AND c.status = 'done' WHERE rp.run_id = $1 GROUP BY rp.run_id, rp.phase, rp.status ORDER BY rp.phase";

const char ledger_sql_rollback_reset[] =
	"WITH u AS (UPDATE mdw.run_phases rp SET status = 'rolled_back' WHERE rp.status <> 'rolled_back' "
	" AND ((rp.phase = ANY($1::text[]) AND ($2::bigint = 0 OR rp.run_id = $2::bigint)) "
	"  OR (rp.phase, rp.run_id) IN (SELECT phase, run_id FROM rb_runs)) RETURNING rp.run_id, rp.phase), "
	"c AS (UPDATE mdw.chunks ch SET status = 'rolled_back' FROM u "
	" WHERE ch.run_id = u.run_id AND ch.phase = u.phase), "
	"l AS (INSERT INTO rb_ledger SELECT phase, run_id FROM u) "
	"SELECT phase, array_agg(run_id ORDER BY run_id)::text FROM u GROUP BY phase ORDER BY phase";

const char ledger_fmt_embed_counts[] =
	"SELECT %s, (SELECT count(*) FROM public.ai_embedding_sources), "
	"(SELECT coalesce(sum(rows_rejected), 0) FROM mdw.chunks WHERE run_id = $1 AND phase = 'embeddings'), "
	"(SELECT count(*) FROM public.ai_embedding_sources s WHERE NOT CASE s.content_type %sELSE false END), "
	"(SELECT coalesce(sum(rows_inserted), 0) FROM mdw.chunks WHERE run_id = $1 AND phase = 'embeddings'), "
	"(SELECT count(*) FROM public.ai_embeddings WHERE mdw_run_id = $1::bigint)";

/*
 * An incremental run read only its chunks' ranges: the phase's counts are of
 * the rows and merges of those ranges (a full run's ranges cover every id);
 * a catch-up run read only the rows it listed to update or insert
 * (coordinator/catchup.c): the listed rows of those ranges (an 'update'
 * row that its chunk found changed since the plan, and left as a conflict,
 * keeps the row version the plan listed it with).
 */
#define IN_RUN_RANGES(col)                                                                                             \
	"((NOT (SELECT coalesce((settings->>'catch_up')::boolean, false) FROM mdw.runs WHERE id = $1::bigint) OR " col \
	" IN (SELECT u.legacy_id FROM mdw.catchup_rows u WHERE u.run_id = $1::bigint "                                 \
	"AND u.phase = $2 AND (u.action IN ('update', 'insert') OR u.target_xmin IS NOT NULL))) AND "                  \
	"(NOT (SELECT coalesce((settings->>'incremental')::boolean, false) FROM mdw.runs WHERE id = $1::bigint) "      \
	"OR EXISTS (SELECT 1 FROM mdw.chunks k WHERE k.run_id = $1::bigint AND k.phase = $2 AND " col                  \
	" BETWEEN k.lo AND k.hi)))"
/*
 * IN (...), not EXISTS: one hashed list of the listed ids, not a subquery per
 * row of the table; and first, so that a catch-up run looks up the chunk
 * ranges of its listed rows only (1.2 s over 650k projects otherwise).
 */
const char ledger_fmt_phase_counts[] =
	"SELECT (SELECT coalesce(sum(rows_inserted), 0) FROM mdw.chunks WHERE run_id = $1 AND phase = $2), x.ins, "
	"(SELECT coalesce(sum(rows_rejected), 0) FROM mdw.chunks WHERE run_id = $1 AND phase = $2), "
	"(SELECT count(*) FROM mdw.merges m WHERE phase = $2 AND " IN_RUN_RANGES(
		"m.legacy_id") "), x.rows "
			       "FROM (SELECT count(*) FILTER (WHERE t.mdw_run_id = $1::bigint) AS ins, "
			       "count(*) FILTER (WHERE t.%s IS NOT NULL AND " IN_RUN_RANGES(
				       "t.%s") ") AS rows FROM public.%s t) x";
#undef IN_RUN_RANGES
