/*
 * The table of what each verified phase's rows are on both sides
 * (mdw/verify_spec.h): the SQL of verify's two sides, by phase.
 */
#include <stdio.h>
#include <string.h>

#include "mdw/verify_spec.h"

/* Every column is text on both sides, with the same names, so that row texts compare. */
#define EPOCH(c) "extract(epoch FROM " c ")::text"
#define WS "E' \\t\\n\\r\\f\\v'"
#define CASE_TYPES                                                                                                     \
	"(ARRAY['initial_treatment', 'refinement', 'retainer', 'replacement_aligners', 'intraoral_scan', "             \
	"'treatment_plan'])"
#define CASE_STATUSES "(ARRAY['draft', 'submitted', 'in_production', 'shipped', 'delivered', 'cancelled'])"
#define NOT_ABSENT(id) id " NOT IN (SELECT unnest($3::bigint[]))"
#define EMAIL_OF(id) "(SELECT lower(btrim(u.email, " WS ")) FROM public.auth_user u WHERE u.id = " id ")"
/* The same value for a big table's rows by a join (a hash join, not a subquery per row): column, then join. */
#define EMAIL_COL(u) "lower(btrim(" u ".email, " WS "))"
#define EMAIL_JOIN(u, id) " LEFT JOIN public.auth_user " u " ON " u ".id = " id " "
#define TRIMMED(c) "nullif(btrim(" c ", " WS "), '')"
/* transform_util.c tu_email: trimmed, lower-cased, one @, a non-empty local part, a dot inside the domain */
#define EMAIL_CH "[^@ \\t\\n\\r\\f\\v\\x01-\\x1f\\x7f]"
#define EMAIL_DCH "[^@. \\t\\n\\r\\f\\v\\x01-\\x1f\\x7f]"
#define EMAIL_OK(e)                                                                                                    \
	"(octet_length(" e ") < 256 AND " e " ~ '^" EMAIL_CH "+@" EMAIL_DCH EMAIL_CH "*\\." EMAIL_CH "*" EMAIL_DCH "$')"
#define ROLE_OF(u)                                                                                                     \
	"CASE WHEN " u ".is_superuser THEN 'admin' WHEN " u ".is_staff THEN 'staff' WHEN EXISTS (SELECT 1 FROM "       \
	"public.dispatch_office_doctors d WHERE d.user_id = " u ".id) THEN 'doctor' ELSE 'user' END"
/*
 * The profiles as the merge by email makes them: pu, every legacy user the
 * email rules accept; pg, per email the user whose profile holds it. Which
 * user of a group commits first is the load's choice (the lowest id within a
 * chunk, but chunks commit in any order), so the holder is the group's user
 * that holds a profile in the target ($4), else its lowest id; who is merged
 * with whom, and every value, come from the legacy rows.
 */
#define PROFILES_CTE                                                                                                                \
	"pu AS (SELECT u.id, lower(btrim(u.email, " WS ")) AS email FROM public.auth_user u "                                       \
	"WHERE " EMAIL_OK(                                                                                                          \
		"lower(btrim(u.email, " WS                                                                                          \
		"))") "), "                                                                                                         \
		      "pg AS (SELECT pu.email, coalesce(min(pu.id) FILTER (WHERE h.id IS NOT NULL), min(pu.id)) AS holder FROM pu " \
		      "LEFT JOIN (SELECT unnest($4::bigint[]) AS id) h ON h.id = pu.id GROUP BY pu.email)"
#define HOLDERS(table)                                                                                                 \
	"SELECT coalesce(array_agg(legacy_id)::text, '{}') FROM public." table " WHERE legacy_id IS NOT NULL"
/* A merged legacy row (mdw.merges g) reads back as the target row t it was merged into. */
#define MERGED_INTO(table) "mdw.merges g JOIN public." table " t ON t.id = g.target_id "

