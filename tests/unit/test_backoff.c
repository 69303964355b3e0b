/* CUnit: exponential backoff with full jitter (shared/backoff.c): bounds, growth to the cap, reset, spread, seeds. */
#include "cunit_main.h"
#include "mdw/backoff.h"

static void test_backoff(void)
{
	struct mdw_backoff b;
	mdw_backoff_init(&b, 100, 1000, 7);
	CU_ASSERT_EQUAL(mdw_backoff_ceiling(&b), 100);
	for (int i = 0; i < 20; i++) {
		long ceil = mdw_backoff_ceiling(&b), w = mdw_backoff_next(&b);
		CU_ASSERT_TRUE(w >= 0 && w <= ceil);
		CU_ASSERT_TRUE(ceil <= 1000);
	}
	CU_ASSERT_EQUAL(mdw_backoff_ceiling(&b), 1000);
	mdw_backoff_reset(&b);
	CU_ASSERT_EQUAL(mdw_backoff_ceiling(&b), 100);
	{
		/* full jitter: the waits are spread, not all at the ceiling */
		long lo = 100000, hi = 0;
		struct mdw_backoff c;
		mdw_backoff_init(&c, 1000, 1000, 3);
		for (int i = 0; i < 200; i++) {
			long w = mdw_backoff_next(&c);
			lo = w < lo ? w : lo;
			hi = w > hi ? w : hi;
		}
		CU_ASSERT_TRUE(lo < 200 && hi > 800);
	}
}

static void test_doubling(void)
{
	struct mdw_backoff b;
	static const long ceilings[] = {50, 100, 200, 400, 800, 1000, 1000};

	mdw_backoff_init(&b, 50, 1000, 1);
	for (unsigned i = 0; i < sizeof ceilings / sizeof ceilings[0]; i++) {
		CU_ASSERT_EQUAL(mdw_backoff_ceiling(&b), ceilings[i]);
		(void)mdw_backoff_next(&b);
	}
}

static void test_bad_bounds(void)
{
	struct mdw_backoff b;

	/* a base of 0 or less would never grow: it is 1 ms */
	mdw_backoff_init(&b, 0, 10, 1);
	CU_ASSERT_EQUAL(mdw_backoff_ceiling(&b), 1);
	/* a cap below the base is the base */
	mdw_backoff_init(&b, 500, 20, 1);
	CU_ASSERT_EQUAL(mdw_backoff_ceiling(&b), 500);
	CU_ASSERT_TRUE(mdw_backoff_next(&b) <= 500);
	CU_ASSERT_EQUAL(mdw_backoff_ceiling(&b), 500);
}

static void test_seed_reproducible(void)
{
	struct mdw_backoff a, b;

	mdw_backoff_init(&a, 10, 100000, 42);
	mdw_backoff_init(&b, 10, 100000, 42);
	for (int i = 0; i < 12; i++)
		CU_ASSERT_EQUAL(mdw_backoff_next(&a), mdw_backoff_next(&b));
}

static const struct unit_test tests[] = {
	{"backoff with full jitter", test_backoff},
	{"ceiling doubles up to the cap", test_doubling},
	{"base and cap out of order", test_bad_bounds},
	{"one seed, one sequence", test_seed_reproducible},
	{NULL, NULL},
};

int main(void)
{
	return run_suite("backoff", tests);
}
