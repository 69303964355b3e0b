/* The success criteria (see criteria.h): one table, one query shape. */
#include <stdio.h>
#include <stdlib.h>

#include "criteria.h"
#include "mdw/pgx.h"

struct criterion {
	enum mdw_phase_id phase;
	const char *what;
	const char *ref;    /* the reference column that must be set (NULL: only rejects fail it) */
	const char *repair; /* the mdw.flags code that NULLs it */
};

static const struct criterion criteria[] = {
	{MDW_PH_PATIENTS, "all patients linked to valid practices", "practice_id", "dangling_office"},
	{MDW_PH_PATIENTS, "all patients have valid doctors", "profile_id", "dangling_doctor"},
	{MDW_PH_CASES, "all cases linked to valid patients", "patient_id", "dangling_patient"},
	{MDW_PH_PROJECTS, "all projects linked to valid cases", NULL, NULL},
	{MDW_PH_PROJECTS, "all projects have valid creators", "creator_id", "dangling_creator"},
	{MDW_PH_PRACTICE_MEMBERS, "all memberships link a valid practice and profile", NULL, NULL},
	{MDW_PH_CASE_STATES, "all case states linked to valid cases", NULL, NULL},
	{MDW_PH_CASE_STATES, "all case states have valid actors", "changed_by", "dangling_actor"},
	{MDW_PH_WORKFLOW_TEMPLATES, "all practice templates linked to valid practices", NULL, NULL},
};

#define NCRIT (sizeof criteria / sizeof criteria[0])

void criteria_placed(enum mdw_phase_id phase, char *out, size_t outlen)
{
	if (phase == MDW_PH_PROFILES)
		snprintf(out, outlen,
			 "EXISTS (SELECT 1 FROM public.profile_legacy_users x WHERE x.legacy_user_id = j.legacy_id)");
	else
		snprintf(out, outlen, "EXISTS (SELECT 1 FROM public.%s x WHERE x.%s = j.legacy_id)",
			 mdw_phases[phase].target, mdw_phases[phase].legacy_col);
}

/* A query counting the outstanding rejects of PHASE ($1 the phase name). */
static void outstanding_sql(enum mdw_phase_id phase, char *out, size_t outlen)
{
	char placed[256];

	criteria_placed(phase, placed, sizeof placed);
	snprintf(out, outlen,
		 "SELECT count(DISTINCT j.legacy_id) FROM mdw.rejects j WHERE j.phase = $1 AND NOT %s "
		 "AND NOT EXISTS (SELECT 1 FROM mdw.merges m WHERE m.phase = $1 AND m.legacy_id = j.legacy_id)",
		 placed);
}

int criteria_standing(PGconn *tgt, enum mdw_phase_id phase, struct standing *st, char *err, size_t errlen)
{
	char rej[512], sql[1024];
	const char *p[1] = {mdw_phases[phase].name};
	PGresult *r;

	outstanding_sql(phase, rej, sizeof rej);
	snprintf(sql, sizeof sql,
		 "SELECT (SELECT count(*) FROM public.%s), (%s), (SELECT count(*) FROM mdw.flags WHERE phase = $1)",
		 mdw_phases[phase].target, rej);
	if (!(r = pgx_query(tgt, sql, 1, p, err, errlen, NULL)))
		return -1;
	st->target_rows = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	st->rejected_outstanding = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	st->flagged = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	PQclear(r);
	return 0;
}

/*
 * $1 phase, $2 repair code. Columns: NULL in the legacy data, repaired,
 * rejected (a reject whose legacy row is neither in the target nor merged).
 */
static int eval_one(PGconn *tgt, const struct criterion *c, long long v[3], char *err, size_t errlen)
{
	char rej[512], sql[1536];
	const char *p[2] = {mdw_phases[c->phase].name, c->repair ? c->repair : ""};
	PGresult *r;

	/* table and column names come from the table above, never from input */
	outstanding_sql(c->phase, rej, sizeof rej);
	if (c->ref)
		snprintf(sql, sizeof sql,
			 "SELECT count(*) FILTER (WHERE f.legacy_id IS NULL), count(f.legacy_id), (%s) "
			 "FROM public.%s t LEFT JOIN mdw.flags f ON f.phase = $1 AND f.code = $2 AND f.legacy_id = t.%s "
			 "WHERE t.%s IS NULL",
			 rej, mdw_phases[c->phase].target, mdw_phases[c->phase].legacy_col, c->ref);
	else
		snprintf(sql, sizeof sql, "SELECT 0, 0 * length($2::text), (%s)", rej);
	if (!(r = pgx_query(tgt, sql, 2, p, err, errlen, NULL)))
		return -1;
	for (int k = 0; k < 3; k++)
		v[k] = strtoll(PQgetvalue(r, 0, k), NULL, 10);
	PQclear(r);
	return 0;
}

json_t *criteria_eval(PGconn *tgt, int phase, char *err, size_t errlen)
{
	json_t *a = json_array();

	for (size_t i = 0; i < NCRIT; i++) {
		const struct criterion *c = &criteria[i];
		long long v[3];
		json_t *o;

		if (phase >= 0 && (int)c->phase != phase)
			continue;
		if (eval_one(tgt, c, v, err, errlen) < 0) {
			json_decref(a);
			return NULL;
		}
		o = json_object();
		json_object_set_new(o, "phase", json_string(mdw_phases[c->phase].name));
		json_object_set_new(o, "criterion", json_string(c->what));
		json_object_set_new(o, "notMet", json_integer(v[0] + v[1] + v[2]));
		json_object_set_new(o, "nullInLegacy", json_integer(v[0]));
		json_object_set_new(o, "repaired", json_integer(v[1]));
		json_object_set_new(o, "rejected", json_integer(v[2]));
		json_object_set_new(o, "holds", json_boolean(v[0] + v[1] + v[2] == 0));
		json_array_append_new(a, o);
	}
	return a;
}

void criteria_print(json_t *a, FILE *f, int markdown)
{
	size_t i;
	json_t *o;

	if (markdown)
		fprintf(f,
			"| phase | criterion | holds | rows not meeting it | NULL in legacy | repaired | rejected |\n"
			"|---|---|---|---:|---:|---:|---:|\n");
	else
		fprintf(f, "%-19s %-50s %-5s %7s %16s %10s %10s\n", "phase", "criterion", "holds", "not met",
			"NULL in legacy", "repaired", "rejected");
	json_array_foreach(a, i, o)
	{
		const char *ph = json_string_value(json_object_get(o, "phase"));
		const char *what = json_string_value(json_object_get(o, "criterion"));
		const char *holds = json_is_true(json_object_get(o, "holds")) ? "yes" : "no";
		long long v[4] = {json_integer_value(json_object_get(o, "notMet")),
				  json_integer_value(json_object_get(o, "nullInLegacy")),
				  json_integer_value(json_object_get(o, "repaired")),
				  json_integer_value(json_object_get(o, "rejected"))};
		if (markdown)
			fprintf(f, "| %s | %s | %s | %lld | %lld | %lld | %lld |\n", ph, what, holds, v[0], v[1], v[2],
				v[3]);
		else
			fprintf(f, "%-19s %-50s %-5s %7lld %16lld %10lld %10lld\n", ph, what, holds, v[0], v[1], v[2],
				v[3]);
	}
}
