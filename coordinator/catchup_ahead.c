/*
 * A catch-up run's comparisons, computed ahead.
 *
 * A catch-up plans each phase from mdwctl verify's comparison of its legacy
 * rows with the target (catchup.c): a pass over every row of both sides, the
 * longest part of a catch-up. Planned as the coordinator reaches each phase,
 * the comparisons ran one after another, each waiting for the load and the
 * validation of the phases before it, and the coordinator did nothing else
 * meanwhile. They need not wait: both sides read a row back by its legacy id
 * (a patient's practice as the practice's legacy id), which no load
 * changes, and an expected side reads only the legacy database, but for the
 * phases that verify_ahead refuses (their holders are rows that an earlier
 * phase of the run writes).
 *
 * So threads of the coordinator (AHEAD_THREADS, each with a legacy and a
 * target session of its own) compute the comparisons of a catch-up run's
 * phases, those the coordinator reaches first first (by the depth of their
 * needs), while the coordinator loads and validates. A phase whose needs are
 * loaded while its comparison is under way is planned on a later pass
 * (catchup_ahead_busy: the coordinator goes on with the others meanwhile);
 * then the coordinator takes its comparison. A phase no thread has started,
 * or that a thread could not compare (logged), the coordinator compares
 * itself, as before.
 * Nothing is written here: the coordinator records what it takes
 * (catchup_walk). What changes in the legacy database between a comparison
 * and its phase's plan is left to the next catch-up, as are changes made
 * after the plan; a target row the application changes in between is found
 * by the version check of the chunk (worker/catchup_update.c).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "catchup_ahead.h"
#include "mdw/log.h"
#include "mdw/pgx.h"

enum slot_state { SLOT_NONE, SLOT_WANTED, SLOT_RUNNING, SLOT_READY, SLOT_FAILED };

struct slot {
	enum slot_state state;
	struct catchup_found f; /* SLOT_READY */
	char err[512];          /* SLOT_FAILED */
};

/*
 * Comparisons at once: each a legacy and a target session, the legacy side's
 * query most of the work; two keep two cores busy while the phases before
 * them load.
 */
#define AHEAD_THREADS 2

struct ahead_thread {
	struct catchup_ahead *a;
	pthread_t thread;
	int started, done;                 /* done: its sessions are closed (under the lock) */
	PGcancel *cancel_src, *cancel_tgt; /* its sessions, while they are open */
};

struct catchup_ahead {
	const struct mdw_config *cfg;
	int64_t run;
	volatile int *coord_stop; /* the coordinator is stopping: nobody waits for a comparison */
	int read_only;            /* the target sessions too are read-only (a plan) */
	struct ahead_thread th[AHEAD_THREADS];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	int order[MDW_NPHASES], n, next; /* the phases to compare, in the order the threads take them; the next one */
	struct slot slot[MDW_NPHASES];
};

