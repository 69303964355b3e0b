/*
 * CUnit: the cluster-wide rate limiter against a real Redis (MDW_REDIS_URL,
 * e.g. from eval "$(deploy/local/stack env)"): burst and wait, token debits
 * and corrections, the adaptive rate (a lone or random 429 does not cut it,
 * sustained throttling does, once per cooldown, and it grows back on a
 * cubic), several clients sharing one quota and one throttling count. Each test uses
 * its own key; without MDW_REDIS_URL the suite is skipped.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cunit_main.h"
#include "mdw/ratelimit.h"

static struct rds R;
static char err[512];
static int key_seq;

static void new_key(char *buf, size_t len)
{
	snprintf(buf, len, "mdw:{rltest-%ld-%d}:rate:%d", (long)getpid(), (int)time(NULL), ++key_seq);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void del(const char *key)
{
	freeReplyObject(rds_cmd(&R, "DEL %s", key));
}

static struct rl_status status(const char *key, long rpm, long tpm)
{
	struct rl_status st = {0};
	CU_ASSERT_EQUAL(rl_status(&R, key, rpm, tpm, &st, err, sizeof err), 0);
	return st;
}

/* rpm=600: a 1 s burst of 10, then a wait of about 1/10 s, honoured, then granted again. */
static void test_burst_then_wait(void)
{
	char key[96];
	long wait = -1;
	int granted = 0;
	new_key(key, sizeof key);
	for (int i = 0; i < 30; i++) {
		CU_ASSERT_EQUAL_FATAL(rl_acquire(&R, key, 600, 1000000, 10, &wait, err, sizeof err), 0);
		if (wait)
			break;
		granted++;
	}
	CU_ASSERT(granted >= 10 && granted <= 11);
	CU_ASSERT(wait >= 1 && wait <= 110);
	/* denied requests debit nothing: asking again gives about the same wait */
	{
		long again = -1;
		CU_ASSERT_EQUAL(rl_acquire(&R, key, 600, 1000000, 10, &again, err, sizeof err), 0);
		CU_ASSERT(again >= 1 && again <= wait);
	}
	sleep_ms(wait + 5);
	CU_ASSERT_EQUAL(rl_acquire(&R, key, 600, 1000000, 10, &wait, err, sizeof err), 0);
	CU_ASSERT_EQUAL(wait, 0);
	del(key);
}

/* tpm=6000: a 100-token burst refilling at ~98 tokens/s; corrections debit and refund. */
static void test_tokens(void)
{
	char key[96];
	long wait = -1;
	struct rl_status st;
	new_key(key, sizeof key);
	CU_ASSERT_EQUAL_FATAL(rl_acquire(&R, key, 60000, 6000, 60, &wait, err, sizeof err), 0);
	CU_ASSERT_EQUAL(wait, 0);
	st = status(key, 60000, 6000);
	CU_ASSERT(st.tokens >= 40 && st.tokens < 42);
	/* 40 left, 60 wanted: about 20 / 0.098 = 204 ms */
	CU_ASSERT_EQUAL(rl_acquire(&R, key, 60000, 6000, 60, &wait, err, sizeof err), 0);
	CU_ASSERT(wait >= 150 && wait <= 210);
	/* the answer said 10 tokens, not 60: refund 50 */
	CU_ASSERT_EQUAL(rl_correct(&R, key, 60000, 6000, -50, err, sizeof err), 0);
	st = status(key, 60000, 6000);
	CU_ASSERT(st.tokens >= 90 && st.tokens <= 100);
	CU_ASSERT_EQUAL(rl_acquire(&R, key, 60000, 6000, 60, &wait, err, sizeof err), 0);
	CU_ASSERT_EQUAL(wait, 0);
	/* the answer said 260, not 60: a debt of about 170 tokens, ~2.7 s to a 100-token request */
	CU_ASSERT_EQUAL(rl_correct(&R, key, 60000, 6000, 200, err, sizeof err), 0);
	st = status(key, 60000, 6000);
	CU_ASSERT(st.tokens < -165 && st.tokens > -171);
	CU_ASSERT_EQUAL(rl_acquire(&R, key, 60000, 6000, 100, &wait, err, sizeof err), 0);
	CU_ASSERT(wait >= 2600 && wait <= 2800);
	/* a refund never fills the bucket past its 1 s capacity */
	CU_ASSERT_EQUAL(rl_correct(&R, key, 60000, 6000, -100000, err, sizeof err), 0);
	st = status(key, 60000, 6000);
	CU_ASSERT(st.tokens <= 100.0001);
	/* and a debt is bounded by one minute of quota */
	CU_ASSERT_EQUAL(rl_correct(&R, key, 60000, 6000, 100000000, err, sizeof err), 0);
	st = status(key, 60000, 6000);
	CU_ASSERT(st.tokens >= -6000);
	del(key);
}

