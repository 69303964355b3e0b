/* The worker's event loop and queue protocol (see worker.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "chunk.h"
#include "mdw/chunk_codec.h"
#include "mdw/ledger.h"
#include "mdw/log.h"
#include "mdw/pgx.h"
#include "mdw/queue.h"
#include "phase_ops.h"
#include "provider.h"
#include "worker.h"

#define HEARTBEAT_S 2.0

static double now_s(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static void heartbeat(struct worker *w)
{
	char key[128], val[96];
	redisReply *rep;

	if (!w->run)
		return;
	mdwq_key(key, sizeof key, w->run, "workers", NULL);
	if (w->busy)
		snprintf(val, sizeof val, "%lld %s#%d", (long long)(now_s() * 1000), w->phase, w->chunk_no);
	else
		snprintf(val, sizeof val, "%lld idle", (long long)(now_s() * 1000));
	rep = rds_cmd(&w->r, "HSET %s %s %s", key, w->id, val);
	freeReplyObject(rep);
}

static void heartbeat_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop, (void)revents;
	heartbeat(t->data);
}

/* Reset the idle time of the entry in hand, so that no one takes it over. */
static void lease_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = t->data;

	(void)loop, (void)revents;
	if (w->busy && mdwq_lease(&w->r, w->run, w->phase, w->id, w->entry) < 0)
		mdw_warn("worker=%s phase=%s chunk=%d msg=\"lease refresh failed\" error=\"%s\"", w->id, w->phase,
			 w->chunk_no, w->r.errstr);
}

/*
 * Let timers and signals run while a chunk is in hand (the tick timer is
 * stopped then): the lease and heartbeat timers, the signal watchers. The
 * chunk is worked outside the loop (worker_run calls tick once ev_run has
 * returned), so this never runs the loop from inside one of its callbacks.
 */
static void touch(void *arg)
{
	struct worker *w = arg;
	ev_now_update(w->loop);
	ev_run(w->loop, EVRUN_NOWAIT);
}

static void stop_cb(struct ev_loop *loop, ev_signal *s, int revents)
{
	struct worker *w = s->data;
	(void)revents;
	if (!w->stopping)
		mdw_info("worker=%s msg=\"signal received: finishing the chunk in hand, then exiting\" signal=%d",
			 w->id, s->signum);
	w->stopping = 1;
	if (!w->busy)
		ev_break(loop, EVBREAK_ALL);
}

/*
 * MDW_FK_CHECKS=phase: can this role skip the per-row FK triggers
 * (superuser, or GRANT SET ON PARAMETER session_replication_role)? Without
 * the privilege Postgres checks each row, as with MDW_FK_CHECKS=row.
 */
static void probe_fk_mode(struct worker *w)
{
	int was = w->fk_by_phase;
	char err[256];

	w->fk_by_phase = 0;
	if (strcmp(w->cfg.fk_checks, "phase") != 0)
		return;
	if (pgx_exec(w->tgt, "SET session_replication_role = replica", 0, NULL, err, sizeof err, NULL) < 0) {
		if (was || !w->fk_warned)
			mdw_warn("worker=%s msg=\"foreign keys checked row by row: the target role may not set "
				 "session_replication_role (GRANT SET ON PARAMETER, see sql/roles.sql)\" error=\"%s\"",
				 w->id, err);
		w->fk_warned = 1;
		return;
	}
	PQclear(PQexec(w->tgt, "RESET session_replication_role"));
	w->fk_by_phase = 1;
}

/*
 * A ledger row lock held by another session (a stalled worker, an operator's
 * psql) is waited for at most MDW_LOCK_TIMEOUT_MS, then the chunk is "not
 * mine now" (CHUNK_NOT_NOW). chunk_begin lifts the limit inside a chunk's own
 * transaction once it holds the row.
 */
static void set_lock_timeout(struct worker *w)
{
	char ms[24], err[256];
	const char *p[1] = {ms};

	snprintf(ms, sizeof ms, "%lld", w->cfg.lock_timeout_ms);
	if (pgx_exec(w->tgt, "SELECT set_config('lock_timeout', $1, false)", 1, p, err, sizeof err, NULL) < 0)
		mdw_warn("worker=%s msg=\"cannot set lock_timeout\" error=\"%s\"", w->id, err);
}

