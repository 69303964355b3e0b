/* CUnit: parsers of provider answers against valid, truncated, malformed and hostile bodies. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "mdw/embed_parse.h"

static char err[512];

/* A Bedrock body with N values (value i = i / 1000) and TAIL after the array. */
static char *bedrock_body(int n, const char *tail)
{
	size_t cap = (size_t)n * 16 + strlen(tail) + 64, o = 0;
	char *s = malloc(cap);
	o += (size_t)snprintf(s + o, cap - o, "{\"embedding\":[");
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s%g", i ? "," : "", i / 1000.0);
	snprintf(s + o, cap - o, "]%s}", tail);
	return s;
}

static int bedrock(const char *body, int dims, float *out, int *tokens)
{
	err[0] = 0;
	return embed_parse_bedrock(body, strlen(body), dims, out, tokens, err, sizeof err);
}

static void expect_err(const char *needle)
{
	if (!strstr(err, needle))
		fprintf(stderr, "\n    error \"%s\" lacks \"%s\"\n", err, needle);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
}

static void test_bedrock_valid(void)
{
	float out[1024];
	int tokens = -5;
	char *b = bedrock_body(1024, ",\"inputTextTokenCount\":42");
	CU_ASSERT_EQUAL_FATAL(bedrock(b, 1024, out, &tokens), 0);
	CU_ASSERT_EQUAL(tokens, 42);
	CU_ASSERT_DOUBLE_EQUAL(out[0], 0.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(out[1023], 1.023, 1e-6);
	free(b);
	/* with embeddingsByType (float and binary copies) and whitespace */
	{
		const char *s = " {\"embedding\":[1, -0.5, 2e-3],\n \"inputTextTokenCount\": 0,"
				"\"embeddingsByType\":{\"float\":[1,-0.5,2e-3],\"binary\":[1,0,1]}} \n";
		CU_ASSERT_EQUAL(bedrock(s, 3, out, &tokens), 0);
		CU_ASSERT_EQUAL(tokens, 0);
		CU_ASSERT_DOUBLE_EQUAL(out[1], -0.5, 1e-9);
		CU_ASSERT_DOUBLE_EQUAL(out[2], 0.002, 1e-9);
	}
}

static void test_bedrock_truncated(void)
{
	float out[1024];
	int tokens;
	char *b = bedrock_body(1024, ",\"inputTextTokenCount\":42");
	size_t len = strlen(b);
	/* every cut of the body is an error, never a crash */
	for (size_t cut = 0; cut < len; cut += (cut < 64 || cut > len - 64) ? 1 : 97) {
		CU_ASSERT_EQUAL(embed_parse_bedrock(b, cut, 1024, out, &tokens, err, sizeof err), -1);
	}
	CU_ASSERT_EQUAL(embed_parse_bedrock(b, len / 2, 1024, out, &tokens, err, sizeof err), -1);
	expect_err("truncated");
	CU_ASSERT_EQUAL(embed_parse_bedrock(b, 0, 1024, out, &tokens, err, sizeof err), -1);
	expect_err("empty body");
	free(b);
}

static void test_bedrock_dims(void)
{
	float out[1024];
	int tokens;
	char *b = bedrock_body(512, ",\"inputTextTokenCount\":42");
	CU_ASSERT_EQUAL(bedrock(b, 1024, out, &tokens), -1);
	expect_err("has 512 values, expected 1024");
	free(b);
	CU_ASSERT_EQUAL(bedrock("{\"embedding\":[1,2],\"inputTextTokenCount\":1}", 0, out, &tokens), -1);
	expect_err("dimensions 0");
}

static void test_bedrock_values(void)
{
	float out[4];
	int tokens;
	CU_ASSERT_EQUAL(bedrock("{\"embedding\":[1,\"2\",3],\"inputTextTokenCount\":1}", 3, out, &tokens), -1);
	expect_err("embedding[1] is a string, expected a number");
	CU_ASSERT_EQUAL(bedrock("{\"embedding\":[1,null,3],\"inputTextTokenCount\":1}", 3, out, &tokens), -1);
	expect_err("embedding[1] is null");
	CU_ASSERT_EQUAL(bedrock("{\"embedding\":[1,[2],3],\"inputTextTokenCount\":1}", 3, out, &tokens), -1);
	expect_err("embedding[1] is an array");
	CU_ASSERT_EQUAL(bedrock("{\"embedding\":[1,NaN,3],\"inputTextTokenCount\":1}", 3, out, &tokens), -1);
	expect_err("non-finite");
	CU_ASSERT_EQUAL(bedrock("{\"embedding\":[1,Infinity,3],\"inputTextTokenCount\":1}", 3, out, &tokens), -1);
	expect_err("non-finite");
	CU_ASSERT_EQUAL(bedrock("{\"embedding\":[1,-Infinity,3],\"inputTextTokenCount\":1}", 3, out, &tokens), -1);
	expect_err("non-finite");
	CU_ASSERT_EQUAL(bedrock("{\"embedding\":[1,1e400,3],\"inputTextTokenCount\":1}", 3, out, &tokens), -1);
	expect_err("out of range");
	/* a double that is finite but no float */
	CU_ASSERT_EQUAL(bedrock("{\"embedding\":[1,1e300,3],\"inputTextTokenCount\":1}", 3, out, &tokens), -1);
	expect_err("embedding[1] is not a finite float");
	CU_ASSERT_EQUAL(bedrock("{\"embedding\":[1,2,3],\"inputTextTokenCount\":1,\"embedding\":[4,5,6]}", 3, out,
				&tokens),
			-1);
	expect_err("duplicate");
}

static void test_bedrock_fields(void)
{
	float out[4];
	int tokens;
	CU_ASSERT_EQUAL(bedrock("{\"inputTextTokenCount\":1}", 3, out, &tokens), -1);
	expect_err("missing field \"embedding\"");
	CU_ASSERT_EQUAL(bedrock("{\"embedding\":[1,2,3]}", 3, out, &tokens), -1);
	expect_err("missing field \"inputTextTokenCount\"");
	CU_ASSERT_EQUAL(bedrock("{\"embedding\":[1,2,3],\"inputTextTokenCount\":-3}", 3, out, &tokens), -1);
	expect_err("\"inputTextTokenCount\" is -3");
	CU_ASSERT_EQUAL(bedrock("{\"embedding\":[1,2,3],\"inputTextTokenCount\":1.5}", 3, out, &tokens), -1);
	expect_err("a fraction");
	CU_ASSERT_EQUAL(bedrock("{\"embedding\":[1,2,3],\"inputTextTokenCount\":\"7\"}", 3, out, &tokens), -1);
	expect_err("is a string");
	CU_ASSERT_EQUAL(bedrock("{\"embedding\":\"AAAA\",\"inputTextTokenCount\":1}", 3, out, &tokens), -1);
	expect_err("\"embedding\" is a string, expected an array");
	CU_ASSERT_EQUAL(bedrock("[1,2,3]", 3, out, &tokens), -1);
	expect_err("top level is an array, expected an object");
	CU_ASSERT_EQUAL(bedrock("42", 3, out, &tokens), -1);
	expect_err("top level is a number");
	CU_ASSERT_EQUAL(bedrock("<html>502 Bad Gateway</html>", 3, out, &tokens), -1);
	expect_err("not JSON");
	CU_ASSERT_PTR_NULL(strstr(err, "Gateway")); /* never quotes the body */
	CU_ASSERT_EQUAL(bedrock("{\"embedding\":[1,2,3],\"inputTextTokenCount\":1} trailing", 3, out, &tokens), -1);
	expect_err("extra data");
	CU_ASSERT_EQUAL(embed_parse_bedrock("{\"embedding\":[1,2,3],\"a\":\"\xff\"}", 30, 3, out, &tokens, err,
					    sizeof err),
			-1);
}

static void test_huge(void)
{
	float out[1024];
	int tokens;
	size_t n = EMBED_MAX_BODY + 1;
	char *s = malloc(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(s, ' ', n);
	s[0] = '{';
	s[n - 1] = '}';
	CU_ASSERT_EQUAL(embed_parse_bedrock(s, n, 1024, out, &tokens, err, sizeof err), -1);
	expect_err("over the 16777216-byte limit");
	CU_ASSERT_EQUAL(embed_parse_openai(s, n, 1024, 1, out, &tokens, err, sizeof err), -1);
	expect_err("over the");
	/* under the byte limit but far more values than the vector: refused unparsed */
	{
		size_t m = 4 * 1000 * 1000;
		s[0] = '[';
		for (size_t i = 1; i + 1 < m; i += 2) {
			s[i] = '0';
			s[i + 1] = ',';
		}
		s[m - 1] = ']';
		CU_ASSERT_EQUAL(embed_parse_bedrock(s, m, 1024, out, &tokens, err, sizeof err), -1);
		expect_err("separators");
	}
	/* deep nesting */
	{
		size_t m = 100000;
		memset(s, '[', m);
		CU_ASSERT_EQUAL(embed_parse_bedrock(s, m, 1024, out, &tokens, err, sizeof err), -1);
	}
	free(s);
}

static int openai(const char *body, int dims, int n, float *out, int *tokens)
{
	err[0] = 0;
	return embed_parse_openai(body, strlen(body), dims, n, out, tokens, err, sizeof err);
}

static void test_openai_valid(void)
{
	float out[9];
	int tokens = 0;
	/* out of order indexes land at their index */
	const char *s = "{\"object\":\"list\",\"data\":["
			"{\"object\":\"embedding\",\"index\":2,\"embedding\":[7,8,9]},"
			"{\"object\":\"embedding\",\"index\":0,\"embedding\":[1,2,3]},"
			"{\"object\":\"embedding\",\"index\":1,\"embedding\":[4,5,6]}],"
			"\"model\":\"nomic\",\"usage\":{\"prompt_tokens\":17,\"total_tokens\":17}}";
	CU_ASSERT_EQUAL_FATAL(openai(s, 3, 3, out, &tokens), 0);
	for (int i = 0; i < 9; i++)
		CU_ASSERT_DOUBLE_EQUAL(out[i], i + 1, 1e-9);
	CU_ASSERT_EQUAL(tokens, 17);
	/* no usage: unknown */
	CU_ASSERT_EQUAL(openai("{\"data\":[{\"index\":0,\"embedding\":[1,2]}]}", 2, 1, out, &tokens), 0);
	CU_ASSERT_EQUAL(tokens, -1);
}

static void test_openai_bad(void)
{
	float out[9];
	int tokens;
	CU_ASSERT_EQUAL(openai("{\"data\":[{\"index\":0,\"embedding\":[1,2]},{\"index\":0,\"embedding\":[3,4]}]}", 2, 2,
			       out, &tokens),
			-1);
	expect_err("index 0 appears twice");
	CU_ASSERT_EQUAL(openai("{\"data\":[{\"index\":0,\"embedding\":[1,2]}]}", 2, 2, out, &tokens), -1);
	expect_err("\"data\" has 1 items, expected 2");
	CU_ASSERT_EQUAL(openai("{\"data\":[{\"index\":0,\"embedding\":[1,2]},{\"index\":5,\"embedding\":[3,4]}]}", 2, 2,
			       out, &tokens),
			-1);
	expect_err("data[1].index is 5, expected 0 to 1");
	CU_ASSERT_EQUAL(openai("{\"data\":[{\"index\":0,\"embedding\":[1,2]},{\"embedding\":[3,4]}]}", 2, 2, out,
			       &tokens),
			-1);
	expect_err("missing field \"data[1].index\"");
	CU_ASSERT_EQUAL(openai("{\"data\":[{\"index\":-1,\"embedding\":[1,2]}]}", 2, 1, out, &tokens), -1);
	expect_err("index is -1");
	CU_ASSERT_EQUAL(openai("{\"data\":[{\"index\":\"0\",\"embedding\":[1,2]}]}", 2, 1, out, &tokens), -1);
	expect_err("data[0].index is a string");
	CU_ASSERT_EQUAL(openai("{\"data\":[{\"index\":0,\"embedding\":[1,2,3]}]}", 2, 1, out, &tokens), -1);
	expect_err("\"data[0].embedding\" has 3 values, expected 2");
	CU_ASSERT_EQUAL(openai("{\"data\":[{\"index\":0,\"embedding\":\"AACAPw==\"}]}", 2, 1, out, &tokens), -1);
	expect_err("is a string, expected an array");
	CU_ASSERT_EQUAL(openai("{\"data\":[{\"index\":0,\"embedding\":[1,true]}]}", 2, 1, out, &tokens), -1);
	expect_err("data[0].embedding[1] is a boolean, expected a number");
	CU_ASSERT_EQUAL(openai("{\"data\":[{\"index\":0,\"embedding\":[1,NaN]}]}", 2, 1, out, &tokens), -1);
	expect_err("non-finite");
	CU_ASSERT_EQUAL(openai("{\"data\":[{\"index\":0,\"embedding\":[1,2]}],\"usage\":{\"prompt_tokens\":-1}}", 2, 1,
			       out, &tokens),
			-1);
	expect_err("\"usage.prompt_tokens\" is -1");
	CU_ASSERT_EQUAL(openai("{\"data\":[{\"index\":0,\"embedding\":[1,2]}],\"usage\":{}}", 2, 1, out, &tokens), -1);
	expect_err("missing field \"usage.prompt_tokens\"");
	CU_ASSERT_EQUAL(openai("{\"data\":[{\"index\":0,\"embedding\":[1,2]}],\"usage\":7}", 2, 1, out, &tokens), -1);
	expect_err("\"usage\" is a number");
	CU_ASSERT_EQUAL(openai("{\"data\":{}}", 2, 1, out, &tokens), -1);
	expect_err("\"data\" is an object, expected an array");
	CU_ASSERT_EQUAL(openai("{\"object\":\"list\"}", 2, 1, out, &tokens), -1);
	expect_err("missing field \"data\"");
	CU_ASSERT_EQUAL(openai("{\"data\":[7]}", 2, 1, out, &tokens), -1);
	expect_err("data[0] is a number, expected an object");
	CU_ASSERT_EQUAL(openai("{\"data\":[{\"index\":0,\"embedding\":[1,2]}", 2, 1, out, &tokens), -1);
	expect_err("truncated");
	CU_ASSERT_EQUAL(openai("{\"data\":[]}", 2, 0, out, &tokens), -1);
	expect_err("0 inputs");
}

static void test_error_body(void)
{
	char type[64], msg[512];
	{
		const char *s = "{\"message\":\"Too many requests, please wait.\"}";
		CU_ASSERT_EQUAL(embed_parse_error(s, strlen(s), type, sizeof type, msg, sizeof msg), 0);
	}
	CU_ASSERT_STRING_EQUAL(msg, "Too many requests, please wait.");
	CU_ASSERT_STRING_EQUAL(type, "");
	{
		const char *s = "{\"__type\":\"com.amazon.coral.validate#ValidationException:http://x\",\"Message\":"
				"\"Malformed input\\nrequest\"}";
		CU_ASSERT_EQUAL(embed_parse_error(s, strlen(s), type, sizeof type, msg, sizeof msg), 0);
		CU_ASSERT_STRING_EQUAL(type, "ValidationException");
		CU_ASSERT_STRING_EQUAL(msg, "Malformed input request"); /* control characters as spaces */
	}
	{
		const char *s = "{\"error\":{\"message\":\"model not found\",\"type\":\"invalid_request_error\"}}";
		CU_ASSERT_EQUAL(embed_parse_error(s, strlen(s), type, sizeof type, msg, sizeof msg), 0);
		CU_ASSERT_STRING_EQUAL(type, "invalid_request_error");
		CU_ASSERT_STRING_EQUAL(msg, "model not found");
	}
	{
		const char *s = "{\"error\":\"Input validation error\",\"error_type\":\"Validation\"}";
		CU_ASSERT_EQUAL(embed_parse_error(s, strlen(s), type, sizeof type, msg, sizeof msg), 0);
		CU_ASSERT_STRING_EQUAL(type, "Validation");
		CU_ASSERT_STRING_EQUAL(msg, "Input validation error");
	}
	/* long messages are cut to EMBED_ERR_MSG_MAX, non-ASCII replaced */
	{
		char s[6000];
		int o = snprintf(s, sizeof s, "{\"message\":\"\xc3\xa9");
		memset(s + o, 'x', 5000);
		snprintf(s + o + 5000, sizeof s - (size_t)o - 5000, "\"}");
		CU_ASSERT_EQUAL(embed_parse_error(s, strlen(s), type, sizeof type, msg, sizeof msg), 0);
		CU_ASSERT_EQUAL(strlen(msg), EMBED_ERR_MSG_MAX);
		CU_ASSERT_EQUAL(strncmp(msg, "??xxx", 5), 0);
		CU_ASSERT_STRING_EQUAL(msg + EMBED_ERR_MSG_MAX - 3, "...");
		/* and to a small buffer */
		CU_ASSERT_EQUAL(embed_parse_error(s, strlen(s), type, 3, msg, 10), 0);
		CU_ASSERT_EQUAL(strlen(msg), 9);
	}
	CU_ASSERT_EQUAL(embed_parse_error("<html>bad gateway</html>", 24, type, sizeof type, msg, sizeof msg), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "not JSON"));
	CU_ASSERT_EQUAL(embed_parse_error("{\"detail\":1}", 12, type, sizeof type, msg, sizeof msg), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "no \"message\""));
	CU_ASSERT_EQUAL(embed_parse_error("", 0, type, sizeof type, msg, sizeof msg), -1);
	CU_ASSERT_EQUAL(embed_parse_error("[]", 2, type, sizeof type, msg, sizeof msg), -1);
}

int main(void)
{
	static const struct unit_test tests[] = {
		{"bedrock: valid", test_bedrock_valid},
		{"bedrock: truncated", test_bedrock_truncated},
		{"bedrock: wrong dimensions", test_bedrock_dims},
		{"bedrock: bad values", test_bedrock_values},
		{"bedrock: missing and ill-typed fields", test_bedrock_fields},
		{"huge and deep bodies", test_huge},
		{"openai: valid, any order", test_openai_valid},
		{"openai: bad answers", test_openai_bad},
		{"error bodies", test_error_body},
		{NULL, NULL},
	};
	return run_suite("embed_parse", tests);
}
