/*
 * Phase case_states: dispatch_state -> case_states (a case's status history).
 * Rules: the project resolves to its case through cases.legacy_project_id,
 * else the state is rejected orphan_case; actor NULL -> changed_by NULL (a
 * system change), an actor that does not resolve through
 * profile_legacy_users (merged users included) -> rejected orphan_actor.
 * status 0-5 -> state (the case status mapping), any other code rejected
 * unknown_state. created_at = changed_at; note copied unchanged. Conflict
 * target (case_id, created_at): a second state of one case at the same
 * instant is merged into the first committed one (the lowest id within a
 * chunk) and recorded in mdw.merges.
 */
#include <stdio.h>

#include "phase_ops.h"
#include "transform_util.h"

enum { C_ID, C_PROJECT, C_STATUS, C_ACTOR, C_CHANGED, C_NOTE };

extern const char *const cases_status_names[6];

static int transform(const PGresult *r, int row, struct rowbuf *b, struct mdw_reject_info *rej)
{
	long long status;

	if (tu_int(r, row, C_STATUS, &status) < 0 || status < 0 || status > 5) {
		rej->reason = "unknown_state";
		snprintf(rej->detail, sizeof rej->detail, "status code %s is not 0-5",
			 tu_col(r, row, C_STATUS) ? tu_col(r, row, C_STATUS) : "NULL");
		return MDW_ROW_REJECTED;
	}
	rb_str(b, tu_col(r, row, C_ID));
	rb_str(b, tu_col(r, row, C_PROJECT));
	rb_str(b, tu_col(r, row, C_ACTOR));
	rb_str(b, cases_status_names[status]);
	rb_str(b, tu_col(r, row, C_CHANGED));
	rb_str(b, tu_col(r, row, C_NOTE));
	rb_end(b);
	return MDW_ROW_STAGED;
}

#define NO_CASE "NOT EXISTS (SELECT 1 FROM public.cases c WHERE c.legacy_project_id = s.project_id)"

const struct phase_ops phase_case_states = {
	.source_sql = "SELECT id, project_id, status, actor_id, changed_at, note "
		      "FROM public.dispatch_state WHERE id BETWEEN $1 AND $2 ORDER BY id",
	.stage_table = "stage_case_states",
	.stage_ddl = "CREATE TEMP TABLE IF NOT EXISTS stage_case_states (legacy_id integer PRIMARY KEY, "
		     "project_id integer, actor_id integer, state text, created_at timestamptz, note text) "
		     "ON COMMIT DELETE ROWS",
	.stage_copy = "COPY stage_case_states FROM STDIN",
	.transform = transform,
	.orphans_sql = "DELETE FROM stage_case_states s WHERE s.legacy_id BETWEEN $1 AND $2 AND (" NO_CASE " OR "
		       "(s.actor_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.profile_legacy_users u "
		       "  WHERE u.legacy_user_id = s.actor_id))) "
		       "RETURNING s.legacy_id, "
		       " CASE WHEN " NO_CASE " THEN 'orphan_case' ELSE 'orphan_actor' END, "
		       " CASE WHEN " NO_CASE " THEN mdw.parent_detail('case', 'cases', s.project_id)"
		       "  ELSE mdw.parent_detail('actor', 'profiles', s.actor_id) END",
	.insert_sql = "INSERT INTO public.case_states (legacy_id, case_id, changed_by, state, note, created_at, mdw_run_id) "
		      "SELECT s.legacy_id, c.id, u.profile_id, s.state, s.note, s.created_at, $3::bigint "
		      "FROM stage_case_states s JOIN public.cases c ON c.legacy_project_id = s.project_id "
		      "LEFT JOIN public.profile_legacy_users u ON u.legacy_user_id = s.actor_id "
		      "WHERE s.legacy_id BETWEEN $1 AND $2 ORDER BY s.legacy_id "
		      "ON CONFLICT (case_id, created_at) DO NOTHING",
	/* merged: the case and instant are held by another legacy state, and this one was not merged before */
	.merged_sql = "WITH m AS (SELECT s.legacy_id, cs.id FROM stage_case_states s "
		      " JOIN public.cases c ON c.legacy_project_id = s.project_id "
		      " JOIN public.case_states cs ON cs.case_id = c.id AND cs.created_at = s.created_at "
		      " WHERE s.legacy_id BETWEEN $1 AND $2 AND cs.legacy_id IS DISTINCT FROM s.legacy_id "
		      " AND NOT EXISTS (SELECT 1 FROM mdw.merges g WHERE g.phase = $4::text AND g.legacy_id = s.legacy_id)), "
		      "g AS (INSERT INTO mdw.merges (run_id, phase, legacy_id, target_id) "
		      " SELECT $3::bigint, $4::text, legacy_id, id FROM m ON CONFLICT DO NOTHING) "
		      "SELECT count(*) FROM m",
};