/* A request bigger than the 1 s burst still goes through when the bucket is full, leaving a debt. */
static void test_oversized(void)
{
	char key[96];
	long wait = -1;
	struct rl_status st;
	new_key(key, sizeof key);
	CU_ASSERT_EQUAL(rl_acquire(&R, key, 60000, 6000, 500, &wait, err, sizeof err), 0);
	CU_ASSERT_EQUAL(wait, 0);
	st = status(key, 60000, 6000);
	CU_ASSERT(st.tokens < -399 && st.tokens > -401);
	CU_ASSERT_EQUAL(rl_acquire(&R, key, 60000, 6000, 500, &wait, err, sizeof err), 0);
	CU_ASSERT(wait > 5000);
	del(key);
}

static void hset(const char *key, const char *field, double v)
{
	char s[64];
	snprintf(s, sizeof s, "%.17g", v);
	freeReplyObject(rds_cmd(&R, "HSET %s %s %s", key, field, s));
}

/* N successful answers (zero corrections). */
static void oks(const char *key, int n)
{
	for (int i = 0; i < n; i++)
		CU_ASSERT_EQUAL_FATAL(rl_correct(&R, key, 600, 1000000, 0, err, sizeof err), 0);
}

/* One throttled answer on client C; returns whether it cut, F in *F. */
static int throttle_on(struct rds *c, const char *key, double *f)
{
	int cut = -1;
	CU_ASSERT_EQUAL_FATAL(rl_throttled(c, key, 600, 1000000, f, &cut, err, sizeof err), 0);
	return cut;
}

/* Move the last cut MS further into the past (rather than sleep). */
static void cut_ago(const char *key, double ms)
{
	redisReply *rep = rds_cmd(&R, "TIME");
	double now = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2
			     ? strtod(rep->element[0]->str, NULL) * 1000 + strtod(rep->element[1]->str, NULL) / 1000
			     : 0;
	freeReplyObject(rep);
	hset(key, "cut", now - ms);
}

/* A lone 429 among successes is retried by its caller: it never cuts the shared rate. */
static void test_lone_throttle(void)
{
	char key[96];
	double f = 0;
	new_key(key, sizeof key);
	oks(key, 50);
	CU_ASSERT_EQUAL(throttle_on(&R, key, &f), 0);
	CU_ASSERT_DOUBLE_EQUAL(f, 1.0, 1e-9);
	oks(key, 20);
	CU_ASSERT_EQUAL(throttle_on(&R, key, &f), 0);
	CU_ASSERT_DOUBLE_EQUAL(status(key, 600, 1000000).factor, 1.0, 1e-9);
	/* even as the very first answer of a run */
	new_key(key, sizeof key);
	CU_ASSERT_EQUAL(throttle_on(&R, key, &f), 0);
	CU_ASSERT_DOUBLE_EQUAL(f, 1.0, 1e-9);
	del(key);
}