static int pg_ready(struct worker *w, PGconn **c, const char *dsn, const char *what)
{
	char err[512], app[96];

	if (*c && PQstatus(*c) == CONNECTION_OK)
		return 0;
	if (*c)
		PQfinish(*c);
	/* a DBA sees which worker a session is */
	snprintf(app, sizeof app, "mdw-worker/%s", w->id);
	*c = c == &w->src ? pgx_connect_source(dsn, app, w->cfg.source_statement_timeout_ms, err, sizeof err)
			  : pgx_connect(dsn, app, err, sizeof err);
	if (!*c) {
		mdw_warn("worker=%s msg=\"cannot connect to the %s database\" error=\"%s\"", w->id, what, err);
		return -1;
	}
	if (c == &w->tgt) {
		set_lock_timeout(w);
		probe_fk_mode(w);
	}
	return 0;
}

static int connections_ready(struct worker *w)
{
	return pg_ready(w, &w->tgt, w->cfg.target_dsn, "target") == 0 &&
	       pg_ready(w, &w->src, w->cfg.source_dsn, "legacy") == 0;
}

/* Status of run RUN in the ledger: 'running', 'complete', 'failed', or NULL. Copies into OUT. */
static int run_status(struct worker *w, int64_t run, char *out, size_t outlen)
{
	char err[256];
	PGresult *r;

	if (ledger_run_row(w->tgt, run, &r, err, sizeof err) < 0)
		return -1;
	snprintf(out, outlen, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return 0;
}

/* Join the current run, or notice that the joined one is over. 1 = a run to work on. */
static int check_run(struct worker *w)
{
	char status[32];
	redisReply *rep;
	int64_t cur = 0;

	rep = rds_cmd(&w->r, "GET " MDWQ_CURRENT_RUN);
	if (!rep)
		return -1;
	if (rep->type == REDIS_REPLY_STRING)
		cur = strtoll(rep->str, NULL, 10);
	freeReplyObject(rep);
	if (w->run) {
		if (run_status(w, w->run, status, sizeof status) < 0)
			return -1;
		if (strcmp(status, "running") != 0) {
			mdw_info("worker=%s run=%" PRId64 " msg=\"run is over\" status=%s chunks=%lld", w->id, w->run,
				 status[0] ? status : "unknown", w->chunks_done);
			if (w->cfg.exit_when_done) {
				w->stopping = 1;
				return 0;
			}
			w->run = 0;
		}
	}
	if (!w->run && cur > 0 && cur != w->run) {
		if (run_status(w, cur, status, sizeof status) < 0)
			return -1;
		if (strcmp(status, "running") == 0) {
			w->run = cur;
			mdw_info("worker=%s run=%" PRId64 " msg=\"joined run\"", w->id, w->run);
			heartbeat(w);
		}
	}
	return w->run ? 1 : 0;
}

static void dead_letter(struct worker *w, const struct mdwq_entry *e, const char *reason)
{
	mdw_warn("worker=%s phase=%s entry=%s msg=\"dead-lettered\" reason=\"%s\" deliveries=%lld", w->id, e->phase,
		 e->id, reason, e->deliveries);
	if (mdwq_dead_letter(&w->r, w->run, e->phase, e->id, e->desc, e->body, e->body_len, reason, e->deliveries) < 0)
		mdw_error("worker=%s phase=%s entry=%s msg=\"cannot dead-letter\" error=\"%s\"", w->id, e->phase, e->id,
			  w->r.errstr);
}

/*
 * A retry in place after a transient error counts as a delivery: an error
 * that every attempt meets (a statement_timeout every insert exceeds, a
 * provider that keeps answering 5xx) must reach max_attempts and the dead
 * letters like any other. XCLAIM without JUSTID adds one to the entry's
 * delivery count in Redis, so the count survives this worker. A lost
 * connection (the database restarting, the network) is not the chunk's
 * doing and does not count, nor does a retry Redis cannot record. Returns
 * the entry's deliveries after this retry.
 */
static long long count_retry(struct worker *w, const struct mdwq_entry *e, const char *why)
{
	int lost = PQstatus(w->tgt) != CONNECTION_OK || PQstatus(w->src) != CONNECTION_OK ||
		   strncmp(why, "08", 2) == 0 || strncmp(why, "57P", 3) == 0 || !strcmp(why, "database unreachable");

	if (lost)
		return e->deliveries;
	return mdwq_count_retry(&w->r, w->run, e->phase, w->id, e->id, e->deliveries);
}

/*
 * Add this worker's embedding request counts since the last call to the
 * run's hash mdw:{RUN}:embed (read by the coordinator's /metrics).
 */
static void publish_embed_counts(struct worker *w)
{
	long long now[4], *last = w->embed_published;
	static const char *const names[4] = {"ok", "throttled", "failed", "limiter_waits"};
	char key[128];

	provider_counts(w->provider, &now[0], &now[1], &now[2], &now[3]);
	mdwq_key(key, sizeof key, w->run, "embed", NULL);
	for (int i = 0; i < 4; i++)
		if (now[i] > last[i]) {
			redisReply *rep = rds_cmd(&w->r, "HINCRBY %s %s %lld", key, names[i], now[i] - last[i]);
			if (rep && rep->type == REDIS_REPLY_INTEGER)
				last[i] = now[i];
			freeReplyObject(rep);
		}
}

/*
 * CHUNK_NOT_NOW: say why (WHY), give the delivery back and, when the target
 * refuses writes (read-only, disk full), drop the session (a new one sees
 * the database's defaults once the fault is lifted) and wait longer each
 * time before looking for work again (tick): a worker does not hammer a
 * refusing target, nor flood the log, for as long as the fault lasts.
 */
static void not_now(struct worker *w, const struct mdwq_entry *e, int chunk_no, const char *why)
{
	const char *phase = e->phase;
	int locked = strncmp(why, "55P03", 5) == 0;

	if (locked)
		mdw_info("worker=%s phase=%s chunk=%d msg=\"not mine now: left pending, not counted\" error=\"%s\" "
			 "deliveries=%lld",
			 w->id, phase, chunk_no, why, e->deliveries);
	else {
		w->refused_wait_ms = mdw_backoff_next(&w->refused_bo);
		mdw_warn("worker=%s phase=%s chunk=%d msg=\"target refuses writes: not mine now, left pending, not "
			 "counted\" error=\"%s\" wait_ms=%ld hint=\"make the target writable or free space\"",
			 w->id, phase, chunk_no, why, w->refused_wait_ms);
	}
	/* the chunk was not tried: it must not come closer to the dead letters */
	if (mdwq_give_back(&w->r, w->run, phase, w->id, e->id, e->deliveries) < 0)
		mdw_warn("worker=%s entry=%s msg=\"cannot give the delivery back\" error=\"%s\"", w->id, e->id,
			 w->r.errstr);
	if (!locked) {
		PQfinish(w->tgt);
		w->tgt = NULL;
	}
}

/* The chunk that entry E names, or -1 when E is no chunk of this run and phase (then dead-lettered). */
static int entry_chunk(struct worker *w, const struct mdwq_entry *e, struct mdw_chunk *c)
{
	char why[512], reason[600];

	if (!e->body) {
		dead_letter(w, e, "entry has no body field");
		return -1;
	}
	if (mdw_chunk_decode(e->body, e->body_len, c, why, sizeof why) < 0) {
		snprintf(reason, sizeof reason, "undecodable body: %s", why);
		dead_letter(w, e, reason);
		return -1;
	}
	if (c->run != w->run) {
		snprintf(why, sizeof why, "chunk of run %" PRId64 " on the stream of run %" PRId64, c->run, w->run);
		dead_letter(w, e, why);
		return -1;
	}
	if (strcmp(mdw_phases[c->phase].name, e->phase) != 0) {
		snprintf(why, sizeof why, "chunk of phase %s on the stream of phase %s", mdw_phases[c->phase].name,
			 e->phase);
		dead_letter(w, e, why);
		return -1;
	}
	return 0;
}

/* Entry E was delivered more than max_attempts times: its chunk is dead, unless the ledger settled it. */
static void settle_overdue(struct worker *w, const struct mdwq_entry *e, const struct mdw_chunk *c)
{
	char last[256], err[256], why[512];
	int rc;

	ledger_chunk_last_error(w->tgt, c, last, sizeof last); /* for the dead letter */
	snprintf(why, sizeof why, "delivered %lld times (max %lld); last error: %s", e->deliveries, w->cfg.max_attempts,
		 last);
	if ((rc = ledger_chunk_dead(w->tgt, c, why, err, sizeof err)) < 0) {
		mdw_warn("worker=%s phase=%s chunk=%d msg=\"cannot mark the chunk dead\" error=\"%s\"", w->id, e->phase,
			 (int)c->chunk_no, err);
		return; /* stays pending: retried later */
	}
	if (rc == 1) {
		/* done (its ack was lost), dead or rolled back: the ledger wins over the delivery count */
		mdw_info("worker=%s phase=%s chunk=%d msg=\"chunk settled in the ledger: acknowledged\" deliveries=%lld",
			 w->id, e->phase, (int)c->chunk_no, e->deliveries);
		if (mdwq_ack(&w->r, w->run, e->phase, e->id) < 0) /* else redelivered: the same no-op again */
			mdw_warn("worker=%s phase=%s chunk=%d msg=\"ack failed\" error=\"%s\"", w->id, e->phase,
				 (int)c->chunk_no, w->r.errstr);
		return;
	}
	dead_letter(w, e, why);
}

/* The provider of this run for an embeddings chunk C. -1: a configuration error, the worker stops. */
static int ensure_provider(struct worker *w, const struct mdw_chunk *c)
{
	char why[512];

	if (mdw_phases[c->phase].kind != MDW_KIND_EMBEDDINGS || (w->provider && w->provider_run == w->run))
		return 0;
	provider_close(w->provider);
	memset(w->embed_published, 0, sizeof w->embed_published);
	w->provider = provider_open(&w->cfg, w->loop, &w->r, w->run, why, sizeof why);
	w->provider_run = w->run;
	if (w->provider)
		return 0;
	/* a configuration error: every attempt would fail the same way */
	mdw_error("worker=%s phase=%s msg=\"cannot open the embedding provider: stopping\" error=\"%s\"", w->id,
		  mdw_phases[c->phase].name, why);
	chunk_record_error(w->tgt, c, why);
	w->stopping = 1;
	w->exit_code = 2;
	return -1;
}

/* The one dispatch by phase kind. */
static chunk_process_fn *const process_by_kind[] = {
	[MDW_KIND_RELATIONAL] = chunk_rel_process,
	[MDW_KIND_EMBEDDINGS] = chunk_embed_process,
};

/*
 * One attempt at chunk C: its outcome, what it counted (N), why it failed
 * (WHY). The connections are checked (and made again) first, and only then
 * handed to the chunk: a reconnect frees the sessions it replaces.
 */
static enum chunk_outcome attempt(struct worker *w, const struct mdw_chunk *c, struct mdw_counts *n, char *why,
				  size_t whylen)
{
	struct chunk_ctx ctx;

	if (!connections_ready(w)) {
		snprintf(why, whylen, "database unreachable");
		return CHUNK_RETRY;
	}
	ctx = (struct chunk_ctx){.src = w->src,
				 .tgt = w->tgt,
				 .worker_id = w->id,
				 .touch = touch,
				 .touch_arg = w,
				 .redis = &w->r,
				 .lease_ms = w->cfg.lease_ms,
				 .max_bytes = w->cfg.chunk_max_bytes,
				 .embed_slice = (int)w->cfg.embed_concurrency * 2,
				 .embed_identifiers = w->cfg.embed_identifiers,
				 .fk_by_phase = w->fk_by_phase,
				 .part_rows = w->part_rows,
				 .loop = w->loop,
				 .source_max_connections = w->cfg.source_max_connections,
				 .source_rows_per_s = w->cfg.source_rows_per_s,
				 .provider = w->provider};
	return process_by_kind[mdw_phases[c->phase].kind](&ctx, c, n, why, whylen);
}

/* Acknowledge entry E of chunk C, settled in the ledger (RES: CHUNK_OK done now, or CHUNK_ALREADY). */
static void acknowledge(struct worker *w, const struct mdwq_entry *e, const struct mdw_chunk *c, enum chunk_outcome res,
			const struct mdw_counts *n, double t0)
{
	if (res == CHUNK_OK) {
		w->chunks_done++;
		mdw_backoff_reset(&w->refused_bo); /* the target takes writes again */
		mdw_info("worker=%s phase=%s chunk=%d msg=\"chunk done\" read=%lld inserted=%lld existing=%lld "
			 "updated=%lld merged=%lld rejected=%lld ms=%.0f",
			 w->id, e->phase, (int)c->chunk_no, n->read, n->inserted, n->existing, n->updated, n->merged,
			 n->rejected, (now_s() - t0) * 1000);
	} else {
		mdw_info("worker=%s phase=%s chunk=%d msg=\"chunk already settled (done, dead or rolled back): "
			 "acknowledged\"",
			 w->id, e->phase, (int)c->chunk_no);
	}
	while (mdwq_ack(&w->r, w->run, e->phase, e->id) < 0) {
		/* the commit is what counts: a lost ack only means a no-op redelivery */
		mdw_warn("worker=%s phase=%s chunk=%d msg=\"ack failed, retrying\" error=\"%s\"", w->id, e->phase,
			 (int)c->chunk_no, w->r.errstr);
		if (w->stopping)
			break;
		mdw_sleep_ms(mdw_backoff_next(&w->bo), &w->stopping);
		touch(w);
	}
}

/* A failure that retrying cannot help (and would only repeat refused calls): chunk dead, phase failed, stop. */
static void fail_fatal(struct worker *w, const struct mdwq_entry *e, const struct mdw_chunk *c, const char *why)
{
	char err[256], fatal[600];

	snprintf(fatal, sizeof fatal, "fatal: %s", why);
	mdw_error("worker=%s phase=%s chunk=%d msg=\"fatal error: chunk dead, phase failed, worker stopping\" "
		  "error=\"%s\"",
		  w->id, e->phase, (int)c->chunk_no, why);
	if (ledger_chunk_dead(w->tgt, c, fatal, err, sizeof err) == 0) {
		chunk_fail_phase(w->tgt, c, fatal);
		dead_letter(w, e, fatal);
	}
	w->stopping = 1;
	w->exit_code = 3;
}

/*
 * After a transient error: count the retry and back off, keeping the lease.
 * 1: try the same chunk again; 0: leave it (attempts spent, or stopping).
 */
static int retry_later(struct worker *w, struct mdwq_entry *e, const struct mdw_chunk *c, const char *why)
{
	long ms;

	e->deliveries = count_retry(w, e, why);
	if (e->deliveries > w->cfg.max_attempts) {
		mdw_error("worker=%s phase=%s chunk=%d msg=\"transient error on every attempt: chunk left for the dead "
			  "letters\" error=\"%s\" deliveries=%lld",
			  w->id, e->phase, (int)c->chunk_no, why, e->deliveries);
		chunk_record_error(w->tgt, c, why);
		return 0; /* the next taker finds it over max_attempts and dead-letters it */
	}
	ms = mdw_backoff_next(&w->bo);
	mdw_warn("worker=%s phase=%s chunk=%d msg=\"transient error: retrying\" error=\"%s\" wait_ms=%ld", w->id,
		 e->phase, (int)c->chunk_no, why, ms);
	if (w->stopping) {
		mdw_info("worker=%s phase=%s chunk=%d msg=\"stopping: chunk left for another worker\"", w->id, e->phase,
			 (int)c->chunk_no);
		return 0;
	}
	for (long left = ms; left > 0 && !w->stopping; left -= 100) {
		mdw_sleep_ms(left < 100 ? left : 100, NULL);
		touch(w);
	}
	return 1;
}

/*
 * Work chunk C of entry E until it is settled, left for a retry, or the
 * worker stops: the one place that acts on a chunk's outcome.
 */
static void work(struct worker *w, struct mdwq_entry *e, const struct mdw_chunk *c)
{
	for (;;) {
		struct mdw_counts n = {0};
		double t0 = now_s();
		char why[512];
		enum chunk_outcome res;

		if (ensure_provider(w, c) < 0)
			return;
		res = attempt(w, c, &n, why, sizeof why);
		switch (res) {
		case CHUNK_OK:
		case CHUNK_ALREADY:
			acknowledge(w, e, c, res, &n, t0);
			return;
		case CHUNK_NOT_NOW:
			not_now(w, e, (int)c->chunk_no, why);
			return;
		case CHUNK_DEAD:
			dead_letter(w, e, why);
			return;
		case CHUNK_FATAL:
			fail_fatal(w, e, c, why);
			return;
		case CHUNK_RETRY:
			if (retry_later(w, e, c, why))
				continue;
			return;
		case CHUNK_REJECT_ROWS: /* a step's outcome only, never a chunk's */
		case CHUNK_FAILED:
			break;
		}
		mdw_error("worker=%s phase=%s chunk=%d msg=\"chunk failed: left for a retry\" error=\"%s\" "
			  "deliveries=%lld",
			  w->id, e->phase, (int)c->chunk_no, why, e->deliveries);
		chunk_record_error(w->tgt, c, why);
		return;
	}
}

/* Handle entry E of a phase stream. */
static void handle(struct worker *w, struct mdwq_entry *e)
{
	struct mdw_chunk c;

	if (entry_chunk(w, e, &c) < 0)
		return;
	if (e->deliveries > w->cfg.max_attempts) {
		settle_overdue(w, e, &c);
		return;
	}
	w->busy = 1;
	snprintf(w->entry, sizeof w->entry, "%s", e->id);
	snprintf(w->phase, sizeof w->phase, "%s", e->phase);
	w->chunk_no = c.chunk_no;
	heartbeat(w);
	mdw_debug("worker=%s phase=%s chunk=%d msg=\"chunk started\" deliveries=%lld", w->id, e->phase, (int)c.chunk_no,
		  e->deliveries);
	mdw_backoff_reset(&w->bo);
	work(w, e, &c);
	if (w->provider)
		publish_embed_counts(w);
	w->busy = 0;
	heartbeat(w);
}

/* Take over one entry idle past the lease, from any phase stream. 1 if one was handled. */
static int autoclaim(struct worker *w)
{
	for (int p = 0; p < MDW_NPHASES; p++) {
		struct mdwq_entry e;
		if (mdwq_take_over(&w->r, w->run, mdw_phases[p].name, w->id, w->cfg.lease_ms, &e) != 1)
			continue;
		mdw_info("worker=%s phase=%s entry=%s msg=\"took over an expired lease\" deliveries=%lld", w->id,
			 e.phase, e.id, e.deliveries);
		handle(w, &e);
		mdwq_entry_free(&e);
		return 1;
	}
	return 0;
}

/* Pop one new entry, earliest phase first. 1 if one was handled, 0 if none, -1 on error. */
static int pop(struct worker *w)
{
	for (int p = 0; p < MDW_NPHASES; p++) {
		struct mdwq_entry e;
		int rc = mdwq_read_new(&w->r, w->run, mdw_phases[p].name, w->id, &e);
		if (rc == -1)
			return -1;
		if (rc == -2)
			mdw_warn("worker=%s phase=%s msg=\"XREADGROUP failed\" error=\"%s\"", w->id, mdw_phases[p].name,
				 w->r.errstr);
		if (rc != 1)
			continue;
		handle(w, &e);
		mdwq_entry_free(&e);
		return 1;
	}
	return 0;
}

/*
 * Look for work once: join or leave the run, take over or pop one entry and
 * work it, or wait for the coordinator; then re-arm the tick timer. 1 when
 * the worker stops.
 */
static int tick(struct worker *w)
{
	struct ev_loop *loop = w->loop;
	ev_timer *t = &w->tick;
	double next = w->cfg.poll_ms / 1000.0;
	int rc;

	if (w->stopping)
		return 1;
	if (!connections_ready(w)) {
		next = mdw_backoff_next(&w->bo) / 1000.0;
		goto again;
	}
	if (!w->run || now_s() - w->last_run_check > 1.0) {
		w->last_run_check = now_s();
		rc = check_run(w);
		if (rc < 0) {
			mdw_warn("worker=%s msg=\"cannot read the current run\" error=\"%s\"", w->id,
				 w->r.errstr[0] ? w->r.errstr : "target database");
			next = mdw_backoff_next(&w->bo) / 1000.0;
			goto again;
		}
		if (w->stopping)
			return 1;
		if (rc == 0)
			goto idle;
	}
	rc = 0;
	if (now_s() - w->last_autoclaim > w->cfg.lease_ms / 2000.0) {
		w->last_autoclaim = now_s();
		rc = autoclaim(w);
	}
	if (rc == 0)
		rc = pop(w);
	if (rc < 0) {
		mdw_warn("worker=%s msg=\"Redis unavailable\" error=\"%s\"", w->id, w->r.errstr);
		next = mdw_backoff_next(&w->bo) / 1000.0;
	} else {
		mdw_backoff_reset(&w->bo);
		if (w->refused_wait_ms) {
			next = w->refused_wait_ms / 1000.0; /* not_now: the target refused writes */
			w->refused_wait_ms = 0;
		} else if (rc > 0) {
			next = 0; /* more work is likely: look again at once */
		} else {
			goto idle;
		}
	}
	if (w->stopping)
		return 1;
	goto again;
idle:
	/* nothing to do: block until the coordinator queues chunks or ends the run (or poll_ms) */
	rc = mdwq_wait(&w->r, MDWQ_WAKE, w->cfg.poll_ms, 0);
	if (rc > 0)
		w->last_run_check = 0; /* a token may say the run is over: look at once */
	if (rc >= 0)
		next = 0;
again:
	ev_timer_set(t, next, 0.);
	ev_timer_start(loop, t);
	return 0;
}

/* The tick timer fired: leave the loop, so that worker_run works outside any callback. */
static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = t->data;

	(void)revents;
	ev_timer_stop(loop, t);
	w->tick_due = 1;
	ev_break(loop, EVBREAK_ONE);
}

