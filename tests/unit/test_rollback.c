/*
 * CUnit: the pure parts of rollback, backups and incremental runs: which
 * phases depend on a phase and the order they are rolled back in, the
 * tables each phase writes, the dump's name, pg_dump's environment (the DSN
 * never on its command line), and the walk over due ids.
 */
#include <stdio.h>
#include <string.h>

#include "backup.h"
#include "cunit_main.h"
#include "incremental.h"
#include "rollback.h"

#define B MDW_PH_BIT

static void test_dependents(void)
{
	CU_ASSERT_EQUAL(rollback_dependents(MDW_PH_CASES), B(MDW_PH_PROJECTS) | B(MDW_PH_CASE_STATES) | B(MDW_PH_EMBEDDINGS));
	CU_ASSERT_EQUAL(rollback_dependents(MDW_PH_PROJECTS), B(MDW_PH_EMBEDDINGS));
	CU_ASSERT_EQUAL(rollback_dependents(MDW_PH_EMBEDDINGS), 0);
	CU_ASSERT_EQUAL(rollback_dependents(MDW_PH_WORKFLOW_TEMPLATES), 0);
	/* through patients: cases need practices without naming them */
	CU_ASSERT_EQUAL(rollback_dependents(MDW_PH_PRACTICES),
			MDW_PH_ALL & ~(B(MDW_PH_PRACTICES) | B(MDW_PH_PROFILES)));
	CU_ASSERT_EQUAL(rollback_dependents(MDW_PH_PROFILES),
			MDW_PH_ALL & ~(B(MDW_PH_PRACTICES) | B(MDW_PH_PROFILES) | B(MDW_PH_WORKFLOW_TEMPLATES)));
	for (int p = 0; p < MDW_NPHASES; p++)
		CU_ASSERT_FALSE(rollback_dependents((enum mdw_phase_id)p) & B(p));
}

static void test_order(void)
{
	enum mdw_phase_id o[MDW_NPHASES];
	int n = rollback_order(MDW_PH_ALL, o);

	CU_ASSERT_EQUAL_FATAL(n, MDW_NPHASES);
	/* a phase comes before every phase it needs */
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			CU_ASSERT_FALSE(mdw_phase_needs_closure(o[j]) & B(o[i]));
	n = rollback_order(B(MDW_PH_CASES) | rollback_dependents(MDW_PH_CASES), o);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_EQUAL(o[0], MDW_PH_EMBEDDINGS);
	CU_ASSERT_EQUAL(o[3], MDW_PH_CASES);
	CU_ASSERT_EQUAL(rollback_order(0, o), 0);
}

static const char *env_get(char **env, const char *name)
{
	size_t l = strlen(name);
	const char *found = NULL;
	for (char **e = env; *e; e++)
		if (!strncmp(*e, name, l) && (*e)[l] == '=') {
			CU_ASSERT_PTR_NULL(found); /* once */
			found = *e + l + 1;
		}
	return found;
}

