/* The coordinator lock (see lock.h). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lock.h"
#include "mdw/log.h"

static const char *refresh_lua = "if redis.call('GET', KEYS[1]) == ARGV[1] then "
				 "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
static const char *release_lua = "if redis.call('GET', KEYS[1]) == ARGV[1] then "
				 "return redis.call('DEL', KEYS[1]) else return 0 end";

/* Whether HOLDER ("host:pid") is a process of this host that no longer exists. */
static int holder_is_gone(const char *holder)
{
	char host[256] = "";
	const char *colon = strrchr(holder, ':');
	long pid;

	if (!colon || gethostname(host, sizeof host - 1) < 0)
		return 0;
	if ((size_t)(colon - holder) != strlen(host) || strncmp(holder, host, strlen(host)) != 0)
		return 0;
	pid = strtol(colon + 1, NULL, 10);
	return pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

int lock_acquire(struct rds *r, const char *token, char *holder, size_t holderlen)
{
	for (int tries = 0; tries < 2; tries++) {
		redisReply *rep = rds_cmd(r, "SET mdw:lock:coordinator %s NX PX %d", token, MDW_LOCK_TTL_MS);
		int taken;

		if (!rep)
			return -1;
		taken = rep->type == REDIS_REPLY_STATUS;
		freeReplyObject(rep);
		if (taken)
			return 0;
		rep = rds_cmd(r, "GET mdw:lock:coordinator");
		if (!rep)
			return -1;
		snprintf(holder, holderlen, "%s", rep->type == REDIS_REPLY_STRING ? rep->str : "(expired)");
		freeReplyObject(rep);
		if (strcmp(holder, token) == 0)
			return 0; /* ours already */
		if (!holder_is_gone(holder))
			return 1;
		/* a coordinator of this host that died (kill -9): its lock is stale */
		rep = rds_cmd(r, "EVAL %s 1 mdw:lock:coordinator %s", release_lua, holder);
		freeReplyObject(rep);
	}
	return 1;
}

int lock_refresh(struct rds *r, const char *token, char *holder, size_t holderlen)
{
	redisReply *rep = rds_cmd(r, "EVAL %s 1 mdw:lock:coordinator %s %d", refresh_lua, token, MDW_LOCK_TTL_MS);
	int ok;

	if (!rep)
		return -1;
	if (rep->type == REDIS_REPLY_ERROR) {
		/* e.g. an ACL that forbids a command of the script: say so, do not pretend the lock is lost */
		snprintf(r->errstr, sizeof r->errstr, "lock refresh failed: %s", rep->str);
		freeReplyObject(rep);
		return -1;
	}
	ok = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
	freeReplyObject(rep);
	if (ok)
		return 0;
	/* gone (Redis restarted without data, or expired): take it again if free */
	return lock_acquire(r, token, holder, holderlen);
}

void lock_release(struct rds *r, const char *token)
{
	freeReplyObject(rds_cmd(r, "EVAL %s 1 mdw:lock:coordinator %s", release_lua, token));
}

struct lock_keeper {
	struct rds r;
	char token[128];
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
};

static void *keeper_main(void *arg)
{
	struct lock_keeper *k = arg;
	char holder[256];
	int warned = 0;

	pthread_mutex_lock(&k->mu);
	while (!k->stop) {
		struct timespec until;
		int lr;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += MDW_LOCK_TTL_MS / 3000;
		pthread_cond_timedwait(&k->cv, &k->mu, &until);
		if (k->stop)
			break;
		pthread_mutex_unlock(&k->mu);
		lr = lock_refresh(&k->r, k->token, holder, sizeof holder);
		if (lr == 1)
			mdw_warn("msg=\"lost the coordinator lock\" holder=%s", holder);
		if (lr < 0 && !warned)
			mdw_warn("msg=\"cannot refresh the coordinator lock: Redis unavailable?\" error=\"%s\"",
				 k->r.errstr);
		warned = lr < 0;
		pthread_mutex_lock(&k->mu);
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

struct lock_keeper *lock_keeper_start(const struct rds *r, const char *token, char *err, size_t errlen)
{
	struct lock_keeper *k = calloc(1, sizeof *k);
	int rc;

	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->r = *r;
	k->r.c = NULL; /* its own connection */
	snprintf(k->token, sizeof k->token, "%s", token);
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	if ((rc = pthread_create(&k->thread, NULL, keeper_main, k)) != 0) {
		snprintf(err, errlen, "cannot start the lock refresh thread: %s", strerror(rc));
		pthread_mutex_destroy(&k->mu);
		pthread_cond_destroy(&k->cv);
		free(k);
		return NULL;
	}
	return k;
}

void lock_keeper_stop(struct lock_keeper *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&k->mu);
	k->stop = 1;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	pthread_join(k->thread, NULL);
	rds_close(&k->r);
	pthread_mutex_destroy(&k->mu);
	pthread_cond_destroy(&k->cv);
	free(k);
}
