/*
 * Phase profiles: auth_user -> profiles (+ profile_legacy_users).
 * Rules: email trimmed and lower-cased; blank -> rejected missing_email;
 * malformed -> rejected invalid_email. Users sharing an email are merged
 * into one profile (the first committed, lowest id within a chunk), and
 * every accepted user id is mapped to its profile in profile_legacy_users.
 * Role: superuser -> admin, staff -> staff, member of an office -> doctor,
 * else user. Passwords are never read.
 */
#include <stdio.h>

#include "phase_ops.h"
#include "transform_util.h"

enum { C_ID, C_EMAIL, C_FIRST, C_LAST, C_SUPER, C_STAFF, C_ACTIVE, C_LOGIN, C_JOINED, C_MEMBER };

static int transform(const PGresult *r, int row, struct rowbuf *b, struct mdw_reject_info *rej)
{
	char email[256];
	const char *why = tu_email(tu_col(r, row, C_EMAIL), email, sizeof email);
	const char *role;

	if (why) {
		rej->reason = why;
		snprintf(rej->detail, sizeof rej->detail, "%s",
			 why[0] == 'm' ? "email is blank" : "email is malformed");
		return MDW_ROW_REJECTED;
	}
	if (tu_bool(r, row, C_SUPER))
		role = "admin";
	else if (tu_bool(r, row, C_STAFF))
		role = "staff";
	else if (tu_bool(r, row, C_MEMBER))
		role = "doctor";
	else
		role = "user";
	rb_str(b, tu_col(r, row, C_ID));
	rb_str(b, email);
	tu_stage_trimmed_nonnull(b, tu_col(r, row, C_FIRST));
	tu_stage_trimmed_nonnull(b, tu_col(r, row, C_LAST));
	rb_str(b, role);
	rb_bool(b, tu_bool(r, row, C_ACTIVE));
	rb_str(b, tu_col(r, row, C_LOGIN));
	rb_str(b, tu_col(r, row, C_JOINED));
	rb_end(b);
	return MDW_ROW_STAGED;
}

const struct phase_ops phase_profiles = {
	.source_sql = "SELECT u.id, u.email, u.first_name, u.last_name, u.is_superuser, u.is_staff, u.is_active, "
		      "u.last_login, u.date_joined, "
		      "EXISTS (SELECT 1 FROM public.dispatch_office_doctors d WHERE d.user_id = u.id) "
		      "FROM public.auth_user u WHERE u.id BETWEEN $1 AND $2 ORDER BY u.id",
	.stage_table = "stage_profiles",
	.stage_ddl = "CREATE TEMP TABLE IF NOT EXISTS stage_profiles (legacy_id integer PRIMARY KEY, email text, "
		     "first_name text, last_name text, role text, is_active boolean, last_login timestamptz, "
		     "joined_at timestamptz) ON COMMIT DELETE ROWS",
	.stage_copy = "COPY stage_profiles FROM STDIN",
	.transform = transform,
	.insert_sql =
		"INSERT INTO public.profiles (legacy_id, email, first_name, last_name, role, is_active, last_login, "
		"joined_at, mdw_run_id) "
		"SELECT legacy_id, email, first_name, last_name, role, is_active, last_login, joined_at, $3::bigint "
		"FROM stage_profiles s WHERE s.legacy_id BETWEEN $1 AND $2 ORDER BY s.legacy_id "
		"ON CONFLICT (email) DO NOTHING",
	/* merged: the email is held by another legacy user's profile, and this user was not mapped before */
	.merged_sql =
		"WITH m AS (SELECT s.legacy_id, p.id FROM stage_profiles s JOIN public.profiles p ON p.email = s.email "
		" WHERE s.legacy_id BETWEEN $1 AND $2 AND p.legacy_id IS DISTINCT FROM s.legacy_id "
		" AND NOT EXISTS (SELECT 1 FROM public.profile_legacy_users u WHERE u.legacy_user_id = s.legacy_id)), "
		"g AS (INSERT INTO mdw.merges (run_id, phase, legacy_id, target_id) "
		" SELECT $3::bigint, $4::text, legacy_id, id FROM m ON CONFLICT DO NOTHING) "
		"SELECT count(*) FROM m",
	.after_sql = "INSERT INTO public.profile_legacy_users (legacy_user_id, profile_id, merged, mdw_run_id) "
		     "SELECT s.legacy_id, p.id, p.legacy_id IS DISTINCT FROM s.legacy_id, $3::bigint "
		     "FROM stage_profiles s JOIN public.profiles p ON p.email = s.email "
		     "WHERE s.legacy_id BETWEEN $1 AND $2 ON CONFLICT (legacy_user_id) DO NOTHING",
};
