/* The coordinator's run loop (see coord.h). */
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "analyze.h"
#include "backup.h"
#include "coord.h"
#include "catchup.h"
#include "catchup_ahead.h"
#include "defer_index.h"
#include "incremental.h"
#include "verify.h"
#include "lock.h"
#include "mdw/backoff.h"
#include "mdw/ledger.h"
#include "mdw/log.h"
#include "mdw/pgx.h"
#include "mdw/queue.h"
#include "metrics.h"
#include "web.h"
#include "planner.h"
#include "report.h"

#define RECONCILE_S 5.0
/*
 * The progress report reads the whole target (criteria, standing): written
 * after a phase changes state at most this often while the run goes on (it
 * was a tenth of the coordinator's and server's time at scale 1), and always
 * at the end of the run.
 */
#define REPORT_EVERY_S 5.0

static volatile int coord_stop;

/*
 * The cancel handles of the coordinator's own sessions (target, legacy), for
 * on_signal: a statement that waits (a lock the application holds, a long
 * validation) is cancelled, so SIGTERM stops the coordinator within seconds
 * instead of when that statement ends. cancel_users counts the handlers
 * using a handle (any thread may take the signal), so that arm_cancel frees
 * a replaced handle only once none is.
 */
static _Atomic(PGcancel *) stop_cancel[2];
static atomic_int cancel_users;

static void on_signal(int sig)
{
	char ignored[256];

	(void)sig;
	coord_stop = 1;
	atomic_fetch_add(&cancel_users, 1);
	for (int i = 0; i < 2; i++) {
		PGcancel *k = atomic_load(&stop_cancel[i]);
		if (k && !PQcancel(k, ignored, sizeof ignored)) { /* safe in a signal handler (libpq) */
			/* no cancel sent: the statement ends by itself, the loop then sees coord_stop */
		}
	}
	atomic_fetch_sub(&cancel_users, 1);
}

/* Session I (0 target, 1 legacy) is now CONN (NULL: none): its cancel handle for on_signal. */
static void arm_cancel(int i, PGconn *conn)
{
	PGcancel *old = atomic_exchange(&stop_cancel[i], conn ? PQgetCancel(conn) : NULL);

	while (atomic_load(&cancel_users))
		mdw_sleep_ms(1, NULL);
	PQfreeCancel(old);
}

static double now_s(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/* Connect to the target, or the (read-only) source, retrying transient failures for a while. */
static PGconn *connect_retry(const struct mdw_config *cfg, int source, int seconds)
{
	struct mdw_backoff bo;
	double until = now_s() + seconds;
	const char *what = source ? "legacy" : "target";
	char err[512];

	mdw_backoff_init(&bo, 200, 5000, 0);
	for (;;) {
		PGconn *c = source ? pgx_connect_source(cfg->source_dsn, "mdw-coordinator",
							cfg->source_statement_timeout_ms, err, sizeof err)
				   : pgx_connect(cfg->target_dsn, "mdw-coordinator", err, sizeof err);
		if (c)
			return c;
		if (now_s() > until || coord_stop) {
			mdw_error("msg=\"cannot connect to the %s database\" error=\"%s\"", what, err);
			return NULL;
		}
		mdw_warn("msg=\"cannot connect to the %s database: retrying\" error=\"%s\"", what, err);
		mdw_sleep_ms(mdw_backoff_next(&bo), &coord_stop);
	}
}

static int ensure_pg(struct coord *c)
{
	if (PQstatus(c->tgt) != CONNECTION_OK) {
		arm_cancel(0, NULL);
		PQfinish(c->tgt);
		if (!(c->tgt = connect_retry(&c->cfg, 0, 0)))
			return -1;
		arm_cancel(0, c->tgt);
	}
	if (PQstatus(c->src) != CONNECTION_OK) {
		arm_cancel(1, NULL);
		PQfinish(c->src);
		if (!(c->src = connect_retry(&c->cfg, 1, 0)))
			return -1;
		arm_cancel(1, c->src);
	}
	return 0;
}

/* Whether PHASE is complete in some earlier run. */
static int complete_before(struct coord *c, int phase)
{
	char err[256];

	return ledger_phase_ever_complete(c->tgt, mdw_phases[phase].name, err, sizeof err) > 0;
}

/* Create a run, or resume the newest unfinished one. */
static int open_run(struct coord *c, char *err, size_t errlen)
{
	PGresult *r;
	char *settings;
	json_t *o;
	int rc;

	if (!c->cfg.new_run) {
		if (ledger_run_unfinished(c->tgt, &r, err, errlen) < 0)
			return -1;
		if (PQntuples(r) == 1) {
			c->run = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
			if (!c->cfg.phases[0] && !PQgetisnull(r, 0, 1)) {
				free(c->cfg.phases);
				c->cfg.phases = strdup(PQgetvalue(r, 0, 1));
			}
			PQclear(r);
			if (!c->cfg.phases) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			if (ledger_run_resume(c->tgt, c->run, err, errlen) < 0)
				return -1;
			mdw_info("run=%" PRId64 " msg=\"resuming unfinished run\"", c->run);
			return 0;
		}
		PQclear(r);
	}
	/* by jansson: the configuration's strings are escaped, never cut */
	o = json_pack("{s:s,s:I,s:s}", "phases", c->cfg.phases ? c->cfg.phases : "", "chunk_rows",
		      (json_int_t)c->cfg.chunk_rows, "embed_model", c->cfg.embed_model ? c->cfg.embed_model : "");
	settings = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!settings) {
		snprintf(err, errlen,
			 "cannot write the run's settings as JSON (out of memory, or --phases or the model id "
			 "not UTF-8)");
		return -1;
	}
	rc = ledger_run_create(c->tgt, settings, &c->run, err, errlen);
	free(settings);
	if (rc < 0)
		return -1;
	mdw_info("run=%" PRId64 " msg=\"new run\" chunk_rows=%lld", c->run, c->cfg.chunk_rows);
	return 0;
}