static void test_backup_env(void)
{
	char *parent[] = {"PATH=/usr/bin", "PGHOST=elsewhere", "PGUSER=inherited", NULL};
	char err[256];
	char **env = backup_env("host=db.internal port=6543 dbname=warehouse password='s3 cret'", parent, err, sizeof err);
	char name[64];

	CU_ASSERT_PTR_NOT_NULL_FATAL(env);
	CU_ASSERT_STRING_EQUAL(env_get(env, "PGHOST"), "db.internal"); /* the DSN wins */
	CU_ASSERT_STRING_EQUAL(env_get(env, "PGPORT"), "6543");
	CU_ASSERT_STRING_EQUAL(env_get(env, "PGDATABASE"), "warehouse");
	CU_ASSERT_STRING_EQUAL(env_get(env, "PGPASSWORD"), "s3 cret");
	CU_ASSERT_STRING_EQUAL(env_get(env, "PGUSER"), "inherited"); /* as libpq would */
	CU_ASSERT_STRING_EQUAL(env_get(env, "PATH"), "/usr/bin");
	backup_env_free(env);

	env = backup_env("postgresql://mig:pw@10.0.0.5:5433/tgt?sslmode=require", parent, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(env);
	CU_ASSERT_STRING_EQUAL(env_get(env, "PGUSER"), "mig");
	CU_ASSERT_STRING_EQUAL(env_get(env, "PGPASSWORD"), "pw");
	CU_ASSERT_STRING_EQUAL(env_get(env, "PGSSLMODE"), "require");
	backup_env_free(env);

	env = backup_env("", parent, err, sizeof err); /* the PG* variables alone */
	CU_ASSERT_PTR_NOT_NULL_FATAL(env);
	CU_ASSERT_STRING_EQUAL(env_get(env, "PGHOST"), "elsewhere");
	backup_env_free(env);

	CU_ASSERT_PTR_NULL(backup_env("host=x password=topsecret nonsense", parent, err, sizeof err));
	CU_ASSERT_PTR_NULL(strstr(err, "topsecret"));
	backup_env_free(NULL);

	backup_file_name(MDW_PH_CASES, name, sizeof name);
	CU_ASSERT_STRING_EQUAL(name, "03-cases.dump");
	backup_file_name(MDW_PH_EMBEDDINGS, name, sizeof name);
	CU_ASSERT_STRING_EQUAL(name, "08-embeddings.dump");
}

/* A fake id source: ids ascending, due[i] says whether ids[i] is due. */
struct due_ids {
	const long long *ids;
	const char *due;
	int n;
};

static int due_next(void *arg, long long after, long long n, long long *lo, long long *hi, long long *count, char *err,
		    size_t errlen)
{
	struct due_ids *s = arg;
	int i = 0, first;
	(void)err, (void)errlen;
	*count = 0;
	while (i < s->n && (s->ids[i] <= after || !s->due[i]))
		i++;
	if (i == s->n)
		return 0;
	first = i;
	*lo = s->ids[i];
	for (int k = 0; i < s->n && k < n; i++, k++)
		if (s->due[i]) {
			*hi = s->ids[i];
			*count = i - first + 1;
		}
	return 0;
}

static void test_due_walk(void)
{
	/* 20 ids; due: 3, 4 (updated), 9, then the new ones 15..19 */
	static long long ids[20];
	static const char due[20] = {0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
	struct due_ids s = {ids, due, 20}, none = {ids, (const char[20]){0}, 20};
	struct plan p = {0};
	char err[128];

	for (int i = 0; i < 20; i++)
		ids[i] = 100 + i * 10;
	CU_ASSERT_EQUAL_FATAL(plan_walk(&p, due_next, &s, 4, PLAN_DUE_ONLY, err, sizeof err), 0);
	/* windows of 4 ids from a due id, cut at the last due id: [3,4], [9], [15..18], [19] */
	CU_ASSERT_EQUAL_FATAL(p.n, 4);
	CU_ASSERT_EQUAL(p.chunks[0].lo, 130);
	CU_ASSERT_EQUAL(p.chunks[0].hi, 140);
	CU_ASSERT_EQUAL(p.chunks[0].rows, 2);
	CU_ASSERT_EQUAL(p.chunks[1].lo, 190);
	CU_ASSERT_EQUAL(p.chunks[1].hi, 190);
	CU_ASSERT_EQUAL(p.chunks[2].lo, 250);
	CU_ASSERT_EQUAL(p.chunks[2].hi, 280);
	CU_ASSERT_EQUAL(p.chunks[2].rows, 4);
	CU_ASSERT_EQUAL(p.chunks[3].rows, 1);
	CU_ASSERT_EQUAL(p.rows, 8);
	plan_free(&p);
	p = (struct plan){0};
	/* a window wide enough takes the ids between due ones too: they are read again */
	CU_ASSERT_EQUAL_FATAL(plan_walk(&p, due_next, &s, 10, PLAN_DUE_ONLY, err, sizeof err), 0);
	CU_ASSERT_EQUAL_FATAL(p.n, 2);
	CU_ASSERT_EQUAL(p.chunks[0].lo, 130);
	CU_ASSERT_EQUAL(p.chunks[0].hi, 190);
	CU_ASSERT_EQUAL(p.chunks[0].rows, 7);
	CU_ASSERT_EQUAL(p.rows, 12);
	plan_free(&p);
	p = (struct plan){0};
	/* nothing due: no chunk */
	CU_ASSERT_EQUAL_FATAL(plan_walk(&p, due_next, &none, 4, PLAN_DUE_ONLY, err, sizeof err), 0);
	CU_ASSERT_EQUAL(p.n, 0);
	CU_ASSERT_EQUAL(p.rows, 0);
	plan_free(&p);
}

static const struct unit_test tests[] = {
	{"phases that depend on a phase", test_dependents},
	{"rollback order: dependents first", test_order},
	{"pg_dump environment and dump name", test_backup_env},
	{"walk over due ids", test_due_walk},
	{NULL, NULL},
};

int main(void)
{
	return run_suite("rollback", tests);
}
