/* CUnit: the keyset planner (coordinator/planner.c): sparse ids, remainders, empty tables, due-only walks. */
#include <stdio.h>
#include <string.h>

#include "cunit_main.h"
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

/* A fake id source: ids ascending, due[i] says whether ids[i] is due. */
struct due_ids {
	const long long *ids;
	const char *due;
	int n;
};

static int due_next(void *arg, long long after, long long n, long long *lo, long long *hi, long long *count, char *err,
		    size_t errlen)
{
	struct due_ids *s = arg;
	int i = 0, first;
	(void)err, (void)errlen;
	*count = 0;
	while (i < s->n && (s->ids[i] <= after || !s->due[i]))
		i++;
	if (i == s->n)
		return 0;
	first = i;
	*lo = s->ids[i];
	for (int k = 0; i < s->n && k < n; i++, k++)
		if (s->due[i]) {
			*hi = s->ids[i];
			*count = i - first + 1;
		}
	return 0;
}

static void test_due_walk(void)
{
	/* 20 ids; due: 3, 4 (updated), 9, then the new ones 15..19 */
	static long long ids[20];
	static const char due[20] = {0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
	struct due_ids s = {ids, due, 20}, none = {ids, (const char[20]){0}, 20};
	struct plan p = {0};
	char err[128];

	for (int i = 0; i < 20; i++)
		ids[i] = 100 + i * 10;
	CU_ASSERT_EQUAL_FATAL(plan_walk(&p, due_next, &s, 4, PLAN_DUE_ONLY, err, sizeof err), 0);
	/* windows of 4 ids from a due id, cut at the last due id: [3,4], [9], [15..18], [19] */
	CU_ASSERT_EQUAL_FATAL(p.n, 4);
	CU_ASSERT_EQUAL(p.chunks[0].lo, 130);
	CU_ASSERT_EQUAL(p.chunks[0].hi, 140);
	CU_ASSERT_EQUAL(p.chunks[0].rows, 2);
	CU_ASSERT_EQUAL(p.chunks[1].lo, 190);
	CU_ASSERT_EQUAL(p.chunks[1].hi, 190);
	CU_ASSERT_EQUAL(p.chunks[2].lo, 250);
	CU_ASSERT_EQUAL(p.chunks[2].hi, 280);
	CU_ASSERT_EQUAL(p.chunks[2].rows, 4);
	CU_ASSERT_EQUAL(p.chunks[3].rows, 1);
	CU_ASSERT_EQUAL(p.rows, 8);
	plan_free(&p);
	p = (struct plan){0};
	/* a window wide enough takes the ids between due ones too: they are read again */
	CU_ASSERT_EQUAL_FATAL(plan_walk(&p, due_next, &s, 10, PLAN_DUE_ONLY, err, sizeof err), 0);
	CU_ASSERT_EQUAL_FATAL(p.n, 2);
	CU_ASSERT_EQUAL(p.chunks[0].lo, 130);
	CU_ASSERT_EQUAL(p.chunks[0].hi, 190);
	CU_ASSERT_EQUAL(p.chunks[0].rows, 7);
	CU_ASSERT_EQUAL(p.rows, 12);
	plan_free(&p);
	p = (struct plan){0};
	/* nothing due: no chunk */
	CU_ASSERT_EQUAL_FATAL(plan_walk(&p, due_next, &none, 4, PLAN_DUE_ONLY, err, sizeof err), 0);
	CU_ASSERT_EQUAL(p.n, 0);
	CU_ASSERT_EQUAL(p.rows, 0);
	plan_free(&p);
}

static const struct unit_test tests[] = {
	{"keyset walk on sparse ids", test_sparse},
	{"remainder, empty table, id 2^31-1", test_remainder_and_empty},
	{"walk over due ids", test_due_walk},
	{NULL, NULL},
};

int main(void)
{
	return run_suite("planner", tests);
}
