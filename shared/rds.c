/* Redis connection helpers (see rds.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "mdw/rds.h"

/* Percent-decode S[0..N) into OUT. -1 on a bad escape or overflow. */
static int url_decode(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '%') {
			char hex[3];
			char *end;
			if (i + 2 >= n)
				return -1;
			hex[0] = s[i + 1];
			hex[1] = s[i + 2];
			hex[2] = 0;
			ch = (char)strtol(hex, &end, 16);
			if (*end)
				return -1;
			i += 2;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = ch;
	}
	out[o] = 0;
	return 0;
}

int rds_parse_url(struct rds *r, const char *url, char *err, size_t errlen)
{
	const char *p, *at, *slash, *hostend, *colon;

	memset(r, 0, sizeof *r);
	r->port = 6379;
	r->timeout_ms = 10000;
	if (!url || !*url) {
		snprintf(err, errlen,
			 "invalid MDW_REDIS_URL \"\": expected redis://[user[:password]@]host[:port][/db]");
		return -1;
	}
	if (strncmp(url, "rediss://", 9) == 0) {
		snprintf(err, errlen,
			 "invalid MDW_REDIS_URL: rediss:// (TLS) needs hiredis 1.x built with SSL; this build has "
			 "hiredis %d.%d: use a local stunnel and redis:// (see README, Security)",
			 HIREDIS_MAJOR, HIREDIS_MINOR);
		return -1;
	}
	if (strncmp(url, "redis://", 8) != 0) {
		snprintf(err, errlen,
			 "invalid MDW_REDIS_URL: expected redis://[user[:password]@]host[:port][/db], got a URL "
			 "without the redis:// scheme");
		return -1;
	}
	p = url + 8;
	slash = strchr(p, '/');
	at = strrchr(p, '@');
	if (at && slash && at > slash)
		at = NULL;
	if (at) {
		const char *c = memchr(p, ':', (size_t)(at - p));
		if (c) {
			if (url_decode(p, (size_t)(c - p), r->user, sizeof r->user) < 0 ||
			    url_decode(c + 1, (size_t)(at - c - 1), r->pass, sizeof r->pass) < 0)
				goto bad;
		} else if (url_decode(p, (size_t)(at - p), r->pass, sizeof r->pass) < 0) {
			goto bad; /* redis://password@host (legacy form) */
		}
		p = at + 1;
	}
	hostend = slash ? slash : p + strlen(p);
	colon = NULL;
	for (const char *q = p; q < hostend; q++)
		if (*q == ':')
			colon = q;
	if (colon) {
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (end != hostend || port < 1 || port > 65535)
			goto bad;
		r->port = (int)port;
	} else {
		colon = hostend;
	}
	if (colon == p || (size_t)(colon - p) >= sizeof r->host)
		goto bad;
	memcpy(r->host, p, (size_t)(colon - p));
	if (slash && slash[1]) {
		char *end;
		long db = strtol(slash + 1, &end, 10);
		if (*end || db < 0 || db > 15)
			goto bad;
		r->db = (int)db;
	}
	return 0;
bad:
	snprintf(err, errlen,
		 "invalid MDW_REDIS_URL: expected redis://[user[:password]@]host[:port][/db] "
		 "with a port from 1 to 65535 and a db from 0 to 15");
	return -1;
}

void rds_close(struct rds *r)
{
	if (r->c)
		redisFree(r->c);
	r->c = NULL;
}

int rds_connect(struct rds *r)
{
	struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
	redisReply *rep;

	rds_close(r);
	r->c = redisConnectWithTimeout(r->host, r->port, tv);
	if (!r->c || r->c->err) {
		snprintf(r->errstr, sizeof r->errstr, "cannot connect to Redis at %s:%d: %s", r->host, r->port,
			 r->c ? r->c->errstr : "out of memory");
		goto fail;
	}
	redisSetTimeout(r->c, tv);
	if (r->pass[0]) {
		rep = r->user[0] ? redisCommand(r->c, "AUTH %s %s", r->user, r->pass)
				 : redisCommand(r->c, "AUTH %s", r->pass);
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			snprintf(r->errstr, sizeof r->errstr, "Redis at %s:%d refused AUTH%s%s: %s", r->host, r->port,
				 r->user[0] ? " for user " : "", r->user, rep ? rep->str : "connection lost");
			freeReplyObject(rep);
			goto fail;
		}
		freeReplyObject(rep);
	}
	if (r->db) {
		rep = redisCommand(r->c, "SELECT %d", r->db);
		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			snprintf(r->errstr, sizeof r->errstr, "Redis SELECT %d failed: %s", r->db,
				 rep ? rep->str : "connection lost");
			freeReplyObject(rep);
			goto fail;
		}
		freeReplyObject(rep);
	}
	return 0;
fail:
	rds_close(r);
	return -1;
}

static redisReply *finish(struct rds *r, redisReply *rep)
{
	if (!rep) {
		snprintf(r->errstr, sizeof r->errstr, "Redis at %s:%d: %s", r->host, r->port,
			 r->c && r->c->errstr[0] ? r->c->errstr : "connection lost");
		rds_close(r);
	}
	return rep;
}

redisReply *rds_cmd(struct rds *r, const char *fmt, ...)
{
	va_list ap;
	redisReply *rep;

	if (!r->c && rds_connect(r) < 0)
		return NULL;
	va_start(ap, fmt);
	rep = redisvCommand(r->c, fmt, ap);
	va_end(ap);
	return finish(r, rep);
}

redisReply *rds_cmdv(struct rds *r, int argc, const char **argv, const size_t *lens)
{
	if (!r->c && rds_connect(r) < 0)
		return NULL;
	return finish(r, redisCommandArgv(r->c, argc, argv, lens));
}

int rds_is_error(const redisReply *reply, const char *prefix)
{
	return reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, prefix, strlen(prefix)) == 0;
}
