/* The cluster-wide rate limiter: two token buckets and an adaptive rate (botocore's cubic) in one Redis Lua script (see ratelimit.h). */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdw/ratelimit.h"

#define XSTR(x) #x
#define STR(x) XSTR(x)

/*
 * KEYS[1]: the state hash (req/tok: bucket levels, ts: time of the levels in
 * ms, cut: time of the last cut (-1: never), wmax: the factor just before it,
 * okd/thd: the recent answers, ok and throttled, each an exponentially
 * weighted count over about RL_SHARE_SPAN answers). ARGV: op (acquire,
 * correct, throttle, status), rpm, tpm, n (tokens for acquire and correct).
 * The factor is not stored: it is the cubic of the time since the last cut.
 * Numbers are stored with %.17g: Lua's tostring keeps only 14 digits, too
 * few for milliseconds since 1970 with a fraction.
 */
static const char script[] =
	"if redis.replicate_commands then redis.replicate_commands() end\n"
	"local op, rpm, tpm, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000\n"
	"local s = redis.call('HMGET', KEYS[1], 'req', 'tok', 'ts', 'cut', 'wmax', 'okd', 'thd')\n"
	"local ts = tonumber(s[3]) or now\n"
	"local cut = tonumber(s[4]) or -1\n"
	"local wmax = tonumber(s[5]) or 1\n"
	"local okd, thd = tonumber(s[6]) or 0, tonumber(s[7]) or 0\n"
	"local el = now - ts\n"
	"if el < 0 then el = 0 end\n"
	/* the cubic of botocore's adaptive mode, in fractions of the quota: wmax * BETA at the cut, back
	 * to wmax K seconds later, then faster; never above 1 (the quota) nor below the floor */
	"local function factor()\n"
	"  if cut < 0 then return 1 end\n"
	"  local k = (wmax * (1 - " STR(RL_DECREASE) ") / " STR(
		RL_CUBIC_C) ") ^ (1 / 3)\n"
			    "  local x = (now - cut) / 1000 - k\n"
			    "  local v = " STR(
				    RL_CUBIC_C) " * x * x * x + wmax\n"
						"  if v > 1 then v = 1 end\n"
						"  if v < " STR(RL_FACTOR_MIN) " then v = " STR(
							RL_FACTOR_MIN) " end\n"
								       "  return v\n"
								       "end\n"
								       "local f = factor()\n"
								       "local function cap(q) if q / 60 < 1 then return 1 end return q / 60 end\n"
								       "local function rate(q) local r = q - cap(q) if r < q / 2 then r = q / 2 end return r / 60000 end\n"
								       "local req = tonumber(s[1]) or cap(f * rpm)\n"
								       "local tok = tonumber(s[2]) or cap(f * tpm)\n"
								       "req = math.min(cap(f * rpm), req + el * rate(f * rpm))\n"
								       "tok = math.min(cap(f * tpm), tok + el * rate(f * tpm))\n"
								       "local function fmt(x) return string.format('%.17g', x) end\n"
								       "local function save()\n"
								       "  redis.call('HSET', KEYS[1], 'req', fmt(req), 'tok', fmt(tok), 'ts', fmt(now), 'cut', fmt(cut),\n"
								       "             'wmax', fmt(wmax), 'okd', fmt(okd), 'thd', fmt(thd))\n"
								       "  redis.call('PEXPIRE', KEYS[1], 3600000)\n"
								       "end\n"
								       /* one more answer in the weighted counts: the older ones weigh (1 - 1/SPAN) less */
								       "local function answer(ok)\n"
								       "  local d = 1 - 1 / " STR(
									       RL_SHARE_SPAN) "\n"
											      "  okd, thd = okd * d, thd * d\n"
											      "  if ok then okd = okd + 1 else thd = thd + 1 end\n"
											      "end\n"
											      "if op == 'acquire' then\n"
											      "  local need = math.min(n, cap(f * tpm))\n"
											      "  if req >= 1 and tok >= need then\n"
											      "    req = req - 1\n"
											      "    tok = tok - n\n"
											      "    save()\n"
											      "    return {1, 0}\n"
											      "  end\n"
											      "  local w = 0\n"
											      "  if req < 1 then w = (1 - req) / rate(f * rpm) end\n"
											      "  if tok < need then w = math.max(w, (need - tok) / rate(f * tpm)) end\n"
											      "  w = math.ceil(w)\n"
											      "  if w < 1 then w = 1 end\n"
											      "  if w > " STR(RL_MAX_WAIT_MS) " then w = " STR(
												      RL_MAX_WAIT_MS) " end\n"
														      "  return {0, w}\n"
														      "elseif op == 'correct' then\n"
														      "  tok = math.max(-tpm, math.min(cap(f * tpm), tok - n))\n"
														      "  answer(true)\n"
														      "  save()\n"
														      "  return {1, 0}\n"
														      "elseif op == 'throttle' then\n"
														      "  local did = 0\n"
														      /* answers to requests sent before the last cut are not new evidence */
														      "  if cut < 0 or now - cut >= " STR(
															      RL_COOLDOWN_MS) " then\n"
																	      "    answer(false)\n"
																	      "    if thd >= " STR(RL_SUSTAIN_MIN) " and thd >= " STR(
																		      RL_SUSTAIN_SHARE) " * (okd + thd) then\n"
																					"      wmax = f\n"
																					"      cut = now\n"
																					"      f = factor()\n"
																					"      did = 1\n"
																					"      okd, thd = 0, 0\n"
																					"      req = math.min(req, 0)\n"
																					"      tok = math.min(tok, cap(f * tpm))\n"
																					"    end\n"
																					"  end\n"
																					"  save()\n"
																					"  return {did, fmt(f)}\n"
																					"elseif op == 'status' then\n"
																					"  return {fmt(f), fmt(f * rpm), fmt(f * tpm), fmt(req), fmt(tok), fmt(okd), fmt(thd)}\n"
																					"end\n"
																					"return redis.error_reply('ERR unknown rate limiter op')\n";