static double now_s(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/* How many phases stand before PH on its longest chain of needs: the coordinator reaches lower depths first. */
static int depth(int ph)
{
	int d = 0;

	for (int q = 0; q < MDW_NPHASES; q++)
		if ((mdw_phases[ph].needs & MDW_PH_BIT(q)) && q != ph && depth(q) + 1 > d)
			d = depth(q) + 1;
	return d;
}

/* Mark every phase still wanted failed with ERR (the coordinator compares them itself). */
static void fail_wanted(struct catchup_ahead *a, const char *err)
{
	pthread_mutex_lock(&a->mu);
	for (int ph = 0; ph < MDW_NPHASES; ph++)
		if (a->slot[ph].state == SLOT_WANTED) {
			a->slot[ph].state = SLOT_FAILED;
			snprintf(a->slot[ph].err, sizeof a->slot[ph].err, "%s", err);
		}
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

/* Compare phase PH (its slot running) on SRC and TGT into its slot. 0, or -1 if the sessions are lost. */
static int compare_one(struct catchup_ahead *a, int ph, PGconn *src, PGconn *tgt)
{
	struct slot *s = &a->slot[ph];
	struct catchup_found f;
	char err[512];
	double t0 = now_s();
	int rc;

	rc = catchup_find(src, tgt, (enum mdw_phase_id)ph, &f, err, sizeof err);
	if (rc < 0) {
		mdw_warn("run=%" PRId64
			 " phase=%s msg=\"cannot compare ahead: the coordinator compares the phase as it "
			 "plans it\" error=\"%s\"",
			 a->run, mdw_phases[ph].name, err);
		catchup_found_free(&f);
		PQclear(PQexec(src, "ROLLBACK"));
		PQclear(PQexec(tgt, "ROLLBACK"));
	} else {
		mdw_info("run=%" PRId64 " phase=%s msg=\"catch-up comparison computed ahead\" differ=%lld missing=%lld "
			 "stray=%lld ms=%.0f",
			 a->run, mdw_phases[ph].name, f.v.ndiffer, f.v.nmissing, f.v.nstray, (now_s() - t0) * 1000);
	}
	pthread_mutex_lock(&a->mu);
	s->state = rc < 0 ? SLOT_FAILED : SLOT_READY;
	if (rc < 0)
		snprintf(s->err, sizeof s->err, "%s", err);
	else
		s->f = f;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return PQstatus(src) == CONNECTION_OK && PQstatus(tgt) == CONNECTION_OK ? 0 : -1;
}

/* The next phase to compare, its slot marked running (under the lock); -1: none left, or stopping. */
static int take_next(struct catchup_ahead *a)
{
	int ph = -1;

	pthread_mutex_lock(&a->mu);
	while (!a->stop && a->next < a->n && ph < 0) {
		int q = a->order[a->next++];
		if (a->slot[q].state == SLOT_WANTED) { /* else the coordinator compares it itself */
			a->slot[q].state = SLOT_RUNNING;
			ph = q;
		}
	}
	pthread_mutex_unlock(&a->mu);
	return ph;
}

static void *ahead_main(void *arg)
{
	struct ahead_thread *t = arg;
	struct catchup_ahead *a = t->a;
	char err[512] = "";
	int ph;
	PGconn *src = NULL, *tgt = NULL;

	if (!(tgt = a->read_only ? pgx_connect_source(a->cfg->target_dsn, "mdw-plan", 0, err, sizeof err)
				 : pgx_connect(a->cfg->target_dsn, "mdw-coordinator", err, sizeof err)) ||
	    !(src = pgx_connect_source(a->cfg->source_dsn, a->read_only ? "mdw-plan" : "mdw-coordinator",
				       a->cfg->source_statement_timeout_ms, err, sizeof err))) {
		mdw_warn("run=%" PRId64 " msg=\"cannot open the sessions that compare ahead: the coordinator compares "
			 "each phase as it plans it\" error=\"%s\"",
			 a->run, err);
		fail_wanted(a, err);
		goto out;
	}
	pthread_mutex_lock(&a->mu);
	t->cancel_src = PQgetCancel(src);
	t->cancel_tgt = PQgetCancel(tgt);
	pthread_mutex_unlock(&a->mu);
	while ((ph = take_next(a)) >= 0)
		if (compare_one(a, ph, src, tgt) < 0) {
			fail_wanted(a, "the sessions that compare ahead were lost");
			break;
		}
	pthread_mutex_lock(&a->mu);
	PQfreeCancel(t->cancel_src);
	PQfreeCancel(t->cancel_tgt);
	t->cancel_src = t->cancel_tgt = NULL;
	pthread_mutex_unlock(&a->mu);
out:
	PQfinish(src);
	PQfinish(tgt);
	pthread_mutex_lock(&a->mu);
	t->done = 1;
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

struct catchup_ahead *catchup_ahead_start(const struct mdw_config *cfg, unsigned phases, int64_t run,
					  volatile int *stop, int read_only, char *err, size_t errlen)
{
	struct catchup_ahead *a = calloc(1, sizeof *a);
	int d[MDW_NPHASES], rc;

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->cfg = cfg;
	a->run = run;
	a->coord_stop = stop;
	a->read_only = read_only;
	for (int ph = 0; ph < MDW_NPHASES; ph++) {
		if (!(phases & MDW_PH_BIT(ph)) || !row_hash_covers((enum mdw_phase_id)ph) ||
		    !verify_ahead((enum mdw_phase_id)ph))
			continue;
		/* insertion by (depth, phase) */
		int k = a->n++;
		d[ph] = depth(ph);
		while (k > 0 && d[a->order[k - 1]] > d[ph]) {
			a->order[k] = a->order[k - 1];
			k--;
		}
		a->order[k] = ph;
		a->slot[ph].state = SLOT_WANTED;
	}
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	for (int i = 0; i < AHEAD_THREADS && i < a->n; i++) {
		a->th[i].a = a;
		if ((rc = pthread_create(&a->th[i].thread, NULL, ahead_main, &a->th[i])) != 0) {
			snprintf(err, errlen, "cannot start a thread that compares ahead: %s", strerror(rc));
			if (i == 0) {
				pthread_mutex_destroy(&a->mu);
				pthread_cond_destroy(&a->cv);
				free(a);
				return NULL;
			}
			break; /* the ones started do the work */
		}
		a->th[i].started = 1;
	}
	return a;
}

int catchup_ahead_take(struct catchup_ahead *a, enum mdw_phase_id ph, struct catchup_found *f, char *err, size_t errlen)
{
	struct slot *s;
	int rc = 0;

	*f = (struct catchup_found){0};
	if (!a || ph < 0 || ph >= MDW_NPHASES)
		return 0;
	s = &a->slot[ph];
	pthread_mutex_lock(&a->mu);
	if (s->state == SLOT_WANTED) /* not started: compared now by the coordinator, skipped by the thread */
		s->state = SLOT_NONE;
	while (s->state == SLOT_RUNNING) {
		struct timespec until;
		if (*a->coord_stop) {
			pthread_mutex_unlock(&a->mu);
			snprintf(err, errlen, "stopped while the comparison of %s was computed ahead",
				 mdw_phases[ph].name);
			return -1;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&a->cv, &a->mu, &until);
	}
	if (s->state == SLOT_READY) {
		*f = s->f;
		s->f = (struct catchup_found){0};
		rc = 1;
	} else if (s->state == SLOT_FAILED) {
		mdw_warn("run=%" PRId64 " phase=%s msg=\"the comparison computed ahead failed: comparing it now\" "
			 "error=\"%s\"",
			 a->run, mdw_phases[ph].name, s->err);
	}
	s->state = SLOT_NONE;
	pthread_mutex_unlock(&a->mu);
	return rc;
}

int catchup_ahead_busy(struct catchup_ahead *a, enum mdw_phase_id ph)
{
	int busy;

	if (!a || ph < 0 || ph >= MDW_NPHASES)
		return 0;
	pthread_mutex_lock(&a->mu);
	busy = a->slot[ph].state == SLOT_RUNNING;
	pthread_mutex_unlock(&a->mu);
	return busy;
}

void catchup_ahead_stop(struct catchup_ahead *a)
{
	char buf[256];

	if (!a)
		return;
	/*
	 * A comparison under way ends with an error (canceled), which nobody
	 * waits for any more. A comparison is several statements: a cancel that
	 * falls between two is lost, so it is sent again until the threads are
	 * done.
	 */
	for (;;) {
		int running = 0;
		pthread_mutex_lock(&a->mu);
		a->stop = 1;
		for (int i = 0; i < AHEAD_THREADS; i++) {
			if (!a->th[i].started || a->th[i].done)
				continue;
			running = 1;
			if (a->th[i].cancel_src)
				PQcancel(a->th[i].cancel_src, buf, sizeof buf);
			if (a->th[i].cancel_tgt)
				PQcancel(a->th[i].cancel_tgt, buf, sizeof buf);
		}
		pthread_mutex_unlock(&a->mu);
		if (!running)
			break;
		nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
	}
	for (int i = 0; i < AHEAD_THREADS; i++)
		if (a->th[i].started)
			pthread_join(a->th[i].thread, NULL);
	for (int ph = 0; ph < MDW_NPHASES; ph++)
		catchup_found_free(&a->slot[ph].f);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a);
}
