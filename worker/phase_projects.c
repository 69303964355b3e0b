/*
 * Phase projects: dispatch_project -> projects (the order's digital files),
 * one per case of the cases phase, keyed by legacy_id; never merges.
 * Rules: a project whose case is not in cases (the case was rejected) is
 * rejected orphan_case, naming the case's reject as its root (a type code
 * the case rejected as unknown_case_type lands here too); creator NULL ->
 * NULL, a creator that dangles in the legacy data (no such auth_user) ->
 * NULL, flagged dangling_creator; a creator that exists there but does not
 * resolve through profile_legacy_users (merged users included; it was
 * rejected) -> rejected orphan_creator with its root. practice = the case's
 * practice. name trimmed, blank -> 'Untitled project'. asset_type = the
 * case type mapping. file_size_bytes: NULL stays NULL, >= 0
 * copied exactly (the full bigint range), negative -> NULL with quality flag
 * negative_size, not an integer -> NULL with quality flag invalid_size. uid
 * copied.
 */
#include <stdio.h>

#include "phase_ops.h"
#include "transform_util.h"

enum { C_ID, C_UID, C_CREATOR, C_NAME, C_TYPE, C_SIZE, C_CREATED, C_UPDATED, C_CREATOR_DANGLES };

extern const char *const cases_type_names[6];

static int transform(const PGresult *r, int row, struct rowbuf *b, struct mdw_reject_info *rej)
{
	const char *name = tu_col(r, row, C_NAME), *size = tu_col(r, row, C_SIZE);
	const char *flags = "{}"; /* quality_flags, a text[] literal */
	long long type, n = 0;
	int keep = 0; /* stage the size */
	struct tu_repair rep[1];
	int nrep = 0;
	const char *creator = tu_col(r, row, C_CREATOR);

	(void)rej; /* an unknown type rejected the case: the project is its orphan (orphans_sql) */
	if (tu_int(r, row, C_TYPE, &type) < 0 || type < 0 || type > 5)
		type = -1;
	if (tu_bool(r, row, C_CREATOR_DANGLES)) {
		rep[nrep].code = "dangling_creator";
		snprintf(rep[nrep++].detail, sizeof rep[0].detail, "legacy user %s", creator);
		creator = NULL;
	}
	if (size && tu_int(r, row, C_SIZE, &n) < 0)
		flags = "{invalid_size}";
	else if (size && n < 0)
		flags = "{negative_size}";
	else if (size)
		keep = 1;
	rb_str(b, tu_col(r, row, C_ID));
	rb_str(b, tu_col(r, row, C_UID));
	rb_str(b, creator);
	if (tu_blank(name))
		rb_str(b, "Untitled project");
	else
		tu_stage_trimmed(b, name);
	rb_str(b, type >= 0 ? cases_type_names[type] : NULL);
	if (keep)
		rb_int(b, n);
	else
		rb_null(b);
	rb_str(b, flags);
	rb_str(b, tu_col(r, row, C_CREATED));
	rb_str(b, tu_col(r, row, C_UPDATED));
	tu_stage_repairs(b, rep, nrep);
	rb_end(b);
	return MDW_ROW_STAGED;
}

#define CASE_MISSING "NOT EXISTS (SELECT 1 FROM public.cases c WHERE c.legacy_project_id = s.legacy_id)"

const struct phase_ops phase_projects = {
	.source_sql = "SELECT p.id, p.uid, p.creator_id, p.name, p.type, p.size, p.created_at, p.updated_at, "
		      "p.creator_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.auth_user u "
		      "WHERE u.id = p.creator_id) AS mdw_creator_dangles "
		      "FROM public.dispatch_project p WHERE p.id BETWEEN $1 AND $2 ORDER BY p.id",
	.stage_table = "stage_projects",
	.stage_ddl = "CREATE TEMP TABLE IF NOT EXISTS stage_projects (legacy_id integer PRIMARY KEY, uid uuid, "
		     "creator_id integer, name text, asset_type text, file_size_bytes bigint, quality_flags text[], "
		     "created_at timestamptz, updated_at timestamptz, repairs text[]) ON COMMIT DELETE ROWS",
	.stage_copy = "COPY stage_projects FROM STDIN",
	.transform = transform,
	.orphans_sql =
		MDW_ORPHANS("DELETE FROM stage_projects s WHERE s.legacy_id BETWEEN $1 AND $2 AND (" CASE_MISSING " OR "
			    "(s.creator_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.profile_legacy_users u "
			    "  WHERE u.legacy_user_id = s.creator_id))) "
			    "RETURNING s.legacy_id, "
			    " CASE WHEN " CASE_MISSING " THEN 'orphan_case' ELSE 'orphan_creator' END, "
			    " CASE WHEN " CASE_MISSING " THEN 'case' ELSE 'creator' END, "
			    " CASE WHEN " CASE_MISSING " THEN 'cases' ELSE 'profiles' END, "
			    " CASE WHEN " CASE_MISSING " THEN s.legacy_id ELSE s.creator_id END"),
	.insert_sql =
		"INSERT INTO public.projects (legacy_id, uid, case_id, practice_id, creator_id, name, asset_type, "
		"file_size_bytes, quality_flags, created_at, updated_at, mdw_run_id) "
		"SELECT s.legacy_id, s.uid, c.id, c.practice_id, u.profile_id, s.name, s.asset_type, "
		"s.file_size_bytes, s.quality_flags, s.created_at, s.updated_at, $3::bigint "
		"FROM stage_projects s JOIN public.cases c ON c.legacy_project_id = s.legacy_id "
		"LEFT JOIN public.profile_legacy_users u ON u.legacy_user_id = s.creator_id "
		"WHERE s.legacy_id BETWEEN $1 AND $2 ORDER BY s.legacy_id ON CONFLICT (legacy_id) DO NOTHING",
	.flags_sql = MDW_FLAGS("stage_projects"),
};