/*
 * Walk PHASE's source into PLAN and PARTS (one part per chunk). Relational
 * phases walk their legacy table; embeddings walk the three target tables.
 */
int coord_walk(struct coord *c, enum mdw_phase_id ph, struct plan *plan, enum mdw_part **parts, char *err,
	       size_t errlen)
{
	if (c->cfg.incremental)
		return incr_walk(c, ph, plan, parts, err, errlen);
	if (ph != MDW_PH_EMBEDDINGS) {
		if (plan_table(plan, c->src, mdw_phases[ph].source, c->cfg.chunk_rows, err, errlen) < 0)
			return -1;
		*parts = calloc((size_t)plan->n + 1, sizeof **parts);
		return *parts ? 0 : -1;
	}
	*parts = NULL;
	for (int p = 1; p < MDW_NPARTS; p++) {
		struct plan one = {0};
		enum mdw_part *np;
		if (plan_table(&one, c->tgt, mdw_part_table(p), c->cfg.embed_batch, err, errlen) < 0) {
			plan_free(&one);
			return -1;
		}
		np = realloc(*parts, sizeof *np * (size_t)(plan->n + one.n + 1));
		if (!np) {
			plan_free(&one);
			return -1;
		}
		*parts = np;
		for (int i = 0; i < one.n; i++) {
			if (plan->n == plan->cap) {
				int cap = plan->cap ? plan->cap * 2 : 64;
				struct plan_chunk *pc = realloc(plan->chunks, sizeof *pc * (size_t)cap);
				if (!pc) {
					plan_free(&one);
					return -1;
				}
				plan->chunks = pc;
				plan->cap = cap;
			}
			(*parts)[plan->n] = (enum mdw_part)p;
			plan->chunks[plan->n++] = one.chunks[i];
		}
		plan->rows += one.rows;
		plan_free(&one);
	}
	return 0;
}

