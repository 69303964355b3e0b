/* CUnit: the phase table: dependency order, no cycles, names, the facts of each phase, --phases parsing. */
#include <stdio.h>
#include <string.h>

#include "cunit_main.h"
#include "mdw/embed_text.h"
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

static void test_tables(void)
{
	for (int p = 0; p < MDW_NPHASES; p++)
		CU_ASSERT_STRING_EQUAL(mdw_phases[p].writes[0], mdw_phases[p].target);
	CU_ASSERT_STRING_EQUAL(mdw_phases[MDW_PH_PROFILES].writes[1], "profile_legacy_users");
	CU_ASSERT_PTR_NULL(mdw_phases[MDW_PH_PROFILES].writes[2]);
	CU_ASSERT_STRING_EQUAL(mdw_phases[MDW_PH_EMBEDDINGS].writes[1], "ai_embedding_sources");
	CU_ASSERT_PTR_NULL(mdw_phases[MDW_PH_CASES].writes[1]);
	CU_ASSERT_STRING_EQUAL(mdw_phases[MDW_PH_CASES].legacy_col, "legacy_project_id");
	CU_ASSERT_STRING_EQUAL(mdw_phases[MDW_PH_PATIENTS].legacy_col, "legacy_id");
}

static void test_kinds_and_parts(void)
{
	/* one phase embeds; the others load; every part is a relational phase's rows, and says so back */
	for (int p = 0; p < MDW_NPHASES; p++) {
		CU_ASSERT_EQUAL(mdw_phases[p].kind == MDW_KIND_EMBEDDINGS, p == MDW_PH_EMBEDDINGS);
		CU_ASSERT_EQUAL(mdw_phases[p].source == NULL, p == MDW_PH_EMBEDDINGS);
	}
	CU_ASSERT_PTR_NULL(mdw_parts[MDW_PART_NONE].name);
	for (int pt = 1; pt < MDW_NPARTS; pt++) {
		enum mdw_phase_id ph = mdw_parts[pt].phase;
		CU_ASSERT_EQUAL(mdw_phases[ph].kind, MDW_KIND_RELATIONAL);
		CU_ASSERT_EQUAL(mdw_phases[ph].part, pt);
		CU_ASSERT_TRUE(mdw_phases[MDW_PH_EMBEDDINGS].needs & MDW_PH_BIT(ph));
		/* its text reads its own table by target id; its due condition names its own links */
		char from[64], links[96];
		snprintf(from, sizeof from, "FROM public.%s ", mdw_part_table((enum mdw_part)pt));
		snprintf(links, sizeof links, "s.content_type = '%s'", mdw_parts[pt].name);
		CU_ASSERT_PTR_NOT_NULL_FATAL(mdw_parts[pt].text_sql);
		CU_ASSERT_PTR_NOT_NULL(strstr(mdw_parts[pt].text_sql, "WHERE"));
		CU_ASSERT_PTR_NOT_NULL(
			strstr(strstr(mdw_parts[pt].text_sql, from) ? strstr(mdw_parts[pt].text_sql, from) : "",
			       "BETWEEN $1 AND $2"));
		CU_ASSERT_PTR_NOT_NULL_FATAL(mdw_parts[pt].due_sql);
		CU_ASSERT_PTR_NOT_NULL(strstr(mdw_parts[pt].due_sql, links));
		CU_ASSERT_PTR_EQUAL(embed_text_sql((enum mdw_part)pt, 0), mdw_parts[pt].text_sql);
		CU_ASSERT_PTR_NOT_NULL(embed_text_sql((enum mdw_part)pt, 1));
	}
	CU_ASSERT_PTR_NULL(mdw_parts[MDW_PART_NONE].text_sql);
	CU_ASSERT_PTR_NULL(embed_text_sql(MDW_PART_NONE, 0));
	CU_ASSERT_PTR_NOT_NULL(strstr(embed_text_sql(MDW_PART_PATIENT, 1), "p.first_name"));
	CU_ASSERT_PTR_NULL(strstr(embed_text_sql(MDW_PART_PATIENT, 0), "p.first_name"));
	CU_ASSERT_STRING_EQUAL(mdw_part_table(MDW_PART_CASE), "cases");
	CU_ASSERT_STRING_EQUAL(mdw_parts[MDW_PART_PROJECT].name, "project");
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
	{"tables each phase writes, legacy id column", test_tables},
	{"kinds and embeddings parts", test_kinds_and_parts},
	{"--phases parsing", test_parse},
	{NULL, NULL},
};

int main(void)
{
	return run_suite("phase", tests);
}
