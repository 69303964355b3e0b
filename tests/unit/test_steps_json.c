/*
 * CUnit: the workflow steps normalizer (worker/steps_json.c) on its own:
 * normal forms, rejections that never quote the text, deep nesting, and
 * every allocation failure (jansson's, the output's) reported as out of
 * memory, never as a rejection.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "mdw/strbuf.h"
#include "steps_json.h"

/* Normalize IN: the output, or "error:<why>". */
static const char *norm(const char *in)
{
	static char buf[1024];
	char why[256] = "", *out = (char *)"unset";
	int rc = wt_normalize_steps(in, &out, why, sizeof why);

	CU_ASSERT(rc == 0 || rc == -1);
	if (rc == 0) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(out);
		snprintf(buf, sizeof buf, "%s", out);
		free(out);
	} else {
		CU_ASSERT_PTR_NULL(out);
		CU_ASSERT(why[0] != 0);
		snprintf(buf, sizeof buf, "error:%s", why);
	}
	return buf;
}

static void test_steps_normalize(void)
{
	CU_ASSERT_STRING_EQUAL(norm(NULL), "[]");
	CU_ASSERT_STRING_EQUAL(norm("[]"), "[]");
	CU_ASSERT_STRING_EQUAL(norm(" \n[ ]\t"), "[]");
	CU_ASSERT_STRING_EQUAL(norm("[{\"b\": 1, \"a\": [true, false, null]}]"), "[{\"b\":1,\"a\":[true,false,null]}]");
	/* duplicate keys: accepted, the last wins (as in jsonb) */
	CU_ASSERT_STRING_EQUAL(norm("[{\"a\": 1, \"a\": 2}]"), "[{\"a\":2}]");
	/* reals keep their shortest form */
	CU_ASSERT_STRING_EQUAL(norm("[0.1, 2.5, -0.5, 1.0, 1e2, 3]"), "[0.1,2.5,-0.5,1.0,100.0,3]");
	CU_ASSERT_STRING_EQUAL(norm("[0.3333333333333333]"), "[0.3333333333333333]");
	/* each real its own precision: 889.362 does not become 889.36199999999997 */
	CU_ASSERT_STRING_EQUAL(norm("[889.362, 0.08298469466133271]"), "[889.362,0.08298469466133271]");
	CU_ASSERT_STRING_EQUAL(norm("[123456.75, 1e-7, 1e20, 0.30000000000000004]"),
			       "[123456.75,1e-7,1e20,0.30000000000000004]");
	CU_ASSERT_STRING_EQUAL(norm("[9223372036854775807, -9223372036854775808]"),
			       "[9223372036854775807,-9223372036854775808]");
	/* UTF-8 stays UTF-8; escapes are decoded and re-encoded only where JSON needs them */
	CU_ASSERT_STRING_EQUAL(norm("[\"caf\\u00e9\", \"\xc3\xa9\", \"a\\/b\", \"t\\tq\\\"\"]"),
			       "[\"caf\xc3\xa9\",\"\xc3\xa9\",\"a/b\",\"t\\tq\\\"\"]");
}