/* Plan PHASE: ledger rows in one transaction, then the queue. */
static int plan_phase(struct coord *c, enum mdw_phase_id ph)
{
	const char *name = mdw_phases[ph].name;
	struct plan plan = {0};
	enum mdw_part *parts = NULL;
	char err[512];
	char *los = NULL, *his = NULL, *pts = NULL;
	size_t cap;
	int rc = -1, deferred = 0;
	double t0 = now_s();

	if (coord_walk(c, ph, &plan, &parts, err, sizeof err) < 0) {
		mdw_error("run=%" PRId64 " phase=%s msg=\"planning failed\" error=\"%s\"", c->run, name, err);
		goto out;
	}
	cap = (size_t)plan.n * 24 + 4;
	los = malloc(cap);
	his = malloc(cap);
	pts = malloc(cap);
	if (!los || !his || !pts)
		goto out;
	{
		size_t a = 0, b = 0, d = 0;
		a += (size_t)snprintf(los + a, cap - a, "{");
		b += (size_t)snprintf(his + b, cap - b, "{");
		d += (size_t)snprintf(pts + d, cap - d, "{");
		for (int i = 0; i < plan.n; i++) {
			a += (size_t)snprintf(los + a, cap - a, "%s%lld", i ? "," : "", plan.chunks[i].lo);
			b += (size_t)snprintf(his + b, cap - b, "%s%lld", i ? "," : "", plan.chunks[i].hi);
			d += (size_t)snprintf(pts + d, cap - d, "%s%s", i ? "," : "",
					      parts[i] ? mdw_parts[parts[i]].name : "NULL");
		}
		snprintf(los + a, cap - a, "}");
		snprintf(his + b, cap - b, "}");
		snprintf(pts + d, cap - d, "}");
	}
	if (pgx_exec(c->tgt, "BEGIN", 0, NULL, err, sizeof err, NULL) < 0 ||
	    ledger_phase_insert(c->tgt, c->run, name, plan.rows, plan.n, err, sizeof err) < 0 ||
	    ledger_chunks_insert(c->tgt, c->run, name, los, his, pts, err, sizeof err) < 0 ||
	    (ph != MDW_PH_EMBEDDINGS && defer_indexes(c->tgt, c->run, ph, &deferred, err, sizeof err) < 0) ||
	    pgx_exec(c->tgt, "COMMIT", 0, NULL, err, sizeof err, NULL) < 0) {
		mdw_error("run=%" PRId64 " phase=%s msg=\"cannot write the plan\" error=\"%s\"", c->run, name, err);
		PQclear(PQexec(c->tgt, "ROLLBACK"));
		goto out;
	}
	mdw_info("run=%" PRId64 " phase=%s msg=\"phase planned\" source_rows=%lld chunks=%d ms=%.0f", c->run, name,
		 plan.rows, plan.n, (now_s() - t0) * 1000);
	if (deferred)
		mdw_info("run=%" PRId64 " phase=%s msg=\"secondary indexes deferred\" indexes=%d", c->run, name,
			 deferred);
	if (mdwq_ensure_group(&c->r, c->run, name) < 0)
		goto queued_later;
	for (int i = 0; i < plan.n; i++) {
		struct mdw_chunk ch = {c->run, ph, i, plan.chunks[i].lo, plan.chunks[i].hi, parts[i]};
		if (mdwq_enqueue(&c->r, &ch) < 0)
			goto queued_later;
	}
	mdwq_wake_workers(&c->r, plan.n);
	rc = 0;
	goto out;
queued_later:
	/* the ledger holds the plan: the next reconcile enqueues what is missing */
	mdw_warn("run=%" PRId64 " phase=%s msg=\"cannot enqueue now: the reconcile will\" error=\"%s\"", c->run, name,
		 c->r.errstr);
	rc = 0;
out:
	free(los);
	free(his);
	free(pts);
	free(parts);
	plan_free(&plan);
	return rc;
}

static int set_phase_state(struct coord *c, int ph, const char *state, const char *detail)
{
	char err[512];

	if (ledger_phase_state(c->tgt, c->run, mdw_phases[ph].name, state, detail, err, sizeof err) < 0) {
		mdw_warn("run=%" PRId64 " phase=%s msg=\"cannot record the phase state\" error=\"%s\"", c->run,
			 mdw_phases[ph].name, err);
		return -1;
	}
	return 0;
}

static void mirror(struct coord *c)
{
	for (int ph = 0; ph < MDW_NPHASES; ph++) {
		const struct phase_stat *s = &c->ps[ph];
		char key[128];
		if (!(c->selected & MDW_PH_BIT(ph)))
			continue;
		mdwq_key(key, sizeof key, c->run, "phase", mdw_phases[ph].name);
		freeReplyObject(rds_cmd(&c->r,
					"HSET %s state %s source_rows %lld chunks %lld done %lld dead %lld read %lld "
					"inserted %lld existing %lld updated %lld merged %lld rejected %lld",
					key, phase_states[s->state].log, s->source_rows, s->total, s->done, s->dead,
					s->read, s->inserted, s->existing, s->updated, s->merged, s->rejected));
	}
}

static void write_report(struct coord *c)
{
	char err[512];
	double t0 = now_s();

	if (!c->cfg.report_path[0])
		return;
	c->last_report = t0;
	c->report_due = 0;
	if (report_write(c->tgt, c->src, c->run, c->cfg.report_path, err, sizeof err) < 0)
		mdw_warn("run=%" PRId64 " msg=\"cannot write the progress report\" error=\"%s\"", c->run, err);
	else
		mdw_debug("run=%" PRId64 " msg=\"progress report written\" ms=%.0f", c->run, (now_s() - t0) * 1000);
}

static void summary(struct coord *c, const char *outcome)
{
	for (int ph = 0; ph < MDW_NPHASES; ph++) {
		const struct phase_stat *s = &c->ps[ph];
		if (!(c->selected & MDW_PH_BIT(ph)))
			continue;
		mdw_info("run=%" PRId64 " phase=%s state=%s chunks=%lld done=%lld dead=%lld read=%lld inserted=%lld "
			 "existing=%lld updated=%lld merged=%lld rejected=%lld",
			 c->run, mdw_phases[ph].name, phase_states[s->state].log, s->total, s->done, s->dead, s->read,
			 s->inserted, s->existing, s->updated, s->merged, s->rejected);
	}
	mdw_info("run=%" PRId64 " msg=\"run %s\"", c->run, outcome);
}

