/* The coordinator lock (see lock.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lock.h"


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