static const struct verify_spec specs[] = {
	{MDW_PH_PRACTICES,
	 "SELECT o.id::bigint AS id, btrim(o.name, " WS
	 ")::text AS name, " TRIMMED("o.address") "::text AS address, " TRIMMED("o.apt") "::text AS apt, " TRIMMED("o.city") "::text AS city, " TRIMMED(
		 "o.state") "::text AS state, " TRIMMED("o.zip") "::text AS zip, (CASE WHEN o.country ~ '^[A-Za-z]{2}$' THEN upper(o.country) END)::text "
								 "AS country, " TRIMMED("o.phone") "::text AS phone, (CASE WHEN " EMAIL_OK(
									 "lower(btrim(o.email, " WS
									 "))") " THEN lower(btrim(o.email, " WS
									       ")) END)::text AS email, o.is_active::text AS is_active, " EPOCH(
										       "o.created_at") " AS created_at FROM public.dispatch_office o "
												       "WHERE btrim(o.name, " WS
												       ") <> '' AND " NOT_ABSENT(
													       "o.id"),
	 "SELECT t.legacy_id AS id, t.name, t.address, t.apt, t.city, t.state, t.zip, t.country::text AS country, "
	 "t.phone, t.email, t.is_active::text AS is_active, " EPOCH(
		 "t.created_at") " AS created_at "
				 "FROM public.practices t WHERE t.legacy_id IS NOT NULL",
	 NULL, 1, 0},
	/* one row per accepted legacy user: its email, whether it was merged, and its profile's values */
	{MDW_PH_PROFILES,
	 "WITH " PROFILES_CTE
	 " SELECT pu.id::bigint AS id, pu.email::text AS email, (pu.id <> pg.holder)::text AS merged, "
	 "btrim(h.first_name, " WS ")::text AS first_name, btrim(h.last_name, " WS
	 ")::text AS last_name, " ROLE_OF("h") " AS role, h.is_active::text AS is_active, " EPOCH("h.last_login") " AS last_login, " EPOCH(
		 "h.date_joined") " AS joined_at FROM pu JOIN pg ON pg.email = pu.email "
				  "JOIN public.auth_user h ON h.id = pg.holder WHERE " NOT_ABSENT("pu.id"),
	 "SELECT l.legacy_user_id AS id, p.email, l.merged::text AS merged, p.first_name, p.last_name, p.role, "
	 "p.is_active::text AS is_active, " EPOCH("p.last_login") " AS last_login, " EPOCH(
		 "p.joined_at") " AS joined_at "
				"FROM public.profile_legacy_users l JOIN public.profiles p ON p.id = l.profile_id "
				"UNION ALL SELECT p.legacy_id, p.email, NULL, p.first_name, p.last_name, p.role, p.is_active::text, " EPOCH(
					"p.last_login") ", " EPOCH("p.joined_at") " FROM public.profiles p WHERE p.legacy_id IS NOT NULL "
										  "AND NOT EXISTS (SELECT 1 FROM public.profile_legacy_users l WHERE l.legacy_user_id = p.legacy_id)",
	 HOLDERS("profiles"), 0, 0},
	{MDW_PH_PATIENTS,
	 "SELECT p.id::bigint AS id, "
	 "(CASE WHEN p.office_id IS NULL OR EXISTS (SELECT 1 FROM public.dispatch_office o WHERE o.id = p.office_id) "
	 " THEN p.office_id ELSE (SELECT min(d.office_id) FROM public.dispatch_office_doctors d "
	 " JOIN public.dispatch_office o ON o.id = d.office_id WHERE d.user_id = p.doctor_id "
	 " AND EXISTS (SELECT 1 FROM public.auth_user u WHERE u.id = p.doctor_id) "
	 " HAVING count(DISTINCT d.office_id) = 1) END)::text AS practice, " EMAIL_OF(
		 "p.doctor_id") " AS doctor, "
				"btrim(p.first_name, " WS ")::text AS first_name, btrim(p.last_name, " WS
				")::text AS last_name, "
				"(CASE WHEN p.birthdate < '1900-01-01' OR p.birthdate > p.created_at::date THEN NULL ELSE p.birthdate END)::text "
				"AS birthdate, CASE p.sex WHEN 'm' THEN 'male' WHEN 'f' THEN 'female' END AS sex, "
				"(ARRAY['new', 'in_treatment', 'retention', 'completed', 'archived'])[p.status + 1] AS status, "
				"p.archived::text AS archived, p.suspended::text AS suspended, " EPOCH("p.created_at") " AS created_at, " EPOCH(
					"p.updated_at") " AS updated_at FROM public.dispatch_patient p WHERE " NOT_ABSENT("p.id"),
	 "SELECT t.legacy_id AS id, pr.legacy_id::text AS practice, f.email::text AS doctor, "
	 "t.first_name::text AS first_name, t.last_name::text AS last_name, t.birthdate::text AS birthdate, "
	 "t.sex::text AS sex, t.status::text AS status, t.is_archived::text AS archived, "
	 "t.is_suspended::text AS suspended, " EPOCH("t.created_at") " AS created_at, " EPOCH(
		 "t.updated_at") " AS updated_at FROM public.patients t LEFT JOIN public.practices pr ON pr.id = t.practice_id "
				 "LEFT JOIN public.profiles f ON f.id = t.profile_id WHERE t.legacy_id IS NOT NULL",
	 NULL, 1, 0},
	{MDW_PH_CASES,
	 "SELECT p.id::bigint AS id, (CASE WHEN xp.id IS NOT NULL THEN p.patient_id END)::text AS patient, "
	 "format('C-%s%s', CASE WHEN p.id < 0 THEN '-' END, lpad(abs(p.id::bigint)::text, 10, '0')) AS case_number, " CASE_TYPES
	 "[p.type + 1] AS case_type, " CASE_STATUSES "[p.status + 1] AS status, "
	 "coalesce(nullif(btrim(p.name, " WS
	 "), ''), 'Untitled case')::text AS title, nullif(p.notes, '') AS notes, " EPOCH("p.created_at") " AS created_at, " EPOCH(
		 "p.updated_at") " AS updated_at "
				 "FROM public.dispatch_project p LEFT JOIN public.dispatch_patient xp ON xp.id = p.patient_id "
				 "WHERE " NOT_ABSENT("p.id"),
	 "SELECT c.legacy_project_id AS id, pt.legacy_id::text AS patient, c.case_number::text AS case_number, "
	 "c.case_type::text AS case_type, c.status::text AS status, c.title::text AS title, "
	 "c.clinical_notes::text AS notes, " EPOCH("c.created_at") " AS created_at, " EPOCH(
		 "c.updated_at") " AS updated_at FROM public.cases c LEFT JOIN public.patients pt ON pt.id = c.patient_id "
				 "WHERE c.legacy_project_id IS NOT NULL",
	 NULL, 1, 0},
	{MDW_PH_PROJECTS,
	 "SELECT p.id::bigint AS id, p.uid::text AS uid, p.id::text AS case_legacy_id, " EMAIL_COL(
		 "cu") " AS creator, coalesce(nullif(btrim(p.name, " WS
		       "), ''), 'Untitled project')::text AS name, " CASE_TYPES
		       "[p.type + 1] AS asset_type, (CASE WHEN p.size >= 0 THEN p.size END)::text AS size, " EPOCH("p.created_at") " AS created_at, " EPOCH(
			       "p.updated_at") " AS updated_at "
					       "FROM public.dispatch_project p" EMAIL_JOIN("cu", "p.creator_id") "WHERE " NOT_ABSENT(
						       "p.id"),
	 "SELECT t.legacy_id AS id, t.uid::text AS uid, c.legacy_project_id::text AS case_legacy_id, "
	 "f.email::text AS creator, t.name::text AS name, t.asset_type::text AS asset_type, "
	 "t.file_size_bytes::text AS size, " EPOCH("t.created_at") " AS created_at, " EPOCH(
		 "t.updated_at") " AS updated_at FROM public.projects t LEFT JOIN public.cases c ON c.id = t.case_id "
				 "LEFT JOIN public.profiles f ON f.id = t.creator_id WHERE t.legacy_id IS NOT NULL",
	 NULL, 1, 0},
	{MDW_PH_CASE_STATES,
	 "SELECT s.id::bigint AS id, s.project_id::text AS case_legacy_id, " EMAIL_COL(
		 "au") " AS actor, " CASE_STATUSES "[s.status + 1] AS state, "
		       "s.note::text AS note, " EPOCH(
			       "s.changed_at") " AS created_at "
					       "FROM public.dispatch_state s" EMAIL_JOIN("au", "s.actor_id") "WHERE " NOT_ABSENT(
						       "s.id"),
	 "SELECT t.legacy_id AS id, c.legacy_project_id::text AS case_legacy_id, f.email::text AS actor, "
	 "t.state::text AS state, t.note::text AS note, " EPOCH(
		 "t.created_at") " AS created_at "
				 "FROM public.case_states t JOIN public.cases c ON c.id = t.case_id "
				 "LEFT JOIN public.profiles f ON f.id = t.changed_by WHERE t.legacy_id IS NOT NULL",
	 NULL, 1, 0},
	/* a link merged into another of the same pair reads back as that pair */
	{MDW_PH_PRACTICE_MEMBERS,
	 "WITH " PROFILES_CTE
	 " SELECT d.id::bigint AS id, d.office_id::text AS practice, pu.email::text AS profile, " ROLE_OF(
		 "h") " AS role, 'true' AS is_active FROM public.dispatch_office_doctors d "
		      "JOIN public.dispatch_office o ON o.id = d.office_id JOIN pu ON pu.id = d.user_id "
		      "JOIN pg ON pg.email = pu.email JOIN public.auth_user h ON h.id = pg.holder WHERE " NOT_ABSENT(
			      "d.id"),
	 "SELECT t.legacy_id::bigint AS id, pr.legacy_id::text AS practice, f.email AS profile, t.role, "
	 "t.is_active::text AS is_active FROM public.practice_members t JOIN public.practices pr ON pr.id = t.practice_id "
	 "JOIN public.profiles f ON f.id = t.profile_id WHERE t.legacy_id IS NOT NULL "
	 "UNION ALL SELECT g.legacy_id, pr.legacy_id::text, f.email, t.role, t.is_active::text FROM " MERGED_INTO(
		 "practice_members") "JOIN public.practices pr ON pr.id = t.practice_id "
				     "JOIN public.profiles f ON f.id = t.profile_id WHERE g.phase = 'practice_members'",
	 HOLDERS("profiles"), 0, 1},
	/* a template merged into another of the same practice and name: merged, with the holder's values */
	{MDW_PH_WORKFLOW_TEMPLATES,
	 "WITH w AS (SELECT t.id, t.office_id, btrim(t.name, " WS ") AS name FROM public.dispatch_template t "
	 "WHERE btrim(t.name, " WS ") <> '' AND (t.office_id IS NULL OR EXISTS (SELECT 1 FROM public.dispatch_office o "
	 "WHERE o.id = t.office_id)) AND " NOT_ABSENT(
		 "t.id") "), "
			 "g AS (SELECT w.office_id, w.name, coalesce(min(w.id) FILTER (WHERE h.id IS NOT NULL), min(w.id)) AS holder "
			 "FROM w LEFT JOIN (SELECT unnest($4::bigint[]) AS id) h ON h.id = w.id GROUP BY 1, 2) "
			 "SELECT w.id::bigint AS id, w.office_id::text AS practice, w.name::text AS name, (w.id <> g.holder)::text AS "
			 "merged, coalesce(h.steps::jsonb, '[]')::text AS steps, h.is_active::text AS is_active, " EPOCH(
				 "h.created_at") " AS created_at FROM w JOIN g ON g.office_id IS NOT DISTINCT FROM w.office_id AND g.name = w.name "
						 "JOIN public.dispatch_template h ON h.id = g.holder",
	 "SELECT t.legacy_id::bigint AS id, pr.legacy_id::text AS practice, t.name, 'false' AS merged, t.steps::text AS "
	 "steps, t.is_active::text AS is_active, " EPOCH(
		 "t.created_at") " AS created_at FROM public.workflow_templates t "
				 "LEFT JOIN public.practices pr ON pr.id = t.practice_id WHERE t.legacy_id IS NOT NULL "
				 "UNION ALL SELECT g.legacy_id, pr.legacy_id::text, t.name, 'true', t.steps::text, t.is_active::text, " EPOCH(
					 "t.created_at") " FROM " MERGED_INTO("workflow_templates") "LEFT JOIN public.practices pr ON pr.id = t.practice_id WHERE g.phase = 'workflow_templates'",
	 HOLDERS("workflow_templates"), 0, 0},
};