/* 5% of the answers throttled at random (Bedrock on bursts): 2,000 answers, no cut. */
static void test_random_throttles(void)
{
	char key[96];
	double f = 0;
	int cuts = 0;
	new_key(key, sizeof key);
	for (int i = 0; i < 2000; i++) {
		if (i % 20 == 7)
			cuts += throttle_on(&R, key, &f);
		else
			oks(key, 1);
	}
	CU_ASSERT_EQUAL(cuts, 0);
	CU_ASSERT_DOUBLE_EQUAL(status(key, 600, 1000000).factor, 1.0, 1e-9);
	/* bursts of 3 in a row, 6% overall: still no cut */
	for (int i = 0; i < 1000; i++) {
		if (i % 50 < 3)
			cuts += throttle_on(&R, key, &f);
		else
			oks(key, 1);
	}
	CU_ASSERT_EQUAL(cuts, 0);
	del(key);
}

/* Sustained throttling cuts the rate to 70% once, empties the request bucket, then a cooldown. */
static void test_sustained(void)
{
	char key[96];
	double f = 0;
	long wait = -1;
	int k, cut = 0;
	new_key(key, sizeof key);
	oks(key, 20);
	/*
	 * after 20 oks: a weighted 5 throttles and a quarter of the answers (each answer weighs 1% less
	 * than the next: 20 oks then 6 throttles weigh 17.1 and 5.9): the 6th is both
	 */
	for (k = 1; k <= 20 && !cut; k++)
		cut = throttle_on(&R, key, &f);
	CU_ASSERT_EQUAL(cut, 1);
	CU_ASSERT_EQUAL(k - 1, 6);
	CU_ASSERT_DOUBLE_EQUAL(f, 0.7, 1e-3);
	CU_ASSERT(status(key, 600, 1000000).rpm < 421);
	/* every worker pauses */
	CU_ASSERT_EQUAL(rl_acquire(&R, key, 600, 1000000, 10, &wait, err, sizeof err), 0);
	CU_ASSERT(wait >= 1);
	/* the answers to requests sent before the cut: no second cut, however many */
	for (int i = 0; i < 20; i++)
		CU_ASSERT_EQUAL(throttle_on(&R, key, &f), 0);
	CU_ASSERT(f > 0.69 && f < 0.71);
	/*
	 * after the cooldown, sustained throttling cuts again, to 0.7 of the rate then (grown back
	 * for 2 s on the cubic); the counts started afresh at the cut: 6 throttles weigh 5.9
	 */
	cut_ago(key, RL_COOLDOWN_MS + 1);
	cut = 0;
	for (k = 1; k <= 20 && !cut; k++)
		cut = throttle_on(&R, key, &f);
	CU_ASSERT_EQUAL(cut, 1);
	CU_ASSERT_EQUAL(k - 1, 6);
	CU_ASSERT_DOUBLE_EQUAL(f,
			       0.7 * (RL_CUBIC_C * pow((RL_COOLDOWN_MS + 1) / 1000.0 - cbrt(0.3 / RL_CUBIC_C), 3) + 1),
			       2e-3);
	del(key);
}