/* Append to TEXT (of LEN bytes) the run's first dead chunk and its error, so that a failed run names one. */
static void name_dead_chunk(struct coord *c, char *text, size_t len)
{
	char err[256];
	size_t o = strlen(text);
	PGresult *r;

	if (ledger_first_dead_chunk(c->tgt, c->run, &r, err, sizeof err) < 0)
		return;
	if (PQntuples(r) == 1 && o < len)
		snprintf(text + o, len - o, "; dead chunk %s #%s: %s", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1),
			 PQgetvalue(r, 0, 2));
	PQclear(r);
}

static int finish_run(struct coord *c, const char *status, const char *text)
{
	char err[512];

	if (ledger_run_finish(c->tgt, c->run, status, text, err, sizeof err) < 0)
		return -1;
	mdwq_wake_run_over(&c->r, c->run); /* --exit-when-done workers: now, not at their next poll */
	return 0;
}

/*
 * The run cannot finish: its phases still running (every chunk settled, some
 * dead) are failed, so that the ledger says so and a rollback of the phase is
 * not refused as "in flight". retry-dead sets them running again.
 */
static void fail_stuck_phases(struct coord *c)
{
	char err[512];

	for (int ph = 0; ph < MDW_NPHASES; ph++) {
		struct phase_stat *s = &c->ps[ph];
		char why[128];
		if (!(c->selected & MDW_PH_BIT(ph)) || s->state != PS_RUNNING)
			continue;
		snprintf(why, sizeof why, "%lld dead chunks (see mdwctl dead; mdwctl retry-dead)", s->dead);
		if (build_deferred_indexes(c->tgt, c->run, ph, err, sizeof err) < 0)
			mdw_error("run=%" PRId64
				  " phase=%s msg=\"cannot build the deferred indexes: the next start will\" "
				  "error=\"%s\"",
				  c->run, mdw_phases[ph].name, err);
		if (set_phase_state(c, ph, "failed", why) == 0)
			s->state = PS_FAILED;
	}
}

/*
 * Whether the target accepts writes (1), or is read-only, e.g. a database
 * with default_transaction_read_only on or a standby (0); -1 on error.
 */
static int target_writable(struct coord *c)
{
	char err[256];
	PGresult *r = pgx_query(c->tgt, "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only')::bool",
				0, NULL, err, sizeof err, NULL);
	int w;

	if (!r)
		return -1;
	w = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "f") == 0;
	PQclear(r);
	return w;
}

/* --verify: the row-level verification of PH after its validation passed; a difference fails the phase (*V = 0). */
static int verify_validation(struct coord *c, enum mdw_phase_id ph, char *why, size_t whylen, int *v)
{
	char summary[256], err[512];
	int rc = verify_phase(c->src, c->tgt, ph, NULL, 0, 0, summary, sizeof summary, err, sizeof err);
	size_t o = strlen(why);

	if (rc < 0) {
		mdw_error("run=%" PRId64 " phase=%s msg=\"row-level verification failed\" error=\"%s\"", c->run,
			  mdw_phases[ph].name, err);
		return -1;
	}
	if (rc <= 1)
		snprintf(why + o, whylen - o, "; row-level verification: %s%s", summary,
			 rc ? " (mdwctl verify names them)" : "");
	if (rc == 1)
		*v = 0;
	return 0;
}

/* Whether phase PH is loaded: every chunk done and its indexes built, its validation due or under way. */
static int phase_loaded(const struct phase_stat *s)
{
	return s->state == PS_VALIDATING && s->done == s->total;
}

/*
 * The gate between phases: a phase whose need failed (its validation, or
 * its chunks) stops. Its chunks not done yet become dead, naming the need,
 * so that no worker applies them (a chunk in a worker's hands is waited
 * for: it commits done, or is stopped); what it loaded before stays, for
 * mdwctl rollback --cascade. In phase order, so that it reaches the
 * dependents' dependents. -1 on a database error (the next pass again).
 */
