/*
 * Phase practice_members: dispatch_office_doctors -> practice_members.
 * Rules: an office or user that dangles in the legacy data (no such
 * dispatch_office or auth_user row) rejects the link dangling_practice /
 * dangling_profile (a membership cannot exist without either). The office
 * resolves through practices.legacy_id, else the row is rejected
 * orphan_practice; the user through profile_legacy_users (merged users
 * included), else orphan_profile; both name the parent's root. role = the profile's role,
 * is_active true (the legacy link has no state). Conflict target
 * (practice_id, profile_id): a second legacy link to the same pair (two
 * users merged into one profile, or a duplicated link) is merged into the
 * first committed one (the lowest id within a chunk) and recorded in
 * mdw.merges.
 */
#include "phase_ops.h"
#include "transform_util.h"

enum { C_ID, C_OFFICE, C_USER, C_OFFICE_DANGLES, C_USER_DANGLES };

static int transform(const PGresult *r, int row, struct rowbuf *b, struct mdw_reject_info *rej)
{
	if (tu_bool(r, row, C_OFFICE_DANGLES))
		return mdw_reject_dangling(rej, "dangling_practice", "office", tu_col(r, row, C_OFFICE));
	if (tu_bool(r, row, C_USER_DANGLES))
		return mdw_reject_dangling(rej, "dangling_profile", "user", tu_col(r, row, C_USER));
	rb_str(b, tu_col(r, row, C_ID));
	rb_str(b, tu_col(r, row, C_OFFICE));
	rb_str(b, tu_col(r, row, C_USER));
	rb_end(b);
	return MDW_ROW_STAGED;
}

#define NO_PRACTICE "NOT EXISTS (SELECT 1 FROM public.practices p WHERE p.legacy_id = s.office_id)"

const struct phase_ops phase_practice_members = {
	.source_sql =
		"SELECT d.id, d.office_id, d.user_id, "
		"NOT EXISTS (SELECT 1 FROM public.dispatch_office o WHERE o.id = d.office_id) AS mdw_office_dangles, "
		"NOT EXISTS (SELECT 1 FROM public.auth_user u WHERE u.id = d.user_id) AS mdw_user_dangles "
		"FROM public.dispatch_office_doctors d WHERE d.id BETWEEN $1 AND $2 ORDER BY d.id",
	.stage_table = "stage_practice_members",
	.stage_ddl = "CREATE TEMP TABLE IF NOT EXISTS stage_practice_members (legacy_id integer PRIMARY KEY, "
		     "office_id integer, user_id integer) ON COMMIT DELETE ROWS",
	.stage_copy = "COPY stage_practice_members FROM STDIN",
	.transform = transform,
	/* a NULL office or user (the legacy columns are NOT NULL, but) never resolves: an orphan too */
	.orphans_sql = MDW_ORPHANS(
		"DELETE FROM stage_practice_members s WHERE s.legacy_id BETWEEN $1 AND $2 AND (" NO_PRACTICE
		" OR NOT EXISTS (SELECT 1 FROM public.profile_legacy_users u WHERE u.legacy_user_id = s.user_id)) "
		"RETURNING s.legacy_id, "
		" CASE WHEN " NO_PRACTICE " THEN 'orphan_practice' ELSE 'orphan_profile' END, "
		" CASE WHEN " NO_PRACTICE " THEN 'office' ELSE 'user' END, "
		" CASE WHEN " NO_PRACTICE " THEN 'practices' ELSE 'profiles' END, "
		" CASE WHEN " NO_PRACTICE " THEN s.office_id ELSE s.user_id END"),
	.insert_sql =
		"INSERT INTO public.practice_members (legacy_id, practice_id, profile_id, role, is_active, mdw_run_id) "
		"SELECT s.legacy_id, p.id, u.profile_id, f.role, true, $3::bigint "
		"FROM stage_practice_members s JOIN public.practices p ON p.legacy_id = s.office_id "
		"JOIN public.profile_legacy_users u ON u.legacy_user_id = s.user_id "
		"JOIN public.profiles f ON f.id = u.profile_id "
		"WHERE s.legacy_id BETWEEN $1 AND $2 ORDER BY s.legacy_id "
		"ON CONFLICT (practice_id, profile_id) DO NOTHING",
	/* merged: the pair is held by another legacy link, and this link was not merged before */
	.merged_sql =
		"WITH m AS (SELECT s.legacy_id, pm.id FROM stage_practice_members s "
		" JOIN public.practices p ON p.legacy_id = s.office_id "
		" JOIN public.profile_legacy_users u ON u.legacy_user_id = s.user_id "
		" JOIN public.practice_members pm ON pm.practice_id = p.id AND pm.profile_id = u.profile_id "
		" WHERE s.legacy_id BETWEEN $1 AND $2 AND pm.legacy_id IS DISTINCT FROM s.legacy_id "
		" AND NOT EXISTS (SELECT 1 FROM mdw.merges g WHERE g.phase = $4::text AND g.legacy_id = s.legacy_id)), "
		"g AS (INSERT INTO mdw.merges (run_id, phase, legacy_id, target_id) "
		" SELECT $3::bigint, $4::text, legacy_id, id FROM m ON CONFLICT DO NOTHING) "
		"SELECT count(*) FROM m",
};