static void test_steps_errors(void)
{
	CU_ASSERT_STRING_EQUAL(norm("{}"), "error:steps is a JSON object, not an array");
	CU_ASSERT_STRING_EQUAL(norm("42"), "error:steps is a JSON number, not an array");
	CU_ASSERT_STRING_EQUAL(norm("-1.5"), "error:steps is a JSON number, not an array");
	CU_ASSERT_STRING_EQUAL(norm("\"[]\""), "error:steps is a JSON string, not an array");
	CU_ASSERT_STRING_EQUAL(norm("true"), "error:steps is a JSON boolean, not an array");
	CU_ASSERT_STRING_EQUAL(norm("null"), "error:steps is JSON null, not an array");
	CU_ASSERT_STRING_EQUAL(norm(""), "error:steps is blank, not JSON");
	CU_ASSERT_STRING_EQUAL(norm(" \t\n"), "error:steps is blank, not JSON");
	CU_ASSERT_STRING_EQUAL(norm("[1,"), "error:steps is not valid JSON (line 1, column 3)");
	CU_ASSERT_EQUAL(strncmp(norm("[1] [2]"), "error:steps is not valid JSON", 29), 0);
	CU_ASSERT_EQUAL(strncmp(norm("[1,]"), "error:steps is not valid JSON", 29), 0);
	CU_ASSERT_EQUAL(strncmp(norm("['a']"), "error:steps is not valid JSON", 29), 0);
	CU_ASSERT_EQUAL(strncmp(norm("[\"\\u0000\"]"), "error:steps is not valid JSON", 29), 0);
	CU_ASSERT_EQUAL(strncmp(norm("[\"\\udc00\"]"), "error:steps is not valid JSON", 29), 0);
	CU_ASSERT_STRING_EQUAL(norm("[\"\xff\"]"), "error:steps is not valid UTF-8");
	CU_ASSERT_EQUAL(strncmp(norm("[99999999999999999999]"), "error:steps holds a number out of range", 39), 0);
	CU_ASSERT_EQUAL(strncmp(norm("[1e400]"), "error:steps holds a number out of range", 39), 0);
	/* never the text itself */
	CU_ASSERT_PTR_NULL(strstr(norm("[\"secret\" \"x\"]"), "secret"));
	CU_ASSERT_PTR_NULL(strstr(norm("secret"), "secret"));
	CU_ASSERT_PTR_NULL(strstr(norm("[secret]"), "secret"));
}

static void test_steps_deep(void)
{
	/* far deeper than any parser allows: rejected, no crash */
	size_t n = 100000;
	char *s = malloc(n + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(s, '[', n);
	s[n] = 0;
	CU_ASSERT_EQUAL(strncmp(norm(s), "error:", 6), 0);
	free(s);
}

static int alloc_budget;

static void *failing_malloc(size_t n)
{
	return alloc_budget-- > 0 ? malloc(n) : NULL;
}

static void test_steps_oom(void)
{
	const char *in = "[{\"name\": \"Scan\", \"days\": 3, \"x\": [0.1, \"caf\\u00e9\"]}, 1]";
	int ok = 0;

	/* every allocation failure of jansson: out of memory (-2), never a rejection, nothing leaked */
	for (int budget = 0; budget < 200 && !ok; budget++) {
		char why[256], *out = NULL;
		int rc;
		alloc_budget = budget;
		json_set_alloc_funcs(failing_malloc, free);
		rc = wt_normalize_steps(in, &out, why, sizeof why);
		json_set_alloc_funcs(malloc, free);
		CU_ASSERT(rc == 0 || rc == -2);
		if (rc == 0) {
			CU_ASSERT_STRING_EQUAL(out, "[{\"name\":\"Scan\",\"days\":3,\"x\":[0.1,\"caf\xc3\xa9\"]},1]");
			ok = 1;
		} else {
			CU_ASSERT_PTR_NULL(out);
		}
		free(out);
	}
	CU_ASSERT_TRUE(ok);
}

static void *refusing_realloc(void *p, size_t n)
{
	(void)p, (void)n;
	return NULL;
}

static void test_steps_oom_output(void)
{
	char why[256], *out = (char *)"unset";

	/* the compact text cannot be built: out of memory (-2), not a rejection, no string */
	strbuf_set_realloc(refusing_realloc);
	CU_ASSERT_EQUAL(wt_normalize_steps("[{\"name\": \"Scan\"}]", &out, why, sizeof why), -2);
	strbuf_set_realloc(NULL);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_STRING_EQUAL(norm("[{\"name\": \"Scan\"}]"), "[{\"name\":\"Scan\"}]");
}

static const struct unit_test tests[] = {
	{"wt_normalize_steps: normal forms", test_steps_normalize},
	{"wt_normalize_steps: rejections", test_steps_errors},
	{"wt_normalize_steps: deep nesting", test_steps_deep},
	{"wt_normalize_steps: out of memory", test_steps_oom},
	{"wt_normalize_steps: out of memory for the output", test_steps_oom_output},
	{NULL, NULL},
};

int main(void)
{
	return run_suite("steps_json", tests);
}
