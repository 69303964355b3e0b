/* The fleet-wide guard of the legacy database: read slots and a row rate, in Redis (see source_guard.h). */
#include <stdio.h>

#include "mdw/source_guard.h"

/* KEYS[1] the slot set; ARGV member, max, lease ms. Returns 0 (held) or the ms until the first lease ends. */
static const char slot_script[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local max, lease = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
	"redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
	"if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < max then\n"
	"  redis.call('ZADD', KEYS[1], now + lease, ARGV[1])\n"
	"  redis.call('PEXPIRE', KEYS[1], lease * 2)\n"
	"  return 0\n"
	"end\n"
	"local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')\n"
	"local w = tonumber(first[2]) - now\n"
	"if w < 1 then w = 1 end\n"
	"return w\n";

/* KEYS[1] the bucket; ARGV op (take, correct), rate per s, rows. Returns 0 (granted) or the ms to wait. */
static const char rate_script[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000\n"
	"local rate, n = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
	"local cap = rate / 20\n"
	"if cap < 1 then cap = 1 end\n"
	"local s = redis.call('HMGET', KEYS[1], 'lvl', 'ts')\n"
	"local lvl = tonumber(s[1]) or cap\n"
	"local el = now - (tonumber(s[2]) or now)\n"
	"if el < 0 then el = 0 end\n"
	"lvl = math.min(cap, lvl + el * rate / 1000)\n"
	"local w = 0\n"
	"if ARGV[1] == 'take' then\n"
	"  if lvl >= 0 then lvl = lvl - n else w = math.ceil(-lvl * 1000 / rate) end\n"
	"  if w > 60000 then w = 60000 end\n"
	"else\n"
	"  lvl = math.min(cap, lvl - n)\n"
	"end\n"
	"redis.call('HSET', KEYS[1], 'lvl', string.format('%.17g', lvl), 'ts', string.format('%.17g', now))\n"
	"redis.call('PEXPIRE', KEYS[1], 3600000)\n"
	"return w\n";

/* EVAL SCRIPT on KEY with three arguments; the integer reply in *OUT. */
static int eval3(struct rds *r, const char *script, const char *key, const char *a, const char *b, const char *c,
		 long long *out, char *err, size_t errlen)
{
	redisReply *rep = rds_cmd(r, "EVAL %s 1 %s %s %s %s", script, key, a, b, c);

	if (!rep) {
		snprintf(err, errlen, "source guard: %s", r->errstr);
		return -1;
	}
	if (rep->type != REDIS_REPLY_INTEGER) {
		snprintf(err, errlen, "source guard: unexpected reply from Redis: %s",
			 rep->type == REDIS_REPLY_ERROR ? rep->str : "not an integer");
		freeReplyObject(rep);
		return -1;
	}
	*out = rep->integer;
	freeReplyObject(rep);
	return 0;
}

int sg_slot_take(struct rds *r, const char *member, long max, long lease_ms, long *wait_ms, char *err, size_t errlen)
{
	char m[24], l[24];
	long long w = 0;

	snprintf(m, sizeof m, "%ld", max);
	snprintf(l, sizeof l, "%ld", lease_ms);
	if (max < 1 || lease_ms < 1) {
		snprintf(err, errlen, "source guard: bad slot arguments (max %ld, lease %ld ms)", max, lease_ms);
		return -1;
	}
	if (eval3(r, slot_script, SG_SLOTS_KEY, member, m, l, &w, err, errlen) < 0)
		return -1;
	*wait_ms = (long)w;
	return 0;
}

int sg_slot_give(struct rds *r, const char *member, char *err, size_t errlen)
{
	redisReply *rep = rds_cmd(r, "ZREM %s %s", SG_SLOTS_KEY, member);

	if (!rep || rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "source guard: %s", rep ? rep->str : r->errstr);
		freeReplyObject(rep);
		return -1;
	}
	freeReplyObject(rep);
	return 0;
}

static int rows_op(struct rds *r, const char *op, long rate, long n, long *wait_ms, char *err, size_t errlen)
{
	char a[24], b[24];
	long long w = 0;

	if (rate < 1) {
		snprintf(err, errlen, "source guard: bad row rate %ld", rate);
		return -1;
	}
	snprintf(a, sizeof a, "%ld", rate);
	snprintf(b, sizeof b, "%ld", n);
	if (eval3(r, rate_script, SG_RATE_KEY, op, a, b, &w, err, errlen) < 0)
		return -1;
	if (wait_ms)
		*wait_ms = (long)w;
	return 0;
}

int sg_rows_take(struct rds *r, long rate, long est, long *wait_ms, char *err, size_t errlen)
{
	return rows_op(r, "take", rate, est < 0 ? 0 : est, wait_ms, err, errlen);
}

int sg_rows_correct(struct rds *r, long rate, long delta, char *err, size_t errlen)
{
	return rows_op(r, "correct", rate, delta, NULL, err, errlen);
}