int worker_init(struct worker *w, char *err, size_t errlen)
{
	char host[64] = "worker";

	if (rds_parse_url(&w->r, w->cfg.redis_url, err, errlen) < 0)
		return -1;
	if (w->cfg.worker_id[0]) {
		snprintf(w->id, sizeof w->id, "%s", w->cfg.worker_id);
	} else {
		gethostname(host, sizeof host - 1);
		snprintf(w->id, sizeof w->id, "%s-%d", host, (int)getpid());
	}
	mdw_backoff_init(&w->bo, 100, 10000, 0);
	mdw_backoff_init(&w->refused_bo, 100, 5000, 0);
	w->loop = ev_default_loop(EVFLAG_AUTO);
	if (!w->loop) {
		snprintf(err, errlen, "cannot initialize the event loop");
		return -1;
	}
	ev_timer_init(&w->tick, tick_cb, 0., 0.);
	w->tick.data = w;
	ev_timer_init(&w->heartbeat, heartbeat_cb, HEARTBEAT_S, HEARTBEAT_S);
	w->heartbeat.data = w;
	ev_timer_init(&w->lease, lease_cb, w->cfg.lease_ms / 3000.0, w->cfg.lease_ms / 3000.0);
	w->lease.data = w;
	ev_signal_init(&w->sigterm, stop_cb, SIGTERM);
	w->sigterm.data = w;
	ev_signal_init(&w->sigint, stop_cb, SIGINT);
	w->sigint.data = w;
	return 0;
}

