/*
 * CUnit: the pure parts of the backups before each phase (coordinator/backup.c):
 * pg_dump's environment (the DSN never on its command line) and the dump's name.
 */
#include <stdio.h>
#include <string.h>

#include "backup.h"
#include "cunit_main.h"

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
	char **env =
		backup_env("host=db.internal port=6543 dbname=warehouse password='s3 cret'", parent, err, sizeof err);
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

static const struct unit_test tests[] = {
	{"pg_dump environment and dump name", test_backup_env},
	{NULL, NULL},
};

int main(void)
{
	return run_suite("backup", tests);
}
