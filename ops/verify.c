/*
 * mdwctl verify: row-level verification. For each verified phase, what every
 * legacy row should have become is computed in SQL over the legacy database,
 * from the rules of docs/transforms.md and independently of the C transforms
 * (repairs included: a dangling reference is NULL, a patient's office may
 * come from its doctor); the target's rows are read back in the same legacy
 * terms (a practice as its legacy id, a profile as its email, so merged users
 * compare equal). Rows rejected and not placed since, and merged rows, are
 * expected absent.
 *
 * Set-based: each side computes every row's md5 (over the row's text) in
 * one query per phase, read in id order by cursor and merged here by id, so
 * each side is computed once whatever the number of differences (with
 * changes spread thinly every bucket of ids differs: reading the differing
 * buckets again, batch by batch, cost a pass over the whole side per batch).
 * The summary counts buckets of VERIFY_BUCKET consecutive legacy ids, a
 * bucket differing if any of its rows does. Only the rows whose hashes
 * differ are then read as JSON, by id, to name the differing columns: by
 * legacy id and column, never their values unless --show-values.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criteria.h"
#include "mdw/pgx.h"
#include "mdw/strbuf.h"
#include "row_cursor.h"
#include "verify.h"

#define VERIFY_NAME_BATCH 4096   /* differing rows read as JSON in one query per side, to name their columns */
#define VERIFY_CHECK_BATCH 20000 /* recorded candidates read back and hashed in one query */

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

struct verify_spec {
	enum mdw_phase_id phase; /* its legacy table (mdw_phases[].source) is the id range --sample draws buckets from */
	const char *source;      /* $3: the legacy ids expected absent (bigint[]); $4: the holders */
	const char *target;
	const char *holders; /* on the target: $4 of the source side (NULL: none) */
	int merges_absent;   /* merged rows are expected absent (else the target side reads them back) */
	/*
	 * The holders are rows that an earlier phase of the same run writes (the
	 * profiles a catch-up inserts): the comparison waits for its load, and
	 * is never computed ahead (verify_ahead).
	 */
	int holders_from_earlier;
};

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
	 "SELECT t.legacy_id::bigint AS id, t.name, t.address, t.apt, t.city, t.state, t.zip, t.country::text AS country, "
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
	 "SELECT l.legacy_user_id::bigint AS id, p.email, l.merged::text AS merged, p.first_name, p.last_name, p.role, "
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
	 "SELECT t.legacy_id::bigint AS id, pr.legacy_id::text AS practice, f.email::text AS doctor, "
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
	 "SELECT c.legacy_project_id::bigint AS id, pt.legacy_id::text AS patient, c.case_number::text AS case_number, "
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
	 "SELECT t.legacy_id::bigint AS id, t.uid::text AS uid, c.legacy_project_id::text AS case_legacy_id, "
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
	 "SELECT t.legacy_id::bigint AS id, c.legacy_project_id::text AS case_legacy_id, f.email::text AS actor, "
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

struct side {
	PGconn *c;
	const char *rows;
	const char *ids;     /* $3 of the source side; NULL: the target side */
	const char *holders; /* $4 of the source side, or NULL */
	const char *table;   /* the target side's table, whose row's xmin comes third (NULL: two columns) */
	const char *key;     /* its legacy id column */
	/*
	 * Collecting for a catch-up: the phase whose recorded hashes
	 * (mdw.row_hashes) stand for the target rows of TABLE (NULL: the rows
	 * read back). See verify_run.
	 */
	const char *recorded;
};

/*
 * Per row of S ($1 bucket size, $2 the buckets, bigint[], or NULL for every
 * bucket): id and md5 of the row's text, in id order, by cursor NAME into K.
 */