static int stop_dependents(struct coord *c)
{
	for (int ph = 0; ph < MDW_NPHASES; ph++) {
		struct phase_stat *s = &c->ps[ph];
		char why[256], err[512];
		int failed = -1;

		if (!(c->selected & MDW_PH_BIT(ph)) || (s->state != PS_RUNNING && s->state != PS_VALIDATING))
			continue;
		for (int q = 0; q < MDW_NPHASES && failed < 0; q++)
			if ((mdw_phases[ph].needs & MDW_PH_BIT(q)) && (c->selected & MDW_PH_BIT(q)) &&
			    c->ps[q].state == PS_FAILED)
				failed = q;
		if (failed < 0)
			continue;
		snprintf(why, sizeof why, "needs %s, which failed", mdw_phases[failed].name);
		if (ledger_chunks_stop(c->tgt, c->run, mdw_phases[ph].name, why, err, sizeof err) < 0 ||
		    build_deferred_indexes(c->tgt, c->run, ph, err, sizeof err) < 0) {
			mdw_warn("run=%" PRId64 " phase=%s msg=\"cannot stop the phase: retrying\" error=\"%s\"",
				 c->run, mdw_phases[ph].name, err);
			return -1;
		}
		if (set_phase_state(c, ph, "failed", why) < 0)
			return -1;
		s->state = PS_FAILED;
		mdw_error("run=%" PRId64 " phase=%s msg=\"phase stopped\" why=\"%s\"", c->run, mdw_phases[ph].name,
			  why);
	}
	return 0;
}

/*
 * Build the secondary indexes that the load of PH deferred (none left: one
 * short transaction that finds none). Called once the phase is loaded, after the pass has
 * planned its dependents (their chunks read its unique keys only, which are
 * never deferred), so that they load while the indexes build; and again
 * before it is validated. -1 on a database error: the pass is retried.
 */
static int build_indexes(struct coord *c, int ph)
{
	char err[512];

	if (build_deferred_indexes(c->tgt, c->run, ph, err, sizeof err) == 0)
		return 0;
	mdw_warn("run=%" PRId64 " phase=%s msg=\"cannot build the deferred indexes: retrying\" error=\"%s\"", c->run,
		 mdw_phases[ph].name, err);
	return -1;
}

/* Validate the loaded phase PH (its needs complete): complete or failed. -1 on a database error. */
static int validate_loaded(struct coord *c, int ph)
{
	struct phase_stat *s = &c->ps[ph];
	char why[512];
	double t0 = now_s();
	int v, na;

	/* the statistics of what the chunks wrote first: validation and the reports join it (analyze.h) */
	if (analyze_ledger(c->tgt, &na, why, sizeof why) < 0)
		mdw_warn("run=%" PRId64 " phase=%s msg=\"cannot analyze the ledger tables: validating without their "
			 "statistics\" error=\"%s\"",
			 c->run, mdw_phases[ph].name, why);
	else if (na)
		mdw_info("run=%" PRId64 " phase=%s msg=\"tables analyzed\" tables=%d ms=%.0f", c->run,
			 mdw_phases[ph].name, na, (now_s() - t0) * 1000);
	v = validate_phase(c->tgt, c->run, (enum mdw_phase_id)ph, why, sizeof why);

	if (v < 0)
		return -1;
	if (v == 1 && c->cfg.verify && verify_validation(c, (enum mdw_phase_id)ph, why, sizeof why, &v) < 0)
		return -1;
	/* what the run wrote, for the next catch-up to tell the application's changes from the legacy's */
	if (v == 1) {
		char err[512];
		double th = now_s();
		long long n = catchup_record_written(c->tgt, (enum mdw_phase_id)ph, c->run, err, sizeof err);
		if (n < 0) {
			mdw_warn("run=%" PRId64 " phase=%s msg=\"cannot record the rows' hashes\" error=\"%s\"", c->run,
				 mdw_phases[ph].name, err);
			return -1;
		}
		mdw_info("run=%" PRId64 " phase=%s msg=\"row hashes recorded\" rows=%lld ms=%.0f", c->run,
			 mdw_phases[ph].name, n, (now_s() - th) * 1000);
	}
	set_phase_state(c, ph, v ? "complete" : "failed", why);
	s->state = v ? PS_COMPLETE : PS_FAILED;
	if (v)
		mdw_info("run=%" PRId64 " phase=%s msg=\"phase complete\" validation=\"%s\" ms=%.0f", c->run,
			 mdw_phases[ph].name, why, (now_s() - t0) * 1000);
	else
		mdw_error("run=%" PRId64 " phase=%s msg=\"phase failed validation\" why=\"%s\"", c->run,
			  mdw_phases[ph].name, why);
	return 0;
}

/* Whether every selected phase is complete. */
static int every_selected_complete(const struct coord *c)
{
	for (int ph = 0; ph < MDW_NPHASES; ph++)
		if ((c->selected & MDW_PH_BIT(ph)) && c->ps[ph].state != PS_COMPLETE)
			return 0;
	return 1;
}

/*
 * One pass of the loop. Returns 1 when the run is over (exit code in *CODE),
 * 2 when a phase changed state (look again at once: its dependents may
 * start, the run may be over), 0 to wait for the workers, -1 transient error.
 */
