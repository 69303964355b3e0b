/* The catch-up's update statements, made from each phase's insert (worker/catchup_update.c). */
#include <CUnit/CUnit.h>
#include <string.h>

#include "catchup_update.h"
#include "phase_ops.h"
#include "cunit_main.h"

/*
 * Every relational phase but profiles (merged by email, never updated in
 * place) gets one; it updates the rows listed for the run and phase, keeps mdw_run_id.
 */
static void test_every_phase(void)
{
	for (int ph = 0; ph < MDW_NPHASES; ph++) {
		const char *sql = cu_update_sql((enum mdw_phase_id)ph);
		if (ph == MDW_PH_EMBEDDINGS || ph == MDW_PH_PROFILES) {
			CU_ASSERT_PTR_NULL(sql);
			continue;
		}
		CU_ASSERT_PTR_NOT_NULL_FATAL(sql);
		CU_ASSERT_PTR_NOT_NULL(
			strstr(sql, "JOIN mdw.catchup_rows u ON u.run_id = $3::bigint AND u.phase = $4::text"));
		CU_ASSERT_PTR_NOT_NULL(strstr(sql, "AND u.action = 'update'"));
		CU_ASSERT_PTR_NOT_NULL(strstr(sql, "AND t.mdw_run_id IS NOT NULL"));
		CU_ASSERT_PTR_NULL(strstr(sql, "ON CONFLICT"));
		/* SET lists neither the key nor mdw_run_id */
		CU_ASSERT_PTR_NULL(strstr(strstr(sql, " SET ("), "mdw_run_id) = ROW"));
		CU_ASSERT_PTR_NULL(strstr(strstr(sql, " SET ("), "n.mdw_run_id"));
		CU_ASSERT_PTR_EQUAL(sql, cu_update_sql((enum mdw_phase_id)ph)); /* made once */
	}
}

/* The patients' statement, whole: parents resolved by the insert's own joins. */
static void test_patients(void)
{
	const char *sql = cu_update_sql(MDW_PH_PATIENTS);

	CU_ASSERT_PTR_NOT_NULL_FATAL(sql);
	CU_ASSERT_PTR_NOT_NULL(strstr(sql, "WITH n (legacy_id, practice_id, profile_id, first_name, "));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(sql, "UPDATE public.patients t SET (practice_id, profile_id, first_name, last_name, "));
	CU_ASSERT_PTR_NOT_NULL(strstr(sql, "= ROW(n.practice_id, n.profile_id, n.first_name, "));
	CU_ASSERT_PTR_NOT_NULL(strstr(sql, "LEFT JOIN public.practices p ON p.legacy_id = s.office_id"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sql, "WHERE t.legacy_id = n.legacy_id"));
	/* cases are keyed by their legacy project */
	CU_ASSERT_PTR_NOT_NULL(strstr(cu_update_sql(MDW_PH_CASES), "WHERE t.legacy_project_id = n.legacy_project_id"));
	CU_ASSERT_PTR_NULL(cu_update_sql((enum mdw_phase_id)MDW_NPHASES));
}

/*
 * Every relational phase's source read narrows to the listed ids: the range
 * "X BETWEEN $1 AND $2" of its main query gains "AND X = ANY($3)", the rest
 * of the statement unchanged.
 */
static void test_source_narrowed(void)
{
	static const char *const want[][2] = {
		{"practices", "WHERE id BETWEEN $1 AND $2 AND id = ANY($3::bigint[]) ORDER BY id"},
		{"profiles", "WHERE u.id BETWEEN $1 AND $2 AND u.id = ANY($3::bigint[]) ORDER BY u.id"},
		{"patients", "WHERE p.id BETWEEN $1 AND $2 AND p.id = ANY($3::bigint[]) ORDER BY p.id"},
		{"cases", "WHERE p.id BETWEEN $1 AND $2 AND p.id = ANY($3::bigint[]) ORDER BY p.id"},
		{"projects", "WHERE p.id BETWEEN $1 AND $2 AND p.id = ANY($3::bigint[]) ORDER BY p.id"},
		{"practice_members", "WHERE d.id BETWEEN $1 AND $2 AND d.id = ANY($3::bigint[]) ORDER BY d.id"},
		{"case_states", "WHERE s.id BETWEEN $1 AND $2 AND s.id = ANY($3::bigint[]) ORDER BY s.id"},
		{"workflow_templates", "WHERE t.id BETWEEN $1 AND $2 AND t.id = ANY($3::bigint[]) ORDER BY t.id"},
	};

	for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
		int ph = -1;
		const char *sql;
		for (int i = 0; i < MDW_NPHASES; i++)
			if (!strcmp(mdw_phases[i].name, want[k][0]))
				ph = i;
		CU_ASSERT_FATAL(ph >= 0);
		sql = cu_source_sql((enum mdw_phase_id)ph);
		CU_ASSERT_PTR_NOT_NULL_FATAL(sql);
		CU_ASSERT_PTR_NOT_NULL(strstr(sql, want[k][1]));
		CU_ASSERT_EQUAL(strlen(sql), strlen(mdw_phase_ops[ph]->source_sql) +
						     strlen(" AND  = ANY($3::bigint[])") +
						     (size_t)(strstr(want[k][1], " BETWEEN") - want[k][1] - 6));
		CU_ASSERT_PTR_EQUAL(sql, cu_source_sql((enum mdw_phase_id)ph)); /* made once */
	}
	CU_ASSERT_PTR_NULL(cu_source_sql(MDW_PH_EMBEDDINGS));
	CU_ASSERT_PTR_NULL(cu_source_sql((enum mdw_phase_id)MDW_NPHASES));
}

static const struct unit_test tests[] = {
	{"the catch-up's source read, narrowed to the listed ids", test_source_narrowed},
	{"an update for every relational phase", test_every_phase},
	{"the patients' update", test_patients},
	{NULL, NULL},
};

int main(void)
{
	return run_suite("catchup_update", tests);
}
