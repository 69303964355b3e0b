/* A main() for one CUnit suite: each tests/unit/test_X.c defines SUITE_NAME and suite_tests[]. */
#ifndef MDW_CUNIT_MAIN_H
#define MDW_CUNIT_MAIN_H

#include <CUnit/Basic.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
};

static int run_suite(const char *name, const struct unit_test *tests)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite(name, NULL, NULL);
	for (const struct unit_test *t = tests; t->name; t++)
		CU_add_test(s, t->name, t->fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}

#endif
