/* CUnit: the accounting rule's arithmetic (shared/accounting.c): read = inserted + existing + merged + rejected. */
#include <string.h>

#include "cunit_main.h"
#include "mdw/accounting.h"

static void test_accounting(void)
{
	struct mdw_counts a = {10, 4, 3, 2, 1}, b = {5, 5, 0, 0, 0}, bad = {10, 4, 3, 2, 0}, neg = {0, 1, -1, 0, 0};
	char why[256];
	CU_ASSERT_TRUE(mdw_counts_balanced(&a, why, sizeof why));
	mdw_counts_add(&a, &b);
	CU_ASSERT_EQUAL(a.read, 15);
	CU_ASSERT_EQUAL(a.inserted, 9);
	CU_ASSERT_TRUE(mdw_counts_balanced(&a, why, sizeof why));
	CU_ASSERT_FALSE(mdw_counts_balanced(&bad, why, sizeof why));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "read 10 != inserted 4 + existing 3 + merged 2 + rejected 0 (= 9)"));
	CU_ASSERT_FALSE(mdw_counts_balanced(&neg, why, sizeof why));
}

static void test_add_every_count(void)
{
	struct mdw_counts a = {1, 2, 3, 4, 5}, b = {10, 20, 30, 40, 50};

	mdw_counts_add(&a, &b);
	CU_ASSERT_EQUAL(a.read, 11);
	CU_ASSERT_EQUAL(a.inserted, 22);
	CU_ASSERT_EQUAL(a.existing, 33);
	CU_ASSERT_EQUAL(a.merged, 44);
	CU_ASSERT_EQUAL(a.rejected, 55);
	CU_ASSERT_EQUAL(b.read, 10); /* B is left as it was */
}

static void test_negative_named(void)
{
	/* balanced sums, but a negative count: refused, and the message lists every count */
	struct mdw_counts c = {2, 3, -1, 0, 0}, zero = {0};
	char why[256];

	CU_ASSERT_FALSE(mdw_counts_balanced(&c, why, sizeof why));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(why, "a count is negative (read 2 inserted 3 existing -1 merged 0 rejected 0)"));
	CU_ASSERT_TRUE(mdw_counts_balanced(&zero, why, sizeof why)); /* an empty chunk balances */
}

static const struct unit_test tests[] = {
	{"accounting arithmetic", test_accounting},
	{"add adds each count", test_add_every_count},
	{"a negative count is named", test_negative_named},
	{NULL, NULL},
};

int main(void)
{
	return run_suite("accounting", tests);
}