static int step(struct coord *c, int *code)
{
	char err[512], holder[256];
	int all_complete = 1, progress_possible = 0, changed = 0, lr;
	unsigned to_validate = 0, to_index = 0;

	lr = lock_refresh(&c->r, c->token, holder, sizeof holder);
	if (lr == 1) {
		mdw_error("run=%" PRId64 " msg=\"lost the coordinator lock\" holder=%s", c->run, holder);
		*code = 3;
		return 1;
	}
	if (lr < 0)
		mdw_warn("run=%" PRId64 " msg=\"cannot refresh the coordinator lock: Redis unavailable?\" error=\"%s\"",
			 c->run, c->r.errstr);
	if (lr == 0) {
		char run[24];
		snprintf(run, sizeof run, "%" PRId64, c->run);
		freeReplyObject(rds_cmd(&c->r, "SET " MDWQ_CURRENT_RUN " %s", run));
	}
	if (stats_load(c->tgt, c->run, 0, c->ps, err, sizeof err) < 0) {
		mdw_warn("run=%" PRId64 " msg=\"cannot read the ledger\" error=\"%s\"", c->run, err);
		return -1;
	}
	if (target_writable(c) == 0) {
		/* the workers leave their chunks pending meanwhile, uncounted (CHUNK_NOT_NOW) */
		mdw_error("run=%" PRId64
			  " msg=\"the target database refuses writes (read-only, or a standby): stopping, the "
			  "run stays open\" hint=\"make it writable (e.g. ALTER DATABASE ... RESET "
			  "default_transaction_read_only), then start the coordinator again to resume\"",
			  c->run);
		*code = 5;
		return 1;
	}
	if (stop_dependents(c) < 0)
		return -1;
	/*
	 * A phase starts once its needs are loaded (every chunk done), while
	 * their deferred indexes build and their validation runs; it is
	 * validated only once they are complete, and stopped if one fails
	 * (stop_dependents).
	 */
	for (int ph = 0; ph < MDW_NPHASES; ph++) {
		struct phase_stat *s = &c->ps[ph];
		unsigned needs = mdw_phases[ph].needs;
		int needs_ok = 1, needs_loaded = 1, needs_failed = 0;

		if (!(c->selected & MDW_PH_BIT(ph)))
			continue;
		for (int q = 0; q < MDW_NPHASES; q++) {
			if (!(needs & MDW_PH_BIT(q)))
				continue;
			if (c->selected & MDW_PH_BIT(q)) {
				if (c->ps[q].state != PS_COMPLETE)
					needs_ok = 0;
				if (c->ps[q].state != PS_COMPLETE && !phase_loaded(&c->ps[q]))
					needs_loaded = 0;
				if (c->ps[q].state == PS_FAILED)
					needs_failed = 1;
			}
		}
		if (s->state == PS_NONE && needs_loaded && catchup_ahead_busy(c->ahead, (enum mdw_phase_id)ph)) {
			/* its comparison is being computed ahead: planned on a later pass, the others go on meanwhile */
			progress_possible = 1;
			all_complete = 0;
			continue;
		}
		if (s->state == PS_NONE && needs_loaded) {
			char why[1024];
			if (backup_phase(c, (enum mdw_phase_id)ph, why, sizeof why) < 0) {
				/* the phase has written nothing: the run resumes (and dumps again) on the next start */
				mdw_error("run=%" PRId64
					  " phase=%s msg=\"backup failed: the phase does not start\" error=\"%s\"",
					  c->run, mdw_phases[ph].name, why);
				finish_run(c, "failed", why);
				write_report(c);
				*code = 1;
				return 1;
			}
			if (plan_phase(c, (enum mdw_phase_id)ph) < 0)
				return -1;
			progress_possible = 1;
			all_complete = 0;
			continue;
		}
		if (s->state == PS_RUNNING && s->done == s->total) {
			/* loaded: its dependents, later in this pass, start now; its indexes after them */
			if (set_phase_state(c, ph, "validating", "") < 0)
				return -1;
			s->state = PS_VALIDATING;
			to_index |= MDW_PH_BIT(ph);
			changed = 1;
		}
		if (phase_loaded(s) && needs_ok)
			to_validate |= MDW_PH_BIT(ph);
		if (s->state != PS_COMPLETE)
			all_complete = 0;
		if ((s->state == PS_RUNNING && s->pending > 0) || (s->state == PS_NONE && !needs_failed) ||
		    s->state == PS_PLANNING || s->state == PS_VALIDATING)
			progress_possible = 1;
	}
	for (int ph = 0; ph < MDW_NPHASES; ph++)
		if ((to_index & MDW_PH_BIT(ph)) && build_indexes(c, ph) < 0)
			return -1;
	for (int ph = 0; ph < MDW_NPHASES; ph++) {
		if (!(to_validate & MDW_PH_BIT(ph)))
			continue;
		/* (again: a build that failed after the phase was marked validating is retried here) */
		if (build_indexes(c, ph) < 0 || validate_loaded(c, ph) < 0)
			return -1;
		changed = 1;
		if (c->ps[ph].state != PS_COMPLETE) {
			all_complete = 0;
			if (stop_dependents(c) < 0)
				return -1;
		}
	}
	if (changed)
		c->report_due = 1;
	/* (the end of the run writes its own: none here when this pass validated the last phase) */
	if (c->report_due && !all_complete && !every_selected_complete(c) && now_s() - c->last_report >= REPORT_EVERY_S)
		write_report(c);
	mirror(c);
	if (c->cfg.metrics_addr[0])
		metrics_update(c->tgt, &c->r, c->run);
	if (now_s() - c->last_reconcile > RECONCILE_S) {
		c->last_reconcile = now_s();
		coord_reconcile(c, 0);
	}
	if (all_complete) {
		finish_run(c, "complete", "every phase complete and balanced");
		write_report(c);
		summary(c, "complete");
		*code = 0;
		return 1;
	}
	if (!progress_possible) {
		char text[1024];
		size_t o = 0;
		fail_stuck_phases(c);
		for (int ph = 0; ph < MDW_NPHASES && o < sizeof text; ph++)
			if ((c->selected & MDW_PH_BIT(ph)) && c->ps[ph].state != PS_COMPLETE)
				o += (size_t)snprintf(text + o, sizeof text - o, "%s%s: %s (%lld dead chunks)",
						      o ? "; " : "", mdw_phases[ph].name,
						      phase_states[c->ps[ph].state].log, c->ps[ph].dead);
		name_dead_chunk(c, text, sizeof text);
		finish_run(c, "failed", text);
		write_report(c);
		summary(c, "failed");
		mdw_error("run=%" PRId64 " msg=\"run cannot finish\" detail=\"%s\" hint=\"see mdwctl dead; mdwctl "
			  "retry-dead, then start the coordinator again to resume\"",
			  c->run, text);
		*code = 1;
		return 1;
	}
	return changed ? 2 : 0;
}

