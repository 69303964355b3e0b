/* CUnit: the keyset planner on sparse ids, backoff bounds, and the accounting arithmetic. */
#include <stdio.h>
#include <string.h>

#include "cunit_main.h"
#include "mdw/accounting.h"
#include "mdw/backoff.h"
#include "planner.h"

struct ids {
	const long long *v;
	int n;
	int calls;
};

static int array_next(void *arg, long long after, long long n, long long *lo, long long *hi, long long *count,
		      char *err, size_t errlen)
{
	struct ids *s = arg;
	int i = 0, k = 0;
	(void)err, (void)errlen;
	s->calls++;
	while (i < s->n && s->v[i] <= after)
		i++;
	*count = 0;
	for (; i < s->n && k < n; i++, k++) {
		if (k == 0)
			*lo = s->v[i];
		*hi = s->v[i];
		(*count)++;
	}
	return 0;
}

static void test_sparse(void)
{
	/* dense at first, then a jump of a million, then dense again */
	static long long v[1000];
	struct ids s = {v, 1000, 0};
	struct plan p = {0};
	char err[128];
	for (int i = 0; i < 1000; i++)
		v[i] = i < 600 ? i * 3 + 7 : 1000000 + i;
	CU_ASSERT_EQUAL_FATAL(plan_walk(&p, array_next, &s, 100, PLAN_CONTIGUOUS, err, sizeof err), 0);
	CU_ASSERT_EQUAL(p.n, 10);
	CU_ASSERT_EQUAL(p.rows, 1000);
	CU_ASSERT_EQUAL(p.chunks[0].lo, 7);
	for (int i = 0; i < p.n; i++) {
		CU_ASSERT_EQUAL(p.chunks[i].rows, 100); /* equal sizes whatever the gaps */
		if (i > 0)
			CU_ASSERT_EQUAL(p.chunks[i].lo, p.chunks[i - 1].hi + 1); /* contiguous */
	}
	CU_ASSERT_EQUAL(p.chunks[9].hi, 1000999);
	plan_free(&p);
}

static void test_remainder_and_empty(void)
{
	static const long long v[] = {5, 9, 2147483647LL};
	struct ids s = {v, 3, 0}, e = {v, 0, 0};
	struct plan p = {0};
	char err[128];
	CU_ASSERT_EQUAL_FATAL(plan_walk(&p, array_next, &s, 2, PLAN_CONTIGUOUS, err, sizeof err), 0);
	CU_ASSERT_EQUAL(p.n, 2);
	CU_ASSERT_EQUAL(p.chunks[1].lo, 10);
	CU_ASSERT_EQUAL(p.chunks[1].hi, 2147483647LL);
	CU_ASSERT_EQUAL(p.chunks[1].rows, 1);
	plan_free(&p);
	CU_ASSERT_EQUAL_FATAL(plan_walk(&p, array_next, &e, 2, PLAN_CONTIGUOUS, err, sizeof err), 0);
	CU_ASSERT_EQUAL(p.n, 0);
	plan_free(&p);
	/* an exact multiple ends with one empty probe, no empty chunk */
	{
		static const long long w[] = {1, 2, 3, 4};
		struct ids x = {w, 4, 0};
		CU_ASSERT_EQUAL_FATAL(plan_walk(&p, array_next, &x, 2, PLAN_CONTIGUOUS, err, sizeof err), 0);
		CU_ASSERT_EQUAL(p.n, 2);
		plan_free(&p);
	}
}

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

static void test_accounting(void)
{
	/* read, inserted, existing, updated, merged, rejected */
	struct mdw_counts a = {10, 4, 3, 0, 2, 1}, b = {5, 5, 0, 0, 0, 0}, bad = {10, 4, 3, 0, 2, 0},
			  neg = {0, 1, -1, 0, 0, 0}, upd = {10, 4, 1, 2, 2, 1}, upd_bad = {10, 4, 3, 2, 2, 1};
	char why[256];
	CU_ASSERT_TRUE(mdw_counts_balanced(&a, why, sizeof why));
	mdw_counts_add(&a, &b);
	CU_ASSERT_EQUAL(a.read, 15);
	CU_ASSERT_EQUAL(a.inserted, 9);
	CU_ASSERT_TRUE(mdw_counts_balanced(&a, why, sizeof why));
	CU_ASSERT_FALSE(mdw_counts_balanced(&bad, why, sizeof why));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "read 10 != inserted 4 + existing 3 + updated 0 + merged 2 + rejected 0 (= 9)"));
	CU_ASSERT_FALSE(mdw_counts_balanced(&neg, why, sizeof why));
	CU_ASSERT_TRUE(mdw_counts_balanced(&upd, why, sizeof why));
	mdw_counts_add(&a, &upd);
	CU_ASSERT_EQUAL(a.updated, 2);
	CU_ASSERT_FALSE(mdw_counts_balanced(&upd_bad, why, sizeof why));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "updated 2"));
}

static const struct unit_test tests[] = {
	{"keyset walk on sparse ids", test_sparse},
	{"remainder, empty table, id 2^31-1", test_remainder_and_empty},
	{"backoff with full jitter", test_backoff},
	{"accounting arithmetic", test_accounting},
	{NULL, NULL},
};

int main(void)
{
	return run_suite("planner", tests);
}
