/* CUnit: the config table's loader: defaults, environment, flags, bounds, secrets, masking. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cunit_main.h"
#include "mdw/config.h"

static int load(struct mdw_config *c, unsigned prog, int argc, char **argv, char *err)
{
	return mdw_config_load(c, prog, argc, argv, NULL, err, 512);
}

static void test_defaults(void)
{
	struct mdw_config c;
	char err[512];
	char *argv[] = {"x"};
	unsetenv("MDW_CHUNK_ROWS");
	CU_ASSERT_EQUAL_FATAL(load(&c, MDW_PROG_COORD, 1, argv, err), 0);
	CU_ASSERT_EQUAL(c.chunk_rows, 5000);
	CU_ASSERT_EQUAL(c.lease_ms, 30000);
	CU_ASSERT_STRING_EQUAL(c.embed_provider, "local");
	mdw_config_free(&c);
}

static void test_env_then_flag(void)
{
	struct mdw_config c;
	char err[512];
	char *argv[] = {"x", "--chunk-rows", "700"};
	char *argv2[] = {"x", "--chunk-rows=800"};
	setenv("MDW_CHUNK_ROWS", "600", 1);
	CU_ASSERT_EQUAL_FATAL(load(&c, MDW_PROG_COORD, 1, argv, err), 0);
	CU_ASSERT_EQUAL(c.chunk_rows, 600);
	mdw_config_free(&c);
	CU_ASSERT_EQUAL_FATAL(load(&c, MDW_PROG_COORD, 3, argv, err), 0);
	CU_ASSERT_EQUAL(c.chunk_rows, 700);
	mdw_config_free(&c);
	CU_ASSERT_EQUAL_FATAL(load(&c, MDW_PROG_COORD, 2, argv2, err), 0);
	CU_ASSERT_EQUAL(c.chunk_rows, 800);
	mdw_config_free(&c);
	unsetenv("MDW_CHUNK_ROWS");
}

static void test_bad_values(void)
{
	struct mdw_config c;
	char err[512];
	char *argv[] = {"x"};
	setenv("MDW_CHUNK_ROWS", "abc", 1);
	CU_ASSERT_EQUAL(load(&c, MDW_PROG_COORD, 1, argv, err), -1);
	CU_ASSERT_STRING_EQUAL(err, "invalid MDW_CHUNK_ROWS \"abc\": expected an integer from 1 to 1000000");
	setenv("MDW_CHUNK_ROWS", "0", 1);
	CU_ASSERT_EQUAL(load(&c, MDW_PROG_COORD, 1, argv, err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "MDW_CHUNK_ROWS"));
	setenv("MDW_CHUNK_ROWS", "99999999999999999999", 1);
	CU_ASSERT_EQUAL(load(&c, MDW_PROG_COORD, 1, argv, err), -1);
	unsetenv("MDW_CHUNK_ROWS");
	setenv("MDW_EMBED_PROVIDER", "azure", 1);
	CU_ASSERT_EQUAL(load(&c, MDW_PROG_WORKER, 1, argv, err), -1);
	CU_ASSERT_STRING_EQUAL(err, "invalid MDW_EMBED_PROVIDER \"azure\": expected one of local|bedrock|openai");
	unsetenv("MDW_EMBED_PROVIDER");
	{
		char *a[] = {"x", "--lease-ms", "5"};
		CU_ASSERT_EQUAL(load(&c, MDW_PROG_WORKER, 3, a, err), -1);
		CU_ASSERT_STRING_EQUAL(err, "invalid --lease-ms \"5\": expected an integer from 1000 to 3600000");
	}
	{
		char *a[] = {"x", "--no-such-flag"};
		CU_ASSERT_EQUAL(load(&c, MDW_PROG_WORKER, 2, a, err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "--no-such-flag"));
	}
	{
		/* a coordinator flag is not a worker flag */
		char *a[] = {"x", "--new-run"};
		CU_ASSERT_EQUAL(load(&c, MDW_PROG_WORKER, 2, a, err), -1);
	}
	{
		char *a[] = {"x", "--chunk-rows"};
		CU_ASSERT_EQUAL(load(&c, MDW_PROG_COORD, 2, a, err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "needs a value"));
	}
}