static int side_rows_open(const struct side *s, const char *name, const char *buckets, struct row_cursor *k, char *err,
			  size_t errlen)
{
	char sql[16384], sz[24];
	const char *p[4] = {sz, buckets, s->ids, s->holders};

	char xmin[256] = "";

	snprintf(sz, sizeof sz, "%d", VERIFY_BUCKET);
	if (s->recorded) { /* TABLE and KEY come from the phase table, never from input */
		p[2] = s->recorded;
		snprintf(sql, sizeof sql,
			 "SELECT t.%s::bigint AS id, h.hash FROM public.%s t LEFT JOIN mdw.row_hashes h ON h.phase = $3 "
			 "AND h.legacy_id = t.%s WHERE t.%s IS NOT NULL AND ($2::bigint[] IS NULL OR "
			 "floor(t.%s::numeric / $1::int)::bigint = ANY($2::bigint[])) ORDER BY 1",
			 s->key, s->table, s->key, s->key, s->key);
		return row_cursor_open(k, s->c, name, sql, 3, p, err, errlen);
	}
	if (s->table)
		snprintf(xmin, sizeof xmin, ", (SELECT r.xmin FROM public.%s r WHERE r.%s = x.id LIMIT 1)::text",
			 s->table, s->key);
	snprintf(sql, sizeof sql,
		 "WITH x AS (%s) SELECT x.id, md5(x::text)%s FROM x "
		 "WHERE $2::bigint[] IS NULL OR floor(x.id::numeric / $1::int)::bigint = ANY($2::bigint[]) ORDER BY x.id",
		 s->rows, xmin);
	return row_cursor_open(k, s->c, name, sql, !s->ids ? 2 : s->holders ? 4 : 3, p, err, errlen);
}

/* The rows of S whose legacy ids are IDS ('{..}'): id and row as JSON, in id order. */
static PGresult *side_json(const struct side *s, const char *ids, char *err, size_t errlen)
{
	char sql[16384], sz[24];
	const char *p[4] = {sz, ids, s->ids, s->holders};

	snprintf(sz, sizeof sz, "%d",
		 VERIFY_BUCKET); /* $1 unused here: typed so that the parameters stay those of side_rows_open */
	snprintf(sql, sizeof sql,
		 "WITH x AS (%s) SELECT x.id, to_jsonb(x)::text FROM x WHERE $1::int IS NOT NULL AND x.id = ANY($2::bigint[]) "
		 "ORDER BY x.id",
		 s->rows);
	return pgx_query(s->c, sql, !s->ids ? 2 : s->holders ? 4 : 3, p, err, errlen, NULL);
}

struct tally {
	FILE *out;              /* where the differing rows are named; NULL: nowhere */
	struct verify_ids *ids; /* where their legacy ids are collected; NULL: nowhere */
	int oom;
	long long rows_checked, missing, stray, differing, buckets, buckets_differing;
};

