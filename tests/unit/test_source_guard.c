/*
 * CUnit: the fleet-wide source guard against a real Redis (MDW_REDIS_URL):
 * slots (at most MAX holders, renewal, give back, a dead holder's lease runs
 * out) and the row bucket (burst, debt and wait, correction). Without
 * MDW_REDIS_URL the suite is skipped. It uses the guard's fixed keys: run it
 * against a Redis database no migration uses at the same time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cunit_main.h"
#include "mdw/source_guard.h"

static struct rds R;
static char err[512];

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static long take(const char *who, long max, long lease)
{
	long wait = -1;
	CU_ASSERT_EQUAL_FATAL(sg_slot_take(&R, who, max, lease, &wait, err, sizeof err), 0);
	return wait;
}

static void test_slots(void)
{
	freeReplyObject(rds_cmd(&R, "DEL %s", SG_SLOTS_KEY));
	CU_ASSERT_EQUAL(take("a", 2, 10000), 0);
	CU_ASSERT_EQUAL(take("b", 2, 10000), 0);
	CU_ASSERT(take("c", 2, 10000) >= 1);     /* both slots held */
	CU_ASSERT_EQUAL(take("a", 2, 10000), 0); /* a holder renews its own */
	CU_ASSERT_EQUAL(sg_slot_give(&R, "a", err, sizeof err), 0);
	CU_ASSERT_EQUAL(take("c", 2, 10000), 0);
	CU_ASSERT(take("a", 2, 10000) >= 1);
	/* a holder that dies: its slot comes back when its lease runs out */
	freeReplyObject(rds_cmd(&R, "DEL %s", SG_SLOTS_KEY));
	CU_ASSERT_EQUAL(take("dead", 1, 150), 0);
	{
		long w = take("next", 1, 10000);
		CU_ASSERT(w >= 1 && w <= 150);
		sleep_ms(w + 20);
	}
	CU_ASSERT_EQUAL(take("next", 1, 10000), 0);
	freeReplyObject(rds_cmd(&R, "DEL %s", SG_SLOTS_KEY));
	{
		long w;
		CU_ASSERT_EQUAL(sg_slot_take(&R, "x", 0, 1000, &w, err, sizeof err), -1);
	}
}

static void test_rows(void)
{
	long wait = -1;

	freeReplyObject(rds_cmd(&R, "DEL %s", SG_RATE_KEY));
	/* 1000 rows/s: the bucket holds 50; a read of 100 is granted and leaves a debt of 50 */
	CU_ASSERT_EQUAL_FATAL(sg_rows_take(&R, 1000, 100, &wait, err, sizeof err), 0);
	CU_ASSERT_EQUAL(wait, 0);
	CU_ASSERT_EQUAL(sg_rows_take(&R, 1000, 100, &wait, err, sizeof err), 0);
	CU_ASSERT(wait >= 1 && wait <= 50); /* the debt is paid off at 1 row per ms */
	sleep_ms(wait + 5);
	CU_ASSERT_EQUAL(sg_rows_take(&R, 1000, 100, &wait, err, sizeof err), 0);
	CU_ASSERT_EQUAL(wait, 0);
	/* the read found fewer rows than estimated: the refund pays the debt */
	CU_ASSERT_EQUAL(sg_rows_correct(&R, 1000, -100, err, sizeof err), 0);
	CU_ASSERT_EQUAL(sg_rows_take(&R, 1000, 10, &wait, err, sizeof err), 0);
	CU_ASSERT_EQUAL(wait, 0);
	CU_ASSERT_EQUAL(sg_rows_take(&R, 0, 10, &wait, err, sizeof err), -1);
	freeReplyObject(rds_cmd(&R, "DEL %s", SG_RATE_KEY));
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"slots", test_slots},
		{"rows", test_rows},
		{NULL, NULL},
	};
	const char *url = getenv("MDW_REDIS_URL");
	int rc;

	if (!url || !*url) {
		fprintf(stderr, "test_source_guard: MDW_REDIS_URL is not set: suite skipped "
				"(hint: eval \"$(deploy/local/stack env)\")\n");
		return 77;
	}
	if (rds_parse_url(&R, url, err, sizeof err) < 0 || rds_connect(&R) < 0) {
		fprintf(stderr, "test_source_guard: %s\n", err[0] ? err : R.errstr);
		return 1;
	}
	rc = run_suite("source_guard", tests);
	rds_close(&R);
	return rc;
}