/* A number setting (the plan's price): default, environment, bounds. */
static void test_real(void)
{
	struct mdw_config c;
	char err[512];
	char *argv[] = {"x"};
	char *flag[] = {"x", "--embed-price-per-1k=0.5"};
	unsetenv("MDW_EMBED_PRICE_PER_1K");
	CU_ASSERT_EQUAL_FATAL(load(&c, MDW_PROG_CTL, 1, argv, err), 0);
	CU_ASSERT_DOUBLE_EQUAL(c.embed_price_per_1k, 0.00002, 1e-12);
	mdw_config_free(&c);
	setenv("MDW_EMBED_PRICE_PER_1K", "1e-4", 1);
	CU_ASSERT_EQUAL_FATAL(load(&c, MDW_PROG_COORD, 1, argv, err), 0);
	CU_ASSERT_DOUBLE_EQUAL(c.embed_price_per_1k, 0.0001, 1e-12);
	mdw_config_free(&c);
	CU_ASSERT_EQUAL_FATAL(load(&c, MDW_PROG_COORD, 2, flag, err), 0);
	CU_ASSERT_DOUBLE_EQUAL(c.embed_price_per_1k, 0.5, 1e-12);
	mdw_config_free(&c);
	setenv("MDW_EMBED_PRICE_PER_1K", "-1", 1);
	CU_ASSERT_EQUAL(load(&c, MDW_PROG_COORD, 1, argv, err), -1);
	CU_ASSERT_STRING_EQUAL(err, "invalid MDW_EMBED_PRICE_PER_1K \"-1\": expected a number from 0 to 1000");
	setenv("MDW_EMBED_PRICE_PER_1K", "cheap", 1);
	CU_ASSERT_EQUAL(load(&c, MDW_PROG_COORD, 1, argv, err), -1);
	setenv("MDW_EMBED_PRICE_PER_1K", "nan", 1);
	CU_ASSERT_EQUAL(load(&c, MDW_PROG_COORD, 1, argv, err), -1);
	unsetenv("MDW_EMBED_PRICE_PER_1K");
}

static void test_secret_never_echoed(void)
{
	struct mdw_config c;
	char err[512];
	char *argv[] = {"x"};
	setenv("MDW_SOURCE_DSN", "host=a password=s3cret", 1);
	setenv("MDW_TARGET_DSN", "host=a password=s3cret", 1);
	CU_ASSERT_EQUAL(load(&c, MDW_PROG_WORKER, 1, argv, err), -1);
	CU_ASSERT_PTR_NULL(strstr(err, "s3cret"));
	unsetenv("MDW_SOURCE_DSN");
	unsetenv("MDW_TARGET_DSN");
}

static void test_secret_file(void)
{
	struct mdw_config c;
	char err[512], path[] = "/tmp/mdw-test-secret-XXXXXX";
	char *argv[] = {"x"};
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	fputs("host=127.0.0.1 dbname=t password=p\n", f);
	fclose(f);
	setenv("MDW_TARGET_DSN_FILE", path, 1);
	CU_ASSERT_EQUAL_FATAL(load(&c, MDW_PROG_WORKER, 1, argv, err), 0);
	CU_ASSERT_STRING_EQUAL(c.target_dsn, "host=127.0.0.1 dbname=t password=p");
	mdw_config_free(&c);
	setenv("MDW_TARGET_DSN", "x", 1);
	CU_ASSERT_EQUAL(load(&c, MDW_PROG_WORKER, 1, argv, err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "use one"));
	unsetenv("MDW_TARGET_DSN");
	setenv("MDW_TARGET_DSN_FILE", "/nonexistent/secret", 1);
	CU_ASSERT_EQUAL(load(&c, MDW_PROG_WORKER, 1, argv, err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "MDW_TARGET_DSN_FILE"));
	unsetenv("MDW_TARGET_DSN_FILE");
	unlink(path);
}

static void test_positional(void)
{
	struct mdw_config c;
	struct mdw_args a;
	char err[512];
	char *argv[] = {"mdwctl", "legacy-demo", "--scale", "3", "--json"};
	CU_ASSERT_EQUAL_FATAL(mdw_config_load(&c, MDW_PROG_CTL, 5, argv, &a, err, sizeof err), 0);
	CU_ASSERT_EQUAL(a.n, 1);
	CU_ASSERT_STRING_EQUAL(a.v[0], "legacy-demo");
	CU_ASSERT_EQUAL(c.scale, 3);
	CU_ASSERT_EQUAL(c.json, 1);
	mdw_config_free(&c);
}

static void test_mask(void)
{
	char out[256];
	mdw_mask_secret("host=db password=abc dbname=x", out, sizeof out);
	CU_ASSERT_STRING_EQUAL(out, "host=db password=*** dbname=x");
	mdw_mask_secret("password='a b\\' c' host=x", out, sizeof out);
	CU_ASSERT_STRING_EQUAL(out, "password=*** host=x");
	mdw_mask_secret("redis://user:pa55@host:6379/0", out, sizeof out);
	CU_ASSERT_STRING_EQUAL(out, "redis://user:***@host:6379/0");
	mdw_mask_secret("postgresql://u:pw@h/db", out, sizeof out);
	CU_ASSERT_STRING_EQUAL(out, "postgresql://u:***@h/db");
	mdw_mask_secret("redis://host:6379", out, sizeof out);
	CU_ASSERT_STRING_EQUAL(out, "redis://host:6379");
}

static const struct unit_test tests[] = {
	{"defaults", test_defaults},
	{"environment then flags", test_env_then_flag},
	{"bad values name the variable", test_bad_values},
	{"number settings", test_real},
	{"secrets never echoed", test_secret_never_echoed},
	{"secrets from *_FILE", test_secret_file},
	{"positional arguments", test_positional},
	{"masking", test_mask},
	{NULL, NULL},
};

int main(void)
{
	return run_suite("config", tests);
}
