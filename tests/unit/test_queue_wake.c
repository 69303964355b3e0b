/*
 * CUnit: the queue's wake-ups (shared/queue.c) against a real Redis
 * (MDW_REDIS_URL, e.g. from eval "$(deploy/local/stack env)"), in Redis db 14
 * so that the fixed key mdw:wake is the test's own: a token wakes a waiter at
 * once, no token times out, mdw:wake keeps at most MDWQ_WAKE_MAX tokens,
 * draining deletes the rest, and an acknowledged chunk leaves a token for the
 * coordinator on mdw:{RUN}:events. Without MDW_REDIS_URL the suite is skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cunit_main.h"
#include "mdw/queue.h"

static struct rds R;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long llen(const char *key)
{
	redisReply *rep = rds_cmd(&R, "LLEN %s", key);
	long long n = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
	freeReplyObject(rep);
	return n;
}

static void test_wait_times_out(void)
{
	double t0;

	freeReplyObject(rds_cmd(&R, "DEL " MDWQ_WAKE));
	t0 = now_s();
	CU_ASSERT_EQUAL(mdwq_wait(&R, MDWQ_WAKE, 200, 0), 0);
	CU_ASSERT(now_s() - t0 >= 0.15);
}

static void test_token_wakes(void)
{
	freeReplyObject(rds_cmd(&R, "DEL " MDWQ_WAKE));
	mdwq_wake_workers(&R, 3);
	CU_ASSERT_EQUAL(llen(MDWQ_WAKE), 3);
	/* a worker takes one token, the others stay for the other workers */
	CU_ASSERT_EQUAL(mdwq_wait(&R, MDWQ_WAKE, 5000, 0), 1);
	CU_ASSERT_EQUAL(llen(MDWQ_WAKE), 2);
	/* the coordinator's way: one wake-up, the rest dropped */
	CU_ASSERT_EQUAL(mdwq_wait(&R, MDWQ_WAKE, 5000, 1), 1);
	CU_ASSERT_EQUAL(llen(MDWQ_WAKE), 0);
	mdwq_wake_workers(&R, 0);
	CU_ASSERT_EQUAL(llen(MDWQ_WAKE), 0);
}

static void test_tokens_capped(void)
{
	freeReplyObject(rds_cmd(&R, "DEL " MDWQ_WAKE));
	mdwq_wake_workers(&R, 1000);
	CU_ASSERT_EQUAL(llen(MDWQ_WAKE), MDWQ_WAKE_MAX);
	mdwq_wake_workers(&R, 10);
	CU_ASSERT_EQUAL(llen(MDWQ_WAKE), MDWQ_WAKE_MAX);
	freeReplyObject(rds_cmd(&R, "DEL " MDWQ_WAKE));
}

static void test_ack_tells_the_coordinator(void)
{
	int64_t run = 900000000 + (int64_t)getpid();
	struct mdw_chunk c = {run, MDW_PH_PRACTICES, 0, 1, 10, MDW_PART_NONE};
	char q[128], events[128], id[64] = "";
	redisReply *rep;

	mdwq_key(q, sizeof q, run, "q", "practices");
	mdwq_key(events, sizeof events, run, "events", NULL);
	CU_ASSERT_EQUAL_FATAL(mdwq_ensure_group(&R, run, "practices"), 0);
	CU_ASSERT_EQUAL_FATAL(mdwq_enqueue(&R, &c), 0);
	rep = rds_cmd(&R, "XREADGROUP GROUP " MDWQ_GROUP " t COUNT 1 STREAMS %s >", q);
	CU_ASSERT_FATAL(rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1);
	snprintf(id, sizeof id, "%s", rep->element[0]->element[1]->element[0]->element[0]->str);
	freeReplyObject(rep);
	CU_ASSERT_EQUAL(llen(events), 0);
	CU_ASSERT_EQUAL_FATAL(mdwq_ack(&R, run, "practices", id), 0);
	CU_ASSERT_EQUAL(llen(events), 1);
	CU_ASSERT_EQUAL(mdwq_wait(&R, events, 5000, 1), 1);
	CU_ASSERT_EQUAL(llen(events), 0);
	freeReplyObject(rds_cmd(&R, "DEL %s %s", q, events));
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"no token: the wait times out", test_wait_times_out},
		{"a token wakes one waiter", test_token_wakes},
		{"mdw:wake keeps at most MDWQ_WAKE_MAX tokens", test_tokens_capped},
		{"an ack leaves a token for the coordinator", test_ack_tells_the_coordinator},
		{NULL, NULL},
	};
	const char *url = getenv("MDW_REDIS_URL");
	char err[512];
	int rc;

	if (!url || !*url) {
		fprintf(stderr, "test_queue_wake: MDW_REDIS_URL is not set: suite skipped "
				"(hint: eval \"$(deploy/local/stack env)\")\n");
		return 77; /* CTest: SKIP_RETURN_CODE */
	}
	if (rds_parse_url(&R, url, err, sizeof err) < 0) {
		fprintf(stderr, "test_queue_wake: %s\n", err);
		return 1;
	}
	R.db = 14; /* the fixed key mdw:wake: not the stack's */
	if (rds_connect(&R) < 0) {
		fprintf(stderr, "test_queue_wake: %s\n", R.errstr);
		return 1;
	}
	rc = run_suite("queue_wake", tests);
	rds_close(&R);
	return rc;
}