/* After a cut the rate grows back on the cubic: fast, flat near where it was cut, then up to the quota. */
static void test_cubic_regrowth(void)
{
	char key[96];
	double f = 0, k1 = cbrt(0.3 / RL_CUBIC_C), prev = 0;
	int cut = 0;
	new_key(key, sizeof key);
	for (int i = 0; i < 20 && !cut; i++)
		cut = throttle_on(&R, key, &f);
	CU_ASSERT_EQUAL_FATAL(cut, 1);
	CU_ASSERT_DOUBLE_EQUAL(f, 0.7, 1e-3);
	/* F(t) = C (t - K)^3 + 1: at K/2 1 - 0.3/8, at K the quota, and no further */
	cut_ago(key, k1 / 2 * 1000);
	CU_ASSERT_DOUBLE_EQUAL(status(key, 600, 1000000).factor, 1 - 0.3 / 8, 2e-3);
	for (double t = 0.5; t <= k1 + 1; t += 0.5) {
		double ft;
		cut_ago(key, t * 1000);
		ft = status(key, 600, 1000000).factor;
		CU_ASSERT(ft >= prev);
		prev = ft;
	}
	cut_ago(key, k1 * 1000 + 1);
	CU_ASSERT_DOUBLE_EQUAL(status(key, 600, 1000000).factor, 1.0, 1e-9);
	cut_ago(key, 600000);
	CU_ASSERT_DOUBLE_EQUAL(status(key, 600, 1000000).factor, 1.0, 1e-9);
	/* cut again from 0.7: to 0.49, back to 0.7 after cbrt(0.21 / C) s, then on up to 1 */
	hset(key, "wmax", 0.7);
	cut_ago(key, 0);
	CU_ASSERT_DOUBLE_EQUAL(status(key, 600, 1000000).factor, 0.49, 2e-3);
	cut_ago(key, cbrt(0.21 / RL_CUBIC_C) * 1000);
	CU_ASSERT_DOUBLE_EQUAL(status(key, 600, 1000000).factor, 0.7, 2e-3);
	cut_ago(key, 20000);
	CU_ASSERT_DOUBLE_EQUAL(status(key, 600, 1000000).factor, 1.0, 1e-9);
	/* the floor: 5% of the quota */
	hset(key, "wmax", 0.06);
	cut_ago(key, 0);
	CU_ASSERT_DOUBLE_EQUAL(status(key, 600, 1000000).factor, RL_FACTOR_MIN, 1e-9);
	/* at 5% of 600 rpm (30 rpm) the burst is one request and the wait about 2 s */
	hset(key, "req", 1);
	{
		long wait = -1;
		CU_ASSERT_EQUAL(rl_acquire(&R, key, 600, 1000000, 10, &wait, err, sizeof err), 0);
		CU_ASSERT_EQUAL(wait, 0);
		CU_ASSERT_EQUAL(rl_acquire(&R, key, 600, 1000000, 10, &wait, err, sizeof err), 0);
		CU_ASSERT(wait >= 2000 && wait <= 4100);
	}
	del(key);
}

/* The counts are the fleet's: throttles reported by two workers on their own connections add up. */
static void test_fleet_counts(void)
{
	struct rds a = R, b = R;
	char key[96];
	double f = 0;
	int cuts = 0, i;
	a.c = b.c = NULL;
	new_key(key, sizeof key);
	oks(key, 10);
	/* alternately: neither worker's 3 reach the weighted 5 of a cut; the fleet's 6th throttle does */
	for (i = 1; i <= 8 && !cuts; i++)
		cuts += throttle_on(i % 2 ? &a : &b, key, &f);
	CU_ASSERT_EQUAL(cuts, 1);
	CU_ASSERT_EQUAL(i - 1, 6);
	CU_ASSERT_DOUBLE_EQUAL(f, 0.7, 1e-3);
	CU_ASSERT_DOUBLE_EQUAL(status(key, 600, 1000000).factor, 0.7, 1e-3);
	rds_close(&a);
	rds_close(&b);
	del(key);
}

/* Four clients on separate connections share the quota: 1200 rpm gives at most 20 + 19.67/s. */
static void test_shared(void)
{
	enum { N = 4 };
	struct rds c[N];
	double next[N] = {0}, t0, end;
	char key[96];
	int granted = 0;
	new_key(key, sizeof key);
	for (int i = 0; i < N; i++) {
		c[i] = R;
		c[i].c = NULL;
	}
	t0 = now_ms();
	end = t0 + 1500;
	while (now_ms() < end) {
		for (int i = 0; i < N; i++) {
			long wait = -1;
			double t = now_ms();
			if (t < next[i])
				continue;
			CU_ASSERT_EQUAL_FATAL(rl_acquire(&c[i], key, 1200, 1000000, 5, &wait, err, sizeof err), 0);
			if (wait)
				next[i] = t + (double)wait;
			else
				granted++;
		}
		sleep_ms(1);
	}
	/* 20 at once, then 19.67 per second for 1.5 s: 49.5 at most */
	CU_ASSERT(granted <= 50);
	CU_ASSERT(granted >= 44);
	for (int i = 0; i < N; i++)
		rds_close(&c[i]);
	del(key);
}