/* A catch-up run: its phases not planned yet are compared ahead (catchup_ahead.c), or as each is planned. */
static void compare_ahead(struct coord *c)
{
	char err[512];
	unsigned todo = 0;

	if (stats_load(c->tgt, c->run, 0, c->ps, err, sizeof err) < 0) {
		mdw_warn("run=%" PRId64 " msg=\"cannot read the ledger: each phase is compared as it is planned\" "
			 "error=\"%s\"",
			 c->run, err);
		return;
	}
	for (int ph = 0; ph < MDW_NPHASES; ph++)
		if ((c->selected & MDW_PH_BIT(ph)) && c->ps[ph].state == PS_NONE)
			todo |= MDW_PH_BIT(ph);
	if (!(c->ahead = catchup_ahead_start(&c->cfg, todo, c->run, &coord_stop, 0, err, sizeof err)))
		mdw_warn("run=%" PRId64 " msg=\"each phase is compared as it is planned\" error=\"%s\"", c->run, err);
}

static int coord_run(struct coord *c);

int coord_main(struct coord *c)
{
	int code = coord_run(c);

	arm_cancel(0, NULL); /* before main() closes the sessions */
	arm_cancel(1, NULL);
	return code;
}

static int coord_run(struct coord *c)
{
	char err[512], holder[256], host[128] = "coordinator";
	struct mdw_backoff bo;
	struct lock_keeper *keeper = NULL;
	int code = 1, lr;

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (mdw_phase_parse_list(c->cfg.phases, &c->selected, err, sizeof err) < 0) {
		fprintf(stderr, "mdw-coordinator: invalid MDW_PHASES/--phases: %s\n", err);
		return 2;
	}
	if (rds_parse_url(&c->r, c->cfg.redis_url, err, sizeof err) < 0) {
		fprintf(stderr, "mdw-coordinator: %s\n", err);
		return 2;
	}
	if (!(c->tgt = connect_retry(&c->cfg, 0, 30)) || !(c->src = connect_retry(&c->cfg, 1, 30)))
		return 2;
	arm_cancel(0, c->tgt);
	arm_cancel(1, c->src);
	if (mdw_schema_apply(c->tgt, err, sizeof err) < 0) {
		mdw_error("msg=\"cannot apply the target schema\" error=\"%s\"", err);
		return 2;
	}
	gethostname(host, sizeof host - 1);
	snprintf(c->token, sizeof c->token, "%s:%d", host, (int)getpid());
	lr = lock_acquire(&c->r, c->token, holder, sizeof holder);
	if (lr < 0) {
		mdw_error("msg=\"cannot reach Redis\" error=\"%s\"", c->r.errstr);
		return 2;
	}
	if (lr == 1) {
		fprintf(stderr,
			"mdw-coordinator: another coordinator holds the lock: %s (it expires %d s after that "
			"coordinator stops)\n",
			holder, MDW_LOCK_TTL_MS / 1000);
		return 4;
	}
	if (!(keeper = lock_keeper_start(&c->r, c->token, err, sizeof err))) {
		mdw_error("msg=\"%s\"", err);
		lock_release(&c->r, c->token);
		return 2;
	}
	if (open_run(c, err, sizeof err) < 0) {
		mdw_error("msg=\"cannot open a run\" error=\"%s\"", err);
		goto out;
	}
	{
		int reopened;
		if (incr_open(c, err, sizeof err) < 0 ||
		    (reopened = ledger_reopen_rolled_back(c->tgt, c->run, err, sizeof err)) < 0) {
			mdw_error("run=%" PRId64 " msg=\"cannot open the run\" error=\"%s\"", c->run, err);
			goto out;
		}
		if (reopened)
			mdw_info("run=%" PRId64 " msg=\"rolled-back phases of the run are planned again\" phases=%d",
				 c->run, reopened);
		/* runs given up for this one leave no table without its indexes */
		if (build_deferred_indexes(c->tgt, c->run, -1, err, sizeof err) < 0) {
			mdw_error("run=%" PRId64
				  " msg=\"cannot build the indexes that earlier runs deferred\" error=\"%s\"",
				  c->run, err);
			goto out;
		}
	}
	/* a resumed run keeps its phase list */
	if (mdw_phase_parse_list(c->cfg.phases, &c->selected, err, sizeof err) < 0) {
		mdw_error("run=%" PRId64 " msg=\"invalid phase list\" error=\"%s\"", c->run, err);
		goto out;
	}
	for (int ph = 0; ph < MDW_NPHASES; ph++) {
		if (!(c->selected & MDW_PH_BIT(ph)))
			continue;
		for (int q = 0; q < MDW_NPHASES; q++)
			if ((mdw_phases[ph].needs & MDW_PH_BIT(q)) && !(c->selected & MDW_PH_BIT(q)) &&
			    !complete_before(c, q)) {
				mdw_error("run=%" PRId64
					  " msg=\"phase %s needs %s, which is neither in --phases nor complete in "
					  "an earlier run\"",
					  c->run, mdw_phases[ph].name, mdw_phases[q].name);
				finish_run(c, "failed", "unmet phase needs");
				code = 2;
				goto out;
			}
	}
	if (c->cfg.catch_up)
		compare_ahead(c);
	/* the first snapshot before the endpoint listens: a scrape never sees a run without its families */
	if (c->cfg.metrics_addr[0])
		metrics_update(c->tgt, &c->r, c->run);
	if (c->cfg.metrics_addr[0] && web_start(c->cfg.metrics_addr, &c->cfg, c->run, 0, err, sizeof err) < 0) {
		mdw_error("run=%" PRId64 " msg=\"%s\"", c->run, err);
		code = 2;
		goto out;
	}
	mdw_backoff_init(&bo, 200, 5000, 0);
	c->last_reconcile = 0;
	c->last_report = now_s();
	while (!coord_stop) {
		int rc;
		if (ensure_pg(c) < 0) {
			mdw_sleep_ms(mdw_backoff_next(&bo), &coord_stop);
			continue;
		}
		rc = step(c, &code);
		if (rc == 1)
			goto out;
		if (rc < 0) {
			mdw_sleep_ms(mdw_backoff_next(&bo), &coord_stop);
			continue;
		}
		mdw_backoff_reset(&bo);
		if (rc == 2)
			continue;
		{
			/* until a worker acknowledges a chunk (or poll_ms passes) */
			char key[128];
			mdwq_key(key, sizeof key, c->run, "events", NULL);
			if (mdwq_wait(&c->r, key, c->cfg.poll_ms, 1) < 0)
				mdw_sleep_ms(c->cfg.poll_ms, &coord_stop);
		}
	}
	code = 1; /* stopped by signal: below */
out:
	/* also a step that failed because on_signal cancelled its statement */
	if (coord_stop && code == 1) {
		if (c->run)
			mdw_info("run=%" PRId64
				 " msg=\"stopped by signal: the run stays open and resumes on the next start\"",
				 c->run);
		else
			mdw_info("msg=\"stopped by signal before a run was opened\"");
		code = 130;
	}
	catchup_ahead_stop(c->ahead);
	c->ahead = NULL;
	web_stop();
	metrics_stop();
	lock_keeper_stop(keeper);
	lock_release(&c->r, c->token);
	return code;
}
