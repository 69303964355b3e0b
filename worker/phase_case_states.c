/*
 * Phase case_states: dispatch_state -> case_states (a case's status history).
 * Rules: the project resolves to its case through cases.legacy_project_id;
 * a project that dangles in the legacy data (no such dispatch_project)
 * rejects the state dangling_case (a state cannot exist without its case),
 * one that exists but is not in cases (rejected) rejects it orphan_case,
 * naming the case and its root. actor NULL -> changed_by NULL (a system
 * change); an actor that dangles in the legacy data (no such auth_user) ->
 * NULL, flagged dangling_actor; one that exists there but does not resolve
 * through profile_legacy_users (merged users included; rejected) ->
 * rejected orphan_actor with its root.
 * status 0-5 -> state (the case status mapping), any other code rejected
 * unknown_state. created_at = changed_at; note copied unchanged. Conflict
 * target (case_id, created_at): a second state of one case at the same
 * instant is merged into the first committed one (the lowest id within a
 * chunk) and recorded in mdw.merges.
 */
#include <stdio.h>

#include "phase_ops.h"
#include "transform_util.h"

enum { C_ID, C_PROJECT, C_STATUS, C_ACTOR, C_CHANGED, C_NOTE, C_PROJECT_DANGLES, C_ACTOR_DANGLES };

extern const char *const cases_status_names[6];

static int transform(const PGresult *r, int row, struct rowbuf *b, struct mdw_reject_info *rej)
{
	long long status;
	struct tu_repair rep[1];
	int nrep = 0;
	const char *actor = tu_col(r, row, C_ACTOR);

	if (tu_bool(r, row, C_PROJECT_DANGLES))
		return mdw_reject_dangling(rej, "dangling_case", "project", tu_col(r, row, C_PROJECT));
	if (tu_bool(r, row, C_ACTOR_DANGLES)) {
		rep[nrep].code = "dangling_actor";
		snprintf(rep[nrep++].detail, sizeof rep[0].detail, "legacy user %s", actor);
		actor = NULL;
	}
	if (tu_int(r, row, C_STATUS, &status) < 0 || status < 0 || status > 5) {
		rej->reason = "unknown_state";
		snprintf(rej->detail, sizeof rej->detail, "status code %s is not 0-5",
			 tu_col(r, row, C_STATUS) ? tu_col(r, row, C_STATUS) : "NULL");
		return MDW_ROW_REJECTED;
	}
	rb_str(b, tu_col(r, row, C_ID));
	rb_str(b, tu_col(r, row, C_PROJECT));
	rb_str(b, actor);
	rb_str(b, cases_status_names[status]);
	rb_str(b, tu_col(r, row, C_CHANGED));
	rb_str(b, tu_col(r, row, C_NOTE));
	tu_stage_repairs(b, rep, nrep);
	rb_end(b);
	return MDW_ROW_STAGED;
}

#define NO_CASE "NOT EXISTS (SELECT 1 FROM public.cases c WHERE c.legacy_project_id = s.project_id)"

const struct phase_ops phase_case_states = {
	.source_sql =
		"SELECT s.id, s.project_id, s.status, s.actor_id, s.changed_at, s.note, "
		"NOT EXISTS (SELECT 1 FROM public.dispatch_project p WHERE p.id = s.project_id) "
		"AS mdw_project_dangles, "
		"s.actor_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.auth_user u WHERE u.id = s.actor_id) "
		"AS mdw_actor_dangles "
		"FROM public.dispatch_state s WHERE s.id BETWEEN $1 AND $2 ORDER BY s.id",
	.stage_table = "stage_case_states",
	.stage_ddl = "CREATE TEMP TABLE IF NOT EXISTS stage_case_states (legacy_id integer PRIMARY KEY, "
		     "project_id integer, actor_id integer, state text, created_at timestamptz, note text, "
		     "repairs text[]) ON COMMIT DELETE ROWS",
	.stage_copy = "COPY stage_case_states FROM STDIN",
	.transform = transform,
	.orphans_sql =
		MDW_ORPHANS("DELETE FROM stage_case_states s WHERE s.legacy_id BETWEEN $1 AND $2 AND (" NO_CASE " OR "
			    "(s.actor_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.profile_legacy_users u "
			    "  WHERE u.legacy_user_id = s.actor_id))) "
			    "RETURNING s.legacy_id, "
			    " CASE WHEN " NO_CASE " THEN 'orphan_case' ELSE 'orphan_actor' END, "
			    " CASE WHEN " NO_CASE " THEN 'case' ELSE 'actor' END, "
			    " CASE WHEN " NO_CASE " THEN 'cases' ELSE 'profiles' END, "
			    " CASE WHEN " NO_CASE " THEN s.project_id ELSE s.actor_id END"),
	.flags_sql = MDW_FLAGS("stage_case_states"),
	.insert_sql =
		"INSERT INTO public.case_states (legacy_id, case_id, changed_by, state, note, created_at, mdw_run_id) "
		"SELECT s.legacy_id, c.id, u.profile_id, s.state, s.note, s.created_at, $3::bigint "
		"FROM stage_case_states s JOIN public.cases c ON c.legacy_project_id = s.project_id "
		"LEFT JOIN public.profile_legacy_users u ON u.legacy_user_id = s.actor_id "
		"WHERE s.legacy_id BETWEEN $1 AND $2 ORDER BY s.legacy_id "
		"ON CONFLICT (case_id, created_at) DO NOTHING",
	/* merged: the case and instant are held by another legacy state, and this one was not merged before */
	.merged_sql =
		"WITH m AS (SELECT s.legacy_id, cs.id FROM stage_case_states s "
		" JOIN public.cases c ON c.legacy_project_id = s.project_id "
		" JOIN public.case_states cs ON cs.case_id = c.id AND cs.created_at = s.created_at "
		" WHERE s.legacy_id BETWEEN $1 AND $2 AND cs.legacy_id IS DISTINCT FROM s.legacy_id "
		" AND NOT EXISTS (SELECT 1 FROM mdw.merges g WHERE g.phase = $4::text AND g.legacy_id = s.legacy_id)), "
		"g AS (INSERT INTO mdw.merges (run_id, phase, legacy_id, target_id) "
		" SELECT $3::bigint, $4::text, legacy_id, id FROM m ON CONFLICT DO NOTHING) "
		"SELECT count(*) FROM m",
};
