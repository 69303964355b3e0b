/* The catch-up's update statements, made from each phase's insert (worker/catchup_update.c). */
#include <CUnit/CUnit.h>
#include <string.h>

#include "catchup_update.h"
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

static const struct unit_test tests[] = {
	{"an update for every relational phase", test_every_phase},
	{"the patients' update", test_patients},
	{NULL, NULL},
};

int main(void)
{
	return run_suite("catchup_update", tests);
}
