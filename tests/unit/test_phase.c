/* CUnit: the phase table: dependency order, no cycles, names, --phases parsing. */
#include <string.h>

#include "cunit_main.h"
#include "mdw/phase.h"

static void test_order(void)
{
	/* every need comes earlier in the table: the table order is a valid schedule */
	for (int i = 0; i < MDW_NPHASES; i++) {
		CU_ASSERT_EQUAL(mdw_phases[i].id, i);
		CU_ASSERT_EQUAL(mdw_phases[i].needs & ~(MDW_PH_BIT(i) - 1), 0);
	}
}

static void test_no_cycles(void)
{
	for (int i = 0; i < MDW_NPHASES; i++)
		CU_ASSERT_FALSE(mdw_phase_needs_closure((enum mdw_phase_id)i) & MDW_PH_BIT(i));
}

static void test_design_needs(void)
{
	CU_ASSERT_EQUAL(mdw_phases[MDW_PH_PRACTICES].needs, 0);
	CU_ASSERT_EQUAL(mdw_phases[MDW_PH_PATIENTS].needs, MDW_PH_BIT(MDW_PH_PRACTICES) | MDW_PH_BIT(MDW_PH_PROFILES));
	CU_ASSERT_EQUAL(mdw_phases[MDW_PH_PROJECTS].needs, MDW_PH_BIT(MDW_PH_CASES));
	CU_ASSERT_TRUE(mdw_phase_needs_closure(MDW_PH_EMBEDDINGS) & MDW_PH_BIT(MDW_PH_PRACTICES));
	CU_ASSERT_STRING_EQUAL(mdw_phases[MDW_PH_CASE_STATES].source, "dispatch_state");
}

static void test_parse(void)
{
	unsigned m;
	char err[512];
	CU_ASSERT_EQUAL(mdw_phase_parse_list("", &m, err, sizeof err), 0);
	CU_ASSERT_EQUAL(m, MDW_PH_ALL);
	CU_ASSERT_EQUAL(mdw_phase_parse_list("practices,profiles", &m, err, sizeof err), 0);
	CU_ASSERT_EQUAL(m, MDW_PH_BIT(MDW_PH_PRACTICES) | MDW_PH_BIT(MDW_PH_PROFILES));
	CU_ASSERT_EQUAL(mdw_phase_parse_list("practices,nope", &m, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown phase \"nope\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "workflow_templates"));
	CU_ASSERT_EQUAL(mdw_phase_parse_list("practices,", &m, err, sizeof err), -1);
	CU_ASSERT_EQUAL(mdw_phase_parse_list(",", &m, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(mdw_phase_find("embeddings"));
	CU_ASSERT_PTR_NULL(mdw_phase_find("Embeddings"));
}

static const struct unit_test tests[] = {
	{"table order is a dependency order", test_order},
	{"no cycles", test_no_cycles},
	{"needs as in DESIGN.md", test_design_needs},
	{"--phases parsing", test_parse},
	{NULL, NULL},
};

int main(void)
{
	return run_suite("phase", tests);
}