#define NSPECS (sizeof specs / sizeof specs[0])

const struct verify_spec *verify_spec_find(enum mdw_phase_id ph)
{
	for (size_t k = 0; k < NSPECS; k++)
		if (specs[k].phase == ph)
			return &specs[k];
	return NULL;
}

const char *verify_target_sql(enum mdw_phase_id ph)
{
	const struct verify_spec *v = verify_spec_find(ph);

	return v ? v->target : NULL;
}

int verify_covers(enum mdw_phase_id ph)
{
	return verify_spec_find(ph) != NULL;
}

int verify_ahead(enum mdw_phase_id ph)
{
	const struct verify_spec *v = verify_spec_find(ph);

	return v && !v->holders_from_earlier;
}

int verify_target_sql_over(enum mdw_phase_id ph, const char *relation, char *out, size_t outlen)
{
	const char *t = verify_target_sql(ph), *at;
	char table[80];
	size_t lt;
	int n;

	if (!t || ph >= MDW_NPHASES || !mdw_phases[ph].target || strstr(t, " UNION "))
		return -1;
	/* the table, once, after FROM and before its alias: "FROM public.cases c " */
	n = snprintf(table, sizeof table, "public.%s ", mdw_phases[ph].target);
	if (n < 0 || (size_t)n >= sizeof table || !(at = strstr(t, table)) || strstr(at + 1, table) || at - t < 5 ||
	    strncmp(at - 5, "FROM ", 5))
		return -1;
	lt = strlen(table) - 1;
	n = snprintf(out, outlen, "%.*s%s%s", (int)(at - t), t, relation, at + lt);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