/* SHA-1 of the script in hex, as EVALSHA wants it. -1 if OpenSSL fails. */
static int script_sha(char out[41])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (EVP_Digest(script, sizeof script - 1, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
		return -1;
	for (unsigned i = 0; i < 20; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[40] = 0;
	return 0;
}

/*
 * Run OP with the arguments; returns the reply (an array of WANT elements)
 * or NULL with ERR.
 */
static redisReply *run(struct rds *r, const char *prefix, const char *op, long rpm, long tpm, long n, size_t want,
		       char *err, size_t errlen)
{
	char sha[41], a_rpm[24], a_tpm[24], a_n[24];
	redisReply *rep;

	if (!prefix || !*prefix || rpm < 1 || tpm < 1) {
		snprintf(err, errlen,
			 "rate limiter: bad arguments (key %s, rpm %ld, tpm %ld): expected a key and "
			 "quotas of at least 1",
			 prefix && *prefix ? "set" : "empty", rpm, tpm);
		return NULL;
	}
	if (script_sha(sha) < 0) {
		snprintf(err, errlen, "rate limiter: SHA-1 of the script failed (OpenSSL)");
		return NULL;
	}
	snprintf(a_rpm, sizeof a_rpm, "%ld", rpm);
	snprintf(a_tpm, sizeof a_tpm, "%ld", tpm);
	snprintf(a_n, sizeof a_n, "%ld", n);
	rep = rds_cmd(r, "EVALSHA %s 1 %s %s %s %s %s", sha, prefix, op, a_rpm, a_tpm, a_n);
	if (rds_is_error(rep, "NOSCRIPT")) {
		freeReplyObject(rep);
		rep = rds_cmd(r, "EVAL %s 1 %s %s %s %s %s", script, prefix, op, a_rpm, a_tpm, a_n);
	}
	if (!rep) {
		snprintf(err, errlen, "rate limiter %s: %s", op, r->errstr);
		return NULL;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "rate limiter %s: Redis error: %s", op, rep->str);
		goto fail;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != want) {
		snprintf(err, errlen, "rate limiter %s: unexpected reply from Redis (type %d)", op, rep->type);
		goto fail;
	}
	return rep;
fail:
	freeReplyObject(rep);
	return NULL;
}

static long long int_at(const redisReply *rep, size_t i)
{
	const redisReply *e = rep->element[i];
	return e->type == REDIS_REPLY_INTEGER ? e->integer : 0;
}

static double num_at(const redisReply *rep, size_t i)
{
	const redisReply *e = rep->element[i];
	if (e->type == REDIS_REPLY_INTEGER)
		return (double)e->integer;
	return e->type == REDIS_REPLY_STRING ? strtod(e->str, NULL) : 0;
}

int rl_acquire(struct rds *r, const char *prefix, long rpm, long tpm, long est_tokens, long *wait_ms, char *err,
	       size_t errlen)
{
	redisReply *rep;

	*wait_ms = 0;
	if (est_tokens < 0) {
		snprintf(err, errlen, "rate limiter: token estimate %ld is negative", est_tokens);
		return -1;
	}
	rep = run(r, prefix, "acquire", rpm, tpm, est_tokens, 2, err, errlen);
	if (!rep)
		return -1;
	*wait_ms = int_at(rep, 0) ? 0 : (long)int_at(rep, 1);
	if (!int_at(rep, 0) && *wait_ms < 1)
		*wait_ms = 1;
	freeReplyObject(rep);
	return 0;
}

int rl_correct(struct rds *r, const char *prefix, long rpm, long tpm, long delta_tokens, char *err, size_t errlen)
{
	redisReply *rep = run(r, prefix, "correct", rpm, tpm, delta_tokens, 2, err, errlen);

	if (!rep)
		return -1;
	freeReplyObject(rep);
	return 0;
}

int rl_throttled(struct rds *r, const char *prefix, long rpm, long tpm, double *factor, int *cut, char *err,
		 size_t errlen)
{
	redisReply *rep = run(r, prefix, "throttle", rpm, tpm, 0, 2, err, errlen);

	if (!rep)
		return -1;
	if (cut)
		*cut = int_at(rep, 0) != 0;
	if (factor)
		*factor = num_at(rep, 1);
	freeReplyObject(rep);
	return 0;
}

int rl_status(struct rds *r, const char *prefix, long rpm, long tpm, struct rl_status *st, char *err, size_t errlen)
{
	redisReply *rep = run(r, prefix, "status", rpm, tpm, 0, 7, err, errlen);

	if (!rep)
		return -1;
	st->factor = num_at(rep, 0);
	st->rpm = num_at(rep, 1);
	st->tpm = num_at(rep, 2);
	st->requests = num_at(rep, 3);
	st->tokens = num_at(rep, 4);
	st->recent_ok = num_at(rep, 5);
	st->recent_throttled = num_at(rep, 6);
	freeReplyObject(rep);
	return 0;
}