int worker_run(struct worker *w)
{
	mdw_info("worker=%s msg=\"started\" lease_ms=%lld max_attempts=%lld", w->id, w->cfg.lease_ms,
		 w->cfg.max_attempts);
	ev_timer_start(w->loop, &w->tick);
	ev_timer_start(w->loop, &w->heartbeat);
	ev_timer_start(w->loop, &w->lease);
	ev_signal_start(w->loop, &w->sigterm);
	ev_signal_start(w->loop, &w->sigint);
	/* the loop runs the timers and signals; the work happens between its runs, never inside a callback */
	do {
		w->tick_due = 0;
		ev_run(w->loop, 0);
	} while (w->tick_due && !tick(w));
	if (w->run) {
		char key[128];
		mdwq_key(key, sizeof key, w->run, "workers", NULL);
		freeReplyObject(rds_cmd(&w->r, "HDEL %s %s", key, w->id));
	}
	mdw_info("worker=%s msg=\"stopped\" chunks=%lld", w->id, w->chunks_done);
	return w->exit_code;
}

void worker_free(struct worker *w)
{
	provider_close(w->provider);
	if (w->src)
		PQfinish(w->src);
	if (w->tgt)
		PQfinish(w->tgt);
	rds_close(&w->r);
	mdw_config_free(&w->cfg);
}