/* EVALSHA falls back to EVAL when the server lost its script cache. */
static void test_script_flush(void)
{
	char key[96];
	long wait = -1;
	new_key(key, sizeof key);
	freeReplyObject(rds_cmd(&R, "SCRIPT FLUSH"));
	CU_ASSERT_EQUAL(rl_acquire(&R, key, 600, 1000, 1, &wait, err, sizeof err), 0);
	CU_ASSERT_EQUAL(wait, 0);
	CU_ASSERT_EQUAL(rl_acquire(&R, key, 600, 1000, 1, &wait, err, sizeof err), 0);
	CU_ASSERT_EQUAL(wait, 0);
	del(key);
}

static void test_bad_args(void)
{
	long wait = 5;
	CU_ASSERT_EQUAL(rl_acquire(&R, "mdw:{x}:rate", 0, 1000, 1, &wait, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "rpm 0"));
	CU_ASSERT_EQUAL(rl_acquire(&R, "mdw:{x}:rate", 10, 1000, -1, &wait, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "negative"));
	CU_ASSERT_EQUAL(rl_acquire(&R, "", 10, 1000, 1, &wait, err, sizeof err), -1);
	CU_ASSERT_EQUAL(rl_correct(&R, "mdw:{x}:rate", 10, 0, 1, err, sizeof err), -1);
	/* a key of the wrong type is a Redis error, reported */
	{
		char key[96];
		new_key(key, sizeof key);
		freeReplyObject(rds_cmd(&R, "SET %s x", key));
		CU_ASSERT_EQUAL(rl_acquire(&R, key, 10, 1000, 1, &wait, err, sizeof err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "WRONGTYPE"));
		del(key);
	}
	/* an unreachable Redis */
	{
		struct rds bad = R;
		bad.c = NULL;
		bad.port = 1;
		CU_ASSERT_EQUAL(rl_acquire(&bad, "mdw:{x}:rate", 10, 1000, 1, &wait, err, sizeof err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot connect"));
		rds_close(&bad);
	}
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"burst then wait", test_burst_then_wait},
		{"token debits and corrections", test_tokens},
		{"oversized request", test_oversized},
		{"a lone throttle does not cut", test_lone_throttle},
		{"5% random throttles do not cut", test_random_throttles},
		{"sustained throttling cuts once per cooldown", test_sustained},
		{"cubic regrowth", test_cubic_regrowth},
		{"the fleet's answers add up", test_fleet_counts},
		{"clients share the quota", test_shared},
		{"EVALSHA falls back to EVAL", test_script_flush},
		{"bad arguments and errors", test_bad_args},
		{NULL, NULL},
	};
	const char *url = getenv("MDW_REDIS_URL");
	int rc;

	if (!url || !*url) {
		fprintf(stderr, "test_ratelimit: MDW_REDIS_URL is not set: suite skipped "
				"(hint: eval \"$(deploy/local/stack env)\")\n");
		return 77; /* CTest: SKIP_RETURN_CODE */
	}
	if (rds_parse_url(&R, url, err, sizeof err) < 0 || rds_connect(&R) < 0) {
		fprintf(stderr, "test_ratelimit: %s\n", err[0] ? err : R.errstr);
		return 1;
	}
	rc = run_suite("ratelimit", tests);
	rds_close(&R);
	return rc;
}