/* Append ID to the list *V of *N (capacity *CAP). 0, or -1 out of memory. */
static int push_id(long long **v, long long *n, long long *cap, long long id)
{
	if (*n == *cap) {
		long long c = *cap ? *cap * 2 : 256;
		long long *nv = realloc(*v, sizeof *nv * (size_t)c);
		if (!nv)
			return -1;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = id;
	return 0;
}

/* Append ID to the list *V of *N (capacity *CAP) of T's collection, if it collects. */
static void ids_add(struct tally *t, long long **v, long long *n, long long *cap, const char *id)
{
	if (t->ids && push_id(v, n, cap, strtoll(id, NULL, 10)) < 0)
		t->oom = 1;
}

/* Append ID, with its target row's md5 HASH and XMIN (NULL: not known), to the differing rows collected by T. */
static void differ_add(struct tally *t, const char *id, const char *hash, const char *xmin)
{
	struct verify_ids *v = t->ids;
	long long cap;

	if (!v)
		return;
	cap = v->capdiffer;
	ids_add(t, &v->differ, &v->ndiffer, &v->capdiffer, id);
	if (t->oom)
		return;
	if (v->capdiffer != cap || !v->differ_hash || !v->differ_xmin) {
		char(*nh)[33] = realloc(v->differ_hash, sizeof *nh * (size_t)v->capdiffer);
		char(*nx)[12] = nh ? realloc(v->differ_xmin, sizeof *nx * (size_t)v->capdiffer) : NULL;
		if (nh)
			v->differ_hash = nh;
		if (!nx) {
			v->ndiffer--;
			t->oom = 1;
			return;
		}
		v->differ_xmin = nx;
	}
	snprintf(v->differ_hash[v->ndiffer - 1], sizeof v->differ_hash[0], "%s", hash ? hash : "");
	snprintf(v->differ_xmin[v->ndiffer - 1], sizeof v->differ_xmin[0], "%s", xmin ? xmin : "");
}

void verify_ids_free(struct verify_ids *v)
{
	if (!v)
		return;
	free(v->missing);
	free(v->stray);
	free(v->differ);
	free(v->differ_hash);
	free(v->differ_xmin);
	*v = (struct verify_ids){0};
}

/* Compare the JSON rows A (expected) and B (target) of one legacy id: print the differing columns. */
static void diff_row(const char *phase, const char *id, const char *a, const char *b, int show, struct tally *t)
{
	json_t *x = json_loads(a, 0, NULL), *y = json_loads(b, 0, NULL);
	const char *k;
	json_t *v;
	int any = 0;

	json_object_foreach(x, k, v)
	{
		json_t *w = json_object_get(y, k);
		if (json_equal(v, w))
			continue;
		any = 1;
		if (show) {
			char *vs = json_dumps(v, JSON_ENCODE_ANY), *ws = w ? json_dumps(w, JSON_ENCODE_ANY) : NULL;
			if (t->out)
				fprintf(t->out, "%-19s %11s differs   %-16s expected %s, target %s\n", phase, id, k,
					vs ? vs : "?", ws ? ws : "null");
			free(vs);
			free(ws);
		} else {
			if (t->out)
				fprintf(t->out, "%-19s %11s differs   %s\n", phase, id, k);
		}
	}
	t->differing += any;
	if (any)
		differ_add(t, id, NULL, NULL);
	json_decref(x);
	json_decref(y);
}

/* Walk the rows of the legacy IDS ('{..}') on both sides (ascending ids) and name what differs. */
static int diff_named(const struct side *src, const struct side *tgt, const char *phase, const char *ids, int show,
		      struct tally *t, char *err, size_t errlen)
{
	PGresult *a = side_json(src, ids, err, errlen), *b = a ? side_json(tgt, ids, err, errlen) : NULL;
	int i = 0, j = 0;

	if (!a || !b) {
		PQclear(a);
		return -1;
	}
	while (i < PQntuples(a) || j < PQntuples(b)) {
		long long x = i < PQntuples(a) ? strtoll(PQgetvalue(a, i, 0), NULL, 10) : 0;
		long long y = j < PQntuples(b) ? strtoll(PQgetvalue(b, j, 0), NULL, 10) : 0;
		if (j >= PQntuples(b) || (i < PQntuples(a) && x < y)) {
			if (t->out)
				fprintf(t->out, "%-19s %11s missing   (expected in the target, not there)\n", phase,
					PQgetvalue(a, i, 0));
			t->missing++;
			if (t->ids)
				ids_add(t, &t->ids->missing, &t->ids->nmissing, &t->ids->capmissing,
					PQgetvalue(a, i, 0));
			i++;
		} else if (i >= PQntuples(a) || y < x) {
			if (t->out)
				fprintf(t->out,
					"%-19s %11s stray     (in the target, no legacy row should have become it)\n",
					phase, PQgetvalue(b, j, 0));
			t->stray++;
			if (t->ids)
				ids_add(t, &t->ids->stray, &t->ids->nstray, &t->ids->capstray, PQgetvalue(b, j, 0));
			j++;
		} else {
			if (strcmp(PQgetvalue(a, i, 1), PQgetvalue(b, j, 1)))
				diff_row(phase, PQgetvalue(a, i, 0), PQgetvalue(a, i, 1), PQgetvalue(b, j, 1), show, t);
			i++;
			j++;
		}
	}
	PQclear(a);
	PQclear(b);
	return 0;
}

/* IDS[FROM..TO) as a bigint[] literal (caller frees), or NULL with ERR (out of memory). */
static char *ids_array(const long long *ids, long long from, long long to, char *err, size_t errlen)
{
	struct strbuf lit = STRBUF_INIT;

	strbuf_putc(&lit, '{');
	for (long long k = from; k < to; k++)
		strbuf_printf(&lit, "%s%lld", k == from ? "" : ",", ids[k]);
	strbuf_putc(&lit, '}');
	if (lit.oom) {
		strbuf_free(&lit);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return strbuf_take(&lit);
}

/* Name the columns of the rows of IDS[0..N) (their hashes differ): a query per side per VERIFY_NAME_BATCH rows. */
static int name_differing(const struct side *src, const struct side *tgt, const char *phase, const long long *ids,
			  long long n, int show, struct tally *t, char *err, size_t errlen)
{
	for (long long i = 0; i < n; i += VERIFY_NAME_BATCH) {
		char *lit = ids_array(ids, i, i + VERIFY_NAME_BATCH < n ? i + VERIFY_NAME_BATCH : n, err, errlen);
		int rc = lit ? diff_named(src, tgt, phase, lit, show, t, err, errlen) : -1;
		free(lit);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Append ID with its expected hash HASH to the candidates (*IDS, *N of *CAP; *EXPECT alongside). 0, or -1 out of memory. */
static int candidate_add(long long **ids, long long *n, long long *cap, char (**expect)[33], long long id,
			 const char *hash)
{
	long long had = *cap;

	if (push_id(ids, n, cap, id) < 0)
		return -1;
	if (*cap != had || !*expect) {
		char(*ne)[33] = realloc(*expect, sizeof *ne * (size_t)*cap);
		if (!ne) {
			(*n)--;
			return -1;
		}
		*expect = ne;
	}
	snprintf((*expect)[*n - 1], sizeof(*expect)[0], "%s", hash);
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/*
 * The recorded side's candidates IDS[0..N) (ascending; EXPECT[i] the
 * expected hash of IDS[i]): each target row read back and hashed, with its
 * version, in one statement per VERIFY_CHECK_BATCH rows. A row whose hash is
 * the expected one is the same (its recorded hash is stale, or it has none);
 * the others differ, collected with that hash and version; a row gone from
 * the target since the cursor listed it is missing.
 */
static int check_candidates(const struct side *tgt, const long long *ids, char (*expect)[33], long long n,
			    struct tally *t, char *err, size_t errlen)
{
	char sql[16384];
	int unsorted = 0;

	/* TABLE and KEY come from the phase table, never from input */
	snprintf(sql, sizeof sql,
		 "WITH x AS (%s) SELECT x.id, md5(x::text), (SELECT r.xmin FROM public.%s r WHERE r.%s = x.id LIMIT 1)::text "
		 "FROM x WHERE x.id = ANY($1::bigint[]) ORDER BY x.id",
		 tgt->rows, tgt->table, tgt->key);
	for (long long i = 0; i < n; i += VERIFY_CHECK_BATCH) {
		long long end = i + VERIFY_CHECK_BATCH < n ? i + VERIFY_CHECK_BATCH : n, k = i;
		char *lit = ids_array(ids, i, end, err, errlen);
		const char *p[1] = {lit};
		PGresult *r = lit ? pgx_query(tgt->c, sql, 1, p, err, errlen, NULL) : NULL;

		free(lit);
		if (!r)
			return -1;
		for (int row = 0; row <= PQntuples(r); row++) {
			long long id = row < PQntuples(r) ? strtoll(PQgetvalue(r, row, 0), NULL, 10) : 0;
			for (; k < end && (row == PQntuples(r) || ids[k] < id); k++) { /* gone from the target */
				t->missing++;
				if (t->ids &&
				    push_id(&t->ids->missing, &t->ids->nmissing, &t->ids->capmissing, ids[k]) < 0)
					t->oom = 1;
				unsorted = 1;
			}
			if (row == PQntuples(r) || k >= end || ids[k] != id)
				continue;
			if (strcmp(PQgetvalue(r, row, 1), expect[k])) {
				t->differing++;
				differ_add(t, PQgetvalue(r, row, 0), PQgetvalue(r, row, 1), PQgetvalue(r, row, 2));
			}
			k++;
		}
		PQclear(r);
	}
	if (unsorted && t->ids) /* the missing ids stay ascending, as catch-up's plan walks them */
		qsort(t->ids->missing, (size_t)t->ids->nmissing, sizeof *t->ids->missing, cmp_id);
	return 0;
}

/* The bucket of legacy id ID: floor(id / VERIFY_BUCKET), as the SQL of --sample computes it. */
static long long bucket_of(long long id)
{
	return id >= 0 ? id / VERIFY_BUCKET : -((-id + VERIFY_BUCKET - 1) / VERIFY_BUCKET);
}

/*
 * Compare the rows of the BUCKETS ('{..}', NULL: every bucket): each side's
 * ids and md5s in one query, merged by id; a bucket differs if any of its
 * rows does (counted in T). Missing and stray rows are counted here; rows
 * whose hashes differ are collected with their target hash, or, when T names
 * rows (T->out), read as JSON to name their columns.
 */
static int drill_down(const struct side *src, const struct side *tgt, const char *phase, const char *buckets, int show,
		      struct tally *t, char *err, size_t errlen)
{
	struct row_cursor a = {0}, b = {0};
	long long *cand = NULL, ncand = 0, capcand = 0, bucket = 0;
	char(*expect)[33] = NULL; /* recorded: the expected hash of each candidate */
	int ha = 0, hb = 0, rc = -1, in_bucket = 0, bucket_differs = 0;

	if (side_rows_open(src, "mdw_verify_src", buckets, &a, err, errlen) < 0 ||
	    side_rows_open(tgt, "mdw_verify_tgt", buckets, &b, err, errlen) < 0)
		goto out;
	/* both servers compute their side at once (two connections: the legacy database and the target) */
	if (src->c != tgt->c && (row_cursor_start(&a, err, errlen) < 0 || row_cursor_start(&b, err, errlen) < 0))
		goto out;
	if ((ha = row_cursor_next(&a, err, errlen)) < 0 || (hb = row_cursor_next(&b, err, errlen)) < 0)
		goto out;
	while (ha > 0 || hb > 0) {
		long long x = ha > 0 ? strtoll(row_cursor_get(&a, 0), NULL, 10) : 0;
		long long y = hb > 0 ? strtoll(row_cursor_get(&b, 0), NULL, 10) : 0;
		long long here = bucket_of(hb <= 0 || (ha > 0 && x < y) ? x : y);
		if (!in_bucket || here != bucket) {
			t->buckets_differing += bucket_differs;
			t->buckets++;
			bucket = here;
			in_bucket = 1;
			bucket_differs = 0;
		}
		if (hb <= 0 || (ha > 0 && x < y)) {
			bucket_differs = 1;
			if (t->out)
				fprintf(t->out, "%-19s %11lld missing   (expected in the target, not there)\n", phase,
					x);
			t->missing++;
			if (t->ids)
				ids_add(t, &t->ids->missing, &t->ids->nmissing, &t->ids->capmissing,
					row_cursor_get(&a, 0));
			ha = row_cursor_next(&a, err, errlen);
		} else if (ha <= 0 || y < x) {
			bucket_differs = 1;
			if (t->out)
				fprintf(t->out,
					"%-19s %11lld stray     (in the target, no legacy row should have become it)\n",
					phase, y);
			t->stray++;
			if (t->ids)
				ids_add(t, &t->ids->stray, &t->ids->nstray, &t->ids->capstray, row_cursor_get(&b, 0));
			hb = row_cursor_next(&b, err, errlen);
		} else {
			if (strcmp(row_cursor_get(&a, 1), row_cursor_get(&b, 1))) {
				bucket_differs = 1;
				if (tgt->recorded) {
					if (candidate_add(&cand, &ncand, &capcand, &expect, x, row_cursor_get(&a, 1)) <
					    0) {
						snprintf(err, errlen, "out of memory");
						goto out;
					}
				} else if (!t->out) {
					t->differing++;
					differ_add(t, row_cursor_get(&b, 0), row_cursor_get(&b, 1),
						   tgt->table ? row_cursor_get(&b, 2) : NULL);
				} else if (push_id(&cand, &ncand, &capcand, x) < 0) {
					snprintf(err, errlen, "out of memory");
					goto out;
				}
			}
			ha = row_cursor_next(&a, err, errlen);
			hb = row_cursor_next(&b, err, errlen);
		}
		if (ha < 0 || hb < 0)
			goto out;
	}
	t->buckets_differing += bucket_differs;
	row_cursor_close(&b);
	row_cursor_close(&a);
	rc = tgt->recorded ? check_candidates(tgt, cand, expect, ncand, t, err, errlen)
			   : name_differing(src, tgt, phase, cand, ncand, show, t, err, errlen);
out:
	row_cursor_close(&b);
	row_cursor_close(&a);
	free(cand);
	free(expect);
	return rc;
}

/* The single value of R as a new string (R is cleared). */
static char *first_value(PGresult *r, char *err, size_t errlen)
{
	char *s = strdup(PQgetvalue(r, 0, 0));

	PQclear(r);
	if (!s)
		snprintf(err, errlen, "out of memory");
	return s;
}

/* The legacy ids of PHASE expected absent from the target: rejected and not placed since, or merged. */
static char *absent_ids(PGconn *tgt, enum mdw_phase_id ph, int merges, char *err, size_t errlen)
{
	char placed[256], sql[1024];
	const char *p[1] = {mdw_phases[ph].name};
	PGresult *r;

	criteria_placed(ph, placed, sizeof placed);
	snprintf(sql, sizeof sql,
		 "SELECT coalesce(array_agg(DISTINCT legacy_id)::text, '{}') FROM (SELECT j.legacy_id FROM mdw.rejects j "
		 "WHERE j.phase = $1 AND NOT %s%s) z",
		 placed, merges ? " UNION ALL SELECT legacy_id FROM mdw.merges WHERE phase = $1" : "");
	if (!(r = pgx_query(tgt, sql, 1, p, err, errlen, NULL)))
		return NULL;
	return first_value(r, err, errlen);
}

/* --sample N: N distinct buckets of the legacy table's ids, drawn at random (*OF: how many it has). */
static char *sample_buckets(PGconn *src, const struct verify_spec *v, long long n, long long *of, char *err,
			    size_t errlen)
{
	char sql[512], sz[24], nn[24], *s;
	const char *p[2] = {sz, nn};
	PGresult *r;

	snprintf(sz, sizeof sz, "%d", VERIFY_BUCKET);
	snprintf(nn, sizeof nn, "%lld", n);
	snprintf(sql, sizeof sql,
		 "SELECT count(*), coalesce(array_agg(b ORDER BY b) FILTER (WHERE k <= $2::bigint)::text, '{}') FROM "
		 "(SELECT b, row_number() OVER (ORDER BY random()) AS k FROM "
		 "(SELECT DISTINCT floor(id::numeric / $1::int)::bigint AS b FROM public.%s) d) z",
		 mdw_phases[v->phase].source);
	if (!(r = pgx_query(src, sql, 2, p, err, errlen, NULL)))
		return NULL;
	*of = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	if (!(s = strdup(PQgetvalue(r, 0, 1))))
		snprintf(err, errlen, "out of memory");
	PQclear(r);
	return s;
}

static const struct verify_spec *find_spec(enum mdw_phase_id ph)
{
	for (size_t k = 0; k < NSPECS; k++)
		if (specs[k].phase == ph)
			return &specs[k];
	return NULL;
}

const char *verify_target_sql(enum mdw_phase_id ph)
{
	const struct verify_spec *v = find_spec(ph);

	return v ? v->target : NULL;
}

int verify_covers(enum mdw_phase_id ph)
{
	return find_spec(ph) != NULL;
}

int verify_ahead(enum mdw_phase_id ph)
{
	const struct verify_spec *v = find_spec(ph);

	return v && !v->holders_from_earlier;
}

/* Whether the target records the rows' hashes (mdw.row_hashes, sql/target/008): 1 yes, 0 no (-1: the query failed, the same). */
static int recorded_ok(PGconn *tgt, char *err, size_t errlen)
{
	PGresult *r = pgx_query(tgt, "SELECT to_regclass('mdw.row_hashes') IS NOT NULL", 0, NULL, err, errlen, NULL);
	int ok = r && !strcmp(PQgetvalue(r, 0, 0), "t");

	PQclear(r);
	return r ? ok : -1;
}

/* verify_phase, collecting the ids of the rows that differ into COLLECT (NULL: no list). */
static int verify_run(PGconn *srcc, PGconn *tgtc, enum mdw_phase_id ph, FILE *out, int show, long long sample,
		      struct verify_ids *collect, char *summary, size_t slen, char *err, size_t errlen)
{
	const struct verify_spec *v = find_spec(ph);
	const char *phase = mdw_phases[ph].name;
	char *ids = NULL, *holders = NULL, *buckets = NULL, scope[64] = "";
	struct side src, tgt;
	struct tally t = {.out = out, .ids = collect};
	int rc = -1;

	if (!v) {
		snprintf(summary, slen, "no row-level verification for this phase yet");
		return 2;
	}
	if (!(ids = absent_ids(tgtc, ph, v->merges_absent, err, errlen)))
		goto out;
	if (v->holders) {
		PGresult *r = pgx_query(tgtc, v->holders, 0, NULL, err, errlen, NULL);
		if (!r || !(holders = first_value(r, err, errlen)))
			goto out;
	}
	if (sample > 0) {
		long long of = 0;
		if (!(buckets = sample_buckets(srcc, v, sample, &of, err, errlen)))
			goto out;
		if (out)
			fprintf(out, "%-19s sample: buckets %s of %lld, drawn at random\n", phase, buckets, of);
		snprintf(scope, sizeof scope, "sample of %lld of %lld buckets: ", sample < of ? sample : of, of);
	}
	src = (struct side){srcc, v->source, ids, holders, NULL, NULL, NULL};
	/* collecting for a catch-up: each target row's version too (its table's own rows; a mapping has none) */
	tgt = (struct side){tgtc,
			    v->target,
			    NULL,
			    NULL,
			    collect && !mdw_phases[ph].mapping && mdw_phases[ph].legacy_col ? mdw_phases[ph].target
											    : NULL,
			    mdw_phases[ph].legacy_col,
			    NULL};
	/*
	 * Collecting for a catch-up, a phase whose target side is its table's
	 * own rows (none merged into another read back): the target side is
	 * each row's legacy id and the hash recorded when the migration last
	 * wrote it, not the row read back. A legacy row whose expected hash is
	 * that one has not changed since, and needs no catch-up, whatever the
	 * application did to its target row; only the others (candidates) are
	 * read back and hashed, by id (check_candidates).
	 */
	if (tgt.table && v->merges_absent && recorded_ok(tgtc, err, errlen) == 1)
		tgt.recorded = phase;
	if (drill_down(&src, &tgt, phase, buckets, show, &t, err, errlen) < 0)
		goto out;
	if (t.oom) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	snprintf(summary, slen, "%s%lld buckets of %d ids, %lld differ: %lld rows missing, %lld stray, %lld differing",
		 scope, t.buckets, VERIFY_BUCKET, t.buckets_differing, t.missing, t.stray, t.differing);
	rc = t.missing + t.stray + t.differing ? 1 : 0;
out:
	free(ids);
	free(holders);
	free(buckets);
	return rc;
}

int verify_phase(PGconn *src, PGconn *tgt, enum mdw_phase_id ph, FILE *out, int show, long long sample, char *summary,
		 size_t slen, char *err, size_t errlen)
{
	return verify_run(src, tgt, ph, out, show, sample, NULL, summary, slen, err, errlen);
}

int verify_collect(PGconn *src, PGconn *tgt, enum mdw_phase_id ph, struct verify_ids *ids, char *summary, size_t slen,
		   char *err, size_t errlen)
{
	*ids = (struct verify_ids){0};
	return verify_run(src, tgt, ph, NULL, 0, 0, ids, summary, slen, err, errlen);
}
