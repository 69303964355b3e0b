/*
 * CUnit: the pure parts of rollback: which phases depend on a phase and
 * the order they are rolled back in.
 */
#include <stdio.h>
#include <string.h>

#include "cunit_main.h"
#include "rollback.h"

#define B MDW_PH_BIT

static void test_dependents(void)
{
	CU_ASSERT_EQUAL(rollback_dependents(MDW_PH_CASES),
			B(MDW_PH_PROJECTS) | B(MDW_PH_CASE_STATES) | B(MDW_PH_EMBEDDINGS));
	CU_ASSERT_EQUAL(rollback_dependents(MDW_PH_PROJECTS), B(MDW_PH_EMBEDDINGS));
	CU_ASSERT_EQUAL(rollback_dependents(MDW_PH_EMBEDDINGS), 0);
	CU_ASSERT_EQUAL(rollback_dependents(MDW_PH_WORKFLOW_TEMPLATES), 0);
	/* through patients: cases need practices without naming them */
	CU_ASSERT_EQUAL(rollback_dependents(MDW_PH_PRACTICES),
			MDW_PH_ALL & ~(B(MDW_PH_PRACTICES) | B(MDW_PH_PROFILES)));
	CU_ASSERT_EQUAL(rollback_dependents(MDW_PH_PROFILES),
			MDW_PH_ALL & ~(B(MDW_PH_PRACTICES) | B(MDW_PH_PROFILES) | B(MDW_PH_WORKFLOW_TEMPLATES)));
	for (int p = 0; p < MDW_NPHASES; p++)
		CU_ASSERT_FALSE(rollback_dependents((enum mdw_phase_id)p) & B(p));
}

static void test_order(void)
{
	enum mdw_phase_id o[MDW_NPHASES];
	int n = rollback_order(MDW_PH_ALL, o);

	CU_ASSERT_EQUAL_FATAL(n, MDW_NPHASES);
	/* a phase comes before every phase it needs */
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			CU_ASSERT_FALSE(mdw_phase_needs_closure(o[j]) & B(o[i]));
	n = rollback_order(B(MDW_PH_CASES) | rollback_dependents(MDW_PH_CASES), o);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_EQUAL(o[0], MDW_PH_EMBEDDINGS);
	CU_ASSERT_EQUAL(o[3], MDW_PH_CASES);
	CU_ASSERT_EQUAL(rollback_order(0, o), 0);
}

static const struct unit_test tests[] = {
	{"phases that depend on a phase", test_dependents},
	{"rollback order: dependents first", test_order},
	{NULL, NULL},
};

int main(void)
{
	return run_suite("rollback", tests);
}
