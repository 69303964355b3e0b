/*
 * CUnit: the AWS credential chain (shared/aws_creds.c): the environment,
 * then the shared credentials file (AWS_SHARED_CREDENTIALS_FILE or
 * ~/.aws/credentials) and AWS_PROFILE; what is missing is named, secrets
 * never shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cunit_main.h"
#include "mdw/aws_creds.h"

static char tmpdir[256];

static void clear_aws_env(void)
{
	static const char *const vars[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
					   "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE"};
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
		unsetenv(vars[i]);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static void test_creds_env(void)
{
	struct sigv4_creds c;
	char err[512], src[256];
	clear_aws_env();
	setenv("AWS_ACCESS_KEY_ID", "AKIAENVEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envSecretExample/K7MDENG+bPxRfiCY", 1);
	setenv("AWS_SESSION_TOKEN", "envTokenExample==", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	CU_ASSERT_EQUAL_FATAL(aws_creds_load_src(&c, src, sizeof src, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key, "AKIAENVEXAMPLE");
	CU_ASSERT_STRING_EQUAL(c.secret_key, "envSecretExample/K7MDENG+bPxRfiCY");
	CU_ASSERT_STRING_EQUAL(c.session_token, "envTokenExample==");
	CU_ASSERT_STRING_EQUAL(src, "environment");
	aws_creds_clear(&c);
	CU_ASSERT_EQUAL(c.secret_key[0], '\0');

	/* A malformed value is refused by name, its text not shown. */
	setenv("AWS_SECRET_ACCESS_KEY", "bad secret\nvalue", 1);
	CU_ASSERT_EQUAL(aws_creds_load(&c, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "AWS_SECRET_ACCESS_KEY"));
	CU_ASSERT_PTR_NULL(strstr(err, "bad secret"));
	clear_aws_env();
}

static const char TWO_PROFILES[] = "# test credentials\n"
				   "[default]\n"
				   "aws_access_key_id = AKIADEFAULTEXAMPLE\n"
				   "aws_secret_access_key=defaultSecretExample+/abc\n"
				   "\n"
				   "; the second profile has a session token\n"
				   "[ other ]\n"
				   "AWS_ACCESS_KEY_ID = AKIAOTHEREXAMPLE\r\n"
				   "aws_secret_access_key = otherSecretExample\r\n"
				   "aws_session_token = otherTokenExample==\r\n"
				   "s3 =\n"
				   "  max_concurrent_requests = 20\n"
				   "[partial]\n"
				   "aws_access_key_id = AKIAPARTIALEXAMPLE\n"
				   "aws_session_token = partialTokenSecret\n";

static void test_creds_file(void)
{
	struct sigv4_creds c;
	char err[1024], src[512], path[512], dotaws[300];

	clear_aws_env();
	snprintf(path, sizeof path, "%s/creds", tmpdir);
	write_file(path, TWO_PROFILES);
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	/* An incomplete environment falls through to the file. */
	setenv("AWS_SECRET_ACCESS_KEY", "envOnlySecretExample", 1);

	CU_ASSERT_EQUAL_FATAL(aws_creds_load_src(&c, src, sizeof src, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key, "AKIADEFAULTEXAMPLE");
	CU_ASSERT_STRING_EQUAL(c.secret_key, "defaultSecretExample+/abc");
	CU_ASSERT_STRING_EQUAL(c.session_token, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(src, "profile default in "));

	setenv("AWS_PROFILE", "other", 1);
	CU_ASSERT_EQUAL_FATAL(aws_creds_load(&c, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key, "AKIAOTHEREXAMPLE");
	CU_ASSERT_STRING_EQUAL(c.secret_key, "otherSecretExample");
	CU_ASSERT_STRING_EQUAL(c.session_token, "otherTokenExample==");

	setenv("AWS_PROFILE", "partial", 1);
	CU_ASSERT_EQUAL(aws_creds_load(&c, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "lacks aws_secret_access_key"));
	CU_ASSERT_PTR_NULL(strstr(err, "partialTokenSecret"));
	CU_ASSERT_PTR_NULL(strstr(err, "envOnlySecretExample"));
	CU_ASSERT_EQUAL(c.session_token[0], '\0');

	setenv("AWS_PROFILE", "nosuch", 1);
	CU_ASSERT_EQUAL(aws_creds_load(&c, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no [nosuch] section"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "AWS_ACCESS_KEY_ID unset"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));

	/* ~/.aws/credentials under HOME when no file is named. */
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_PROFILE");
	snprintf(dotaws, sizeof dotaws, "%s/.aws", tmpdir);
	CU_ASSERT_EQUAL(mkdir(dotaws, 0700), 0);
	snprintf(path, sizeof path, "%s/credentials", dotaws);
	write_file(path, TWO_PROFILES);
	setenv("HOME", tmpdir, 1);
	CU_ASSERT_EQUAL_FATAL(aws_creds_load_src(&c, src, sizeof src, err, sizeof err), 0);
	CU_ASSERT_STRING_EQUAL(c.access_key, "AKIADEFAULTEXAMPLE");
	CU_ASSERT_PTR_NOT_NULL(strstr(src, path));
	aws_creds_clear(&c);
	unlink(path);
	rmdir(dotaws);
	snprintf(path, sizeof path, "%s/creds", tmpdir);
	unlink(path);
	clear_aws_env();
}

static void test_creds_missing(void)
{
	struct sigv4_creds c;
	char err[1024];

	clear_aws_env();
	setenv("AWS_SECRET_ACCESS_KEY", "envOnlySecretExample", 1);
	setenv("AWS_SESSION_TOKEN", "envOnlyTokenExample", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws/credentials", 1);
	CU_ASSERT_EQUAL(aws_creds_load(&c, err, sizeof err), -1);
	CU_ASSERT_STRING_EQUAL(err,
			       "no AWS credentials: tried environment (AWS_ACCESS_KEY_ID unset), shared credentials "
			       "file /nonexistent/aws/credentials (not found), profile default; set AWS_ACCESS_KEY_ID "
			       "and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE / AWS_SHARED_CREDENTIALS_FILE");
	CU_ASSERT_PTR_NULL(strstr(err, "envOnly"));

	setenv("AWS_ACCESS_KEY_ID", "AKIAONLYEXAMPLE", 1);
	unsetenv("AWS_SECRET_ACCESS_KEY");
	setenv("AWS_PROFILE", "ci", 1);
	CU_ASSERT_EQUAL(aws_creds_load(&c, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "environment (AWS_SECRET_ACCESS_KEY unset)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "profile ci"));
	CU_ASSERT_PTR_NULL(strstr(err, "envOnly"));
	clear_aws_env();
}

static const struct unit_test tests[] = {
	{"credentials from the environment", test_creds_env},
	{"credentials file, two profiles", test_creds_file},
	{"no credentials: sources named, no secret", test_creds_missing},
	{NULL, NULL},
};

int main(void)
{
	int rc;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/mdw-aws-creds-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	rc = run_suite("aws_creds", tests);
	rmdir(tmpdir);
	return rc;
}
