/*
 * CUnit: SigV4 signing against every case of the official AWS test suite
 * (tests/data/aws-sigv4 from the repo root, or $MDW_SIGV4_TESTDATA),
 * the Bedrock InvokeModel path (checked against botocore's signer), session
 * tokens and refusals. The credential chain is test_aws_creds.c.
 */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cunit_main.h"
#include "mdw/sigv4.h"
#include "mdw/strbuf.h"

#define SUITE_MIN_CASES 38
#define EX_AK "AKIDEXAMPLE"
#define EX_SK "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

/* Whole file as a NUL-terminated string (LEN without the NUL), or NULL. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)n + 1)) && fread(p, 1, (size_t)n, f) == (size_t)n) {
		p[n] = '\0';
		if (len)
			*len = (size_t)n;
	} else {
		free(p);
		p = NULL;
	}
	fclose(f);
	return p;
}

static char *slurp_at(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return slurp(path, NULL);
}

/* ---- the official suite ---- */

struct case_list {
	char **dir;
	int n, cap;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every directory under DIR that holds a request.txt is a case (nested folders included). */
static void find_cases(const char *dir, struct case_list *cl)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	struct stat st;

	if (!d)
		return;
	snprintf(path, sizeof path, "%s/request.txt", dir);
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		if (cl->n == cl->cap) {
			cl->cap = cl->cap ? cl->cap * 2 : 64;
			cl->dir = realloc(cl->dir, (size_t)cl->cap * sizeof *cl->dir);
		}
		cl->dir[cl->n++] = strdup(dir);
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			find_cases(path, cl);
	}
	closedir(d);
}

#define MAX_HDR 32

/* A request.txt: request line, header lines (indented lines continue the previous value), blank line, body. */
struct raw_req {
	char *buf;
	char method[16];
	char *path, *query;
	struct sigv4_header h[MAX_HDR];
	char *hval[MAX_HDR];
	int nh;
	const char *body;
	size_t body_len;
};

static void raw_req_free(struct raw_req *r)
{
	for (int i = 0; i < r->nh; i++)
		free(r->hval[i]);
	free(r->buf);
	memset(r, 0, sizeof *r);
}

/* Split BUF into lines up to the first empty line; returns the start of what follows it (or the end). */
static char *split_head(char *buf, char **lines, int *n, int max)
{
	char *p = buf;
	*n = 0;
	while (*p) {
		char *nl = strchr(p, '\n');
		char *next = nl ? nl + 1 : p + strlen(p);
		if (nl) {
			*nl = '\0';
			if (nl > p && nl[-1] == '\r')
				nl[-1] = '\0';
		}
		if (!*p)
			return next;
		if (*n < max)
			lines[(*n)++] = p;
		p = next;
	}
	return p;
}

static int parse_req(const char *file, struct raw_req *r)
{
	char *lines[MAX_HDR + 1], *rest, *sp, *target, *end;
	size_t len;
	int n;

	memset(r, 0, sizeof *r);
	if (!(r->buf = slurp(file, &len)))
		return -1;
	/* The body follows the first empty line; split_head writes NULs only before it. */
	rest = split_head(r->buf, lines, &n, MAX_HDR + 1);
	r->body = rest;
	r->body_len = len - (size_t)(rest - r->buf);
	if (n < 1 || !(sp = strchr(lines[0], ' ')) || (size_t)(sp - lines[0]) >= sizeof r->method)
		return -1;
	memcpy(r->method, lines[0], (size_t)(sp - lines[0]));
	target = sp + 1;
	if (!(end = strstr(target, " HTTP/")))
		return -1;
	*end = '\0';
	r->path = target;
	if ((r->query = strchr(target, '?')))
		*r->query++ = '\0';
	for (int i = 1; i < n; i++) {
		char *l = lines[i];
		if ((l[0] == ' ' || l[0] == '\t') && r->nh) {
			char *v = r->hval[r->nh - 1], *nv = malloc(strlen(v) + strlen(l) + 2);
			sprintf(nv, "%s\n%s", v, l);
			free(v);
			r->hval[r->nh - 1] = nv;
			r->h[r->nh - 1].value = nv;
			continue;
		}
		char *colon = strchr(l, ':');
		if (!colon)
			return -1;
		*colon = '\0';
		r->hval[r->nh] = strdup(colon + 1);
		r->h[r->nh].name = l;
		r->h[r->nh].value = r->hval[r->nh];
		r->nh++;
	}
	return 0;
}

static int show_diff(const char *cs, const char *what, const char *want, const char *got)
{
	if (want && got && !strcmp(want, got))
		return 0;
	fprintf(stderr, "\n  case %s: %s differs\n--- expected\n%s\n--- got\n%s\n---\n", cs, what,
		want ? want : "(none)", got ? got : "(none)");
	return 1;
}

/*
 * The expected signed request is the request plus our added headers: take its
 * head, drop each line that the request already had, and match the rest
 * (name without case, value exactly) against OUT->add.
 */
static int check_signed_request(const char *cs, const char *dir, const struct sigv4_out *out, const char *req_file)
{
	char *want = slurp_at(dir, "header-signed-request.txt"), *orig = slurp(req_file, NULL);
	char *wl[MAX_HDR + 8], *ol[MAX_HDR + 1];
	int nw, no, bad = 0, used[MAX_HDR + 8] = {0}, extra = 0;

	if (!want || !orig) {
		fprintf(stderr, "\n  case %s: cannot read header-signed-request.txt\n", cs);
		free(want);
		free(orig);
		return 1;
	}
	char *wbody = split_head(want, wl, &nw, MAX_HDR + 8);
	char *obody = split_head(orig, ol, &no, MAX_HDR + 1);
	bad |= show_diff(cs, "signed request body", obody, wbody);
	for (int i = 0; i < no; i++) {
		int hit = 0;
		for (int j = 0; j < nw && !hit; j++)
			if (!used[j] && !strcmp(ol[i], wl[j]))
				used[j] = hit = 1;
		if (!hit) {
			fprintf(stderr, "\n  case %s: request line \"%s\" missing from the signed request\n", cs,
				ol[i]);
			bad = 1;
		}
	}
	for (int j = 0; j < nw; j++) {
		int hit = 0;
		if (used[j])
			continue;
		extra++;
		for (int k = 0; k < out->nadd && !hit; k++) {
			size_t nl = strlen(out->add[k].name);
			hit = !strncasecmp(wl[j], out->add[k].name, nl) && wl[j][nl] == ':' &&
			      !strcmp(wl[j] + nl + 1, out->add[k].value);
		}
		if (!hit) {
			fprintf(stderr, "\n  case %s: expected header \"%s\" not among the added ones\n", cs, wl[j]);
			bad = 1;
		}
		if (!strncasecmp(wl[j], "Authorization:", 14))
			bad |= show_diff(cs, "Authorization", wl[j] + 14, out->authorization);
	}
	if (extra != out->nadd) {
		fprintf(stderr, "\n  case %s: %d headers added, expected %d\n", cs, out->nadd, extra);
		bad = 1;
	}
	free(want);
	free(orig);
	return bad;
}

/* Sign one case; 0 when every header-* file is reproduced byte for byte. */
static int run_case(const char *dir, const char *cs)
{
	char path[4096], err[512], amz_date[17] = "";
	json_t *ctx;
	json_error_t jerr;
	struct raw_req r;
	struct sigv4_creds c;
	struct sigv4_out out;
	unsigned flags = 0;
	const char *ts, *tok;
	char *creq = NULL, *sts = NULL, *sig = NULL;
	int bad = 0;

	snprintf(path, sizeof path, "%s/context.json", dir);
	if (!(ctx = json_load_file(path, 0, &jerr))) {
		fprintf(stderr, "\n  case %s: context.json: %s\n", cs, jerr.text);
		return 1;
	}
	memset(&c, 0, sizeof c);
	snprintf(c.access_key, sizeof c.access_key, "%s",
		 json_string_value(json_object_get(json_object_get(ctx, "credentials"), "access_key_id")));
	snprintf(c.secret_key, sizeof c.secret_key, "%s",
		 json_string_value(json_object_get(json_object_get(ctx, "credentials"), "secret_access_key")));
	tok = json_string_value(json_object_get(json_object_get(ctx, "credentials"), "token"));
	if (tok)
		snprintf(c.session_token, sizeof c.session_token, "%s", tok);
	if (json_is_true(json_object_get(ctx, "normalize")))
		flags |= SIGV4_NORMALIZE_PATH;
	if (json_is_true(json_object_get(ctx, "sign_body")))
		flags |= SIGV4_SIGN_BODY;
	if (json_is_true(json_object_get(ctx, "omit_session_token")))
		flags |= SIGV4_TOKEN_UNSIGNED;
	/* "2015-08-30T12:36:00Z" -> "20150830T123600Z" */
	ts = json_string_value(json_object_get(ctx, "timestamp"));
	for (size_t i = 0, o = 0; ts && ts[i] && o < 16; i++)
		if (ts[i] != '-' && ts[i] != ':')
			amz_date[o++] = ts[i];

	snprintf(path, sizeof path, "%s/request.txt", dir);
	if (parse_req(path, &r) < 0) {
		fprintf(stderr, "\n  case %s: cannot parse request.txt\n", cs);
		json_decref(ctx);
		raw_req_free(&r);
		return 1;
	}
	struct sigv4_request req = {r.method, r.path, r.query, r.h, r.nh, r.body, r.body_len};
	if (sigv4_sign(&c, json_string_value(json_object_get(ctx, "region")),
		       json_string_value(json_object_get(ctx, "service")), amz_date, &req, flags, &out, err,
		       sizeof err) < 0) {
		fprintf(stderr, "\n  case %s: sigv4_sign: %s\n", cs, err);
		bad = 1;
		goto done;
	}
	creq = slurp_at(dir, "header-canonical-request.txt");
	sts = slurp_at(dir, "header-string-to-sign.txt");
	sig = slurp_at(dir, "header-signature.txt");
	bad |= show_diff(cs, "canonical request", creq, out.canonical_request);
	bad |= show_diff(cs, "string to sign", sts, out.string_to_sign);
	bad |= show_diff(cs, "signature", sig, out.signature);
	bad |= check_signed_request(cs, dir, &out, path);
	if (strstr(out.canonical_request, EX_SK) || strstr(out.string_to_sign, EX_SK) ||
	    strstr(out.authorization, EX_SK)) {
		fprintf(stderr, "\n  case %s: the secret leaked into the output\n", cs);
		bad = 1;
	}
	sigv4_out_free(&out);
done:
	free(creq);
	free(sts);
	free(sig);
	raw_req_free(&r);
	json_decref(ctx);
	return bad;
}

static void test_official_suite(void)
{
	const char *base = getenv("MDW_SIGV4_TESTDATA") ? getenv("MDW_SIGV4_TESTDATA") : "tests/data/aws-sigv4";
	struct case_list cl = {0};
	int pass = 0;

	find_cases(base, &cl);
	if (cl.n < SUITE_MIN_CASES) {
		fprintf(stderr,
			"\n  official SigV4 suite: found %d cases under %s (cwd must be the repo root), expected at "
			"least %d\n",
			cl.n, base, SUITE_MIN_CASES);
		CU_FAIL_FATAL("official SigV4 suite incomplete or not found");
	}
	qsort(cl.dir, (size_t)cl.n, sizeof *cl.dir, cmp_str);
	for (int i = 0; i < cl.n; i++) {
		const char *cs = cl.dir[i] + strlen(base) + 1;
		if (run_case(cl.dir[i], cs) == 0)
			pass++;
		else
			CU_FAIL("official SigV4 case failed (see stderr)");
	}
	fprintf(stderr, "[%d/%d official cases match] ", pass, cl.n);
	CU_ASSERT_EQUAL(pass, cl.n);
	for (int i = 0; i < cl.n; i++)
		free(cl.dir[i]);
	free(cl.dir);
}

/* ---- Bedrock, tokens, helpers ---- */

static void example_creds(struct sigv4_creds *c, const char *token)
{
	memset(c, 0, sizeof *c);
	strcpy(c->access_key, EX_AK);
	strcpy(c->secret_key, EX_SK);
	if (token)
		strcpy(c->session_token, token);
}

static const char TITAN_BODY[] = "{\"inputText\":\"hello world\",\"dimensions\":1024,\"normalize\":true}";

/* Expected values from botocore 1.43 (SigV4Auth, service "bedrock") for the same request. */
static void test_bedrock_invoke(void)
{
	char path[256], err[256];
	struct sigv4_creds c;
	struct sigv4_out out;
	const struct sigv4_header h[] = {
		{"Host", "bedrock-runtime.us-east-1.amazonaws.com"},
		{"Content-Type", "application/json"},
		{"Accept", "application/json"},
	};

	CU_ASSERT_EQUAL_FATAL(sigv4_bedrock_path("amazon.titan-embed-text-v2:0", path, sizeof path, err, sizeof err),
			      0);
	CU_ASSERT_STRING_EQUAL(path, "/model/amazon.titan-embed-text-v2%3A0/invoke");
	example_creds(&c, NULL);
	struct sigv4_request req = {"POST", path, NULL, h, 3, TITAN_BODY, strlen(TITAN_BODY)};
	CU_ASSERT_EQUAL_FATAL(sigv4_sign(&c, "us-east-1", "bedrock", "20150830T123600Z", &req, SIGV4_NORMALIZE_PATH,
					 &out, err, sizeof err),
			      0);
	CU_ASSERT_STRING_EQUAL(out.canonical_request,
			       "POST\n/model/amazon.titan-embed-text-v2%253A0/invoke\n\n"
			       "accept:application/json\ncontent-type:application/json\n"
			       "host:bedrock-runtime.us-east-1.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
			       "accept;content-type;host;x-amz-date\n"
			       "81a7f5a890c8017c6c756461c3e7fd8c58a4b0279484e7401c0834403df8eb42");
	CU_ASSERT_STRING_EQUAL(out.string_to_sign,
			       "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/bedrock/aws4_request\n"
			       "fd665b53f2c950af699eb220c12819bee1d2a30707d0e85347bdc937c628cf7a");
	CU_ASSERT_STRING_EQUAL(out.authorization,
			       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, "
			       "SignedHeaders=accept;content-type;host;x-amz-date, "
			       "Signature=931a84823354fb64149647e997a632eae0dbe10bde98516328850483262e3aee");
	CU_ASSERT_EQUAL(out.nadd, 2);
	CU_ASSERT_STRING_EQUAL(out.add[0].name, "X-Amz-Date");
	CU_ASSERT_STRING_EQUAL(out.add[0].value, "20150830T123600Z");
	CU_ASSERT_STRING_EQUAL(out.add[1].name, "Authorization");
	sigv4_out_free(&out);

	/* An inference-profile ARN: ':' and '/' are both encoded on the wire. */
	CU_ASSERT_EQUAL(sigv4_bedrock_path("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.x-v1:0", path,
					   sizeof path, err, sizeof err),
			0);
	CU_ASSERT_STRING_EQUAL(path,
			       "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.x-v1%3A0/invoke");
	CU_ASSERT_EQUAL(sigv4_bedrock_path("", path, sizeof path, err, sizeof err), -1);
	CU_ASSERT_EQUAL(sigv4_bedrock_path("amazon.titan-embed-text-v2:0", path, 20, err, sizeof err), -1);
}

static int grants;

static void *granting_realloc(void *p, size_t n)
{
	return grants-- > 0 ? realloc(p, n) : NULL;
}

/* Each string's allocation refused in turn: out of memory, nothing half-made (LeakSanitizer checks the frees). */
static void test_sign_oom(void)
{
	static const char tok[] = "FQoGZXIvYXdzEXAMPLETOKEN/+==";
	char err[256];
	struct sigv4_creds c;
	struct sigv4_out out;
	const struct sigv4_header h[] = {{"Host", "bedrock-runtime.us-east-1.amazonaws.com"}};
	struct sigv4_request req = {"POST", "/model/m/invoke", "b=2&a=1", h, 1, TITAN_BODY, strlen(TITAN_BODY)};
	int signed_at = -1;

	example_creds(&c, tok);
	for (int budget = 0; budget < 64 && signed_at < 0; budget++) {
		int rc;
		grants = budget;
		strbuf_set_realloc(granting_realloc);
		rc = sigv4_sign(&c, "us-east-1", "bedrock", "20150830T123600Z", &req, SIGV4_SIGN_BODY, &out, err,
				sizeof err);
		strbuf_set_realloc(NULL);
		if (rc == 0) {
			signed_at = budget;
			CU_ASSERT_EQUAL(out.nadd, 4);
			CU_ASSERT_PTR_NOT_NULL(strstr(out.authorization,
						      "SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
						      "x-amz-security-token, Signature="));
			sigv4_out_free(&out);
		} else {
			CU_ASSERT_STRING_EQUAL(err, "out of memory");
			CU_ASSERT_PTR_NULL(out.canonical_request);
			CU_ASSERT_PTR_NULL(out.authorization);
			CU_ASSERT_EQUAL(out.nadd, 0);
		}
	}
	CU_ASSERT_TRUE(signed_at > 0); /* some allocations were refused before one run got them all */
}

static void test_session_token(void)
{
	static const char tok[] = "FQoGZXIvYXdzEXAMPLETOKEN/+==";
	char err[256];
	struct sigv4_creds c;
	struct sigv4_out out;
	const struct sigv4_header h[] = {
		{"Content-Type", "application/json"},
		{"Accept", "application/json"},
		{"host", "bedrock-runtime.us-east-1.amazonaws.com"},
	};
	struct sigv4_request req =
		{"POST", "/model/amazon.titan-embed-text-v2%3A0/invoke", "", h, 3, TITAN_BODY, strlen(TITAN_BODY)};

	example_creds(&c, tok);
	CU_ASSERT_EQUAL_FATAL(sigv4_sign(&c, "us-east-1", "bedrock", "20150830T123600Z", &req, SIGV4_NORMALIZE_PATH,
					 &out, err, sizeof err),
			      0);
	/* botocore 1.43 again. */
	CU_ASSERT_PTR_NOT_NULL(strstr(out.canonical_request,
				      "\nx-amz-security-token:"
				      "FQoGZXIvYXdzEXAMPLETOKEN/+==\n\n"
				      "accept;content-type;host;x-amz-date;x-amz-security-token\n"));
	CU_ASSERT_STRING_EQUAL(out.string_to_sign,
			       "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/bedrock/aws4_request\n"
			       "2086c7c175d724eefd8237b03a50f0384a44c9f443ab0dd15e0c596e97f0bd25");
	CU_ASSERT_STRING_EQUAL(out.signature, "0d3cae51335e41b2dd123edfa40915aefa739f53b4c7b157bce58d95fa8f3325");
	CU_ASSERT_EQUAL(out.nadd, 3);
	CU_ASSERT_STRING_EQUAL(out.add[1].name, "X-Amz-Security-Token");
	CU_ASSERT_STRING_EQUAL(out.add[1].value, tok);
	CU_ASSERT_PTR_NULL(strstr(out.authorization, EX_SK));
	sigv4_out_free(&out);
	sigv4_out_free(&out); /* twice is fine */

	/* Unsigned token: sent, not in the canonical request. */
	CU_ASSERT_EQUAL_FATAL(sigv4_sign(&c, "us-east-1", "bedrock", "20150830T123600Z", &req,
					 SIGV4_NORMALIZE_PATH | SIGV4_TOKEN_UNSIGNED, &out, err, sizeof err),
			      0);
	CU_ASSERT_PTR_NULL(strstr(out.canonical_request, "security-token"));
	CU_ASSERT_EQUAL(out.nadd, 3);
	CU_ASSERT_STRING_EQUAL(out.signature, "931a84823354fb64149647e997a632eae0dbe10bde98516328850483262e3aee");
	sigv4_out_free(&out);
}

static void test_uri_encode(void)
{
	char buf[64];
	CU_ASSERT_EQUAL(sigv4_uri_encode("a b/c:d~e", 0, buf, sizeof buf), 13);
	CU_ASSERT_STRING_EQUAL(buf, "a%20b/c%3Ad~e");
	CU_ASSERT_EQUAL(sigv4_uri_encode("a b/c", 1, buf, sizeof buf), 9);
	CU_ASSERT_STRING_EQUAL(buf, "a%20b%2Fc");
	CU_ASSERT_EQUAL(sigv4_uri_encode("\xe1\x88\xb4+%", 1, buf, sizeof buf), 15);
	CU_ASSERT_STRING_EQUAL(buf, "%E1%88%B4%2B%25");
	CU_ASSERT_EQUAL(sigv4_uri_encode("abc", 1, buf, 3), -1);
	CU_ASSERT_EQUAL(sigv4_uri_encode("abc", 1, buf, 4), 3);
	CU_ASSERT_EQUAL(sigv4_uri_encode(":", 1, buf, 3), -1);
}

/* Sign a GET of PATH?QUERY and return the canonical request's URI and query lines in URI/QUERY. */
static int canon_lines(const char *path, const char *query, unsigned flags, char *uri, char *q)
{
	char err[256];
	struct sigv4_creds c;
	struct sigv4_out out;
	const struct sigv4_header h[] = {{"Host", "example.amazonaws.com"}};
	struct sigv4_request req = {"GET", path, query, h, 1, NULL, 0};
	example_creds(&c, NULL);
	if (sigv4_sign(&c, "us-east-1", "service", "20150830T123600Z", &req, flags, &out, err, sizeof err) < 0)
		return -1;
	sscanf(out.canonical_request, "GET\n%255[^\n]\n%255[^\n]", uri, q);
	if (out.canonical_request[strlen("GET\n") + strlen(uri) + 1] == '\n')
		q[0] = '\0';
	sigv4_out_free(&out);
	return 0;
}

static void test_canonical_forms(void)
{
	char uri[256], q[256];
	CU_ASSERT_EQUAL_FATAL(canon_lines("/a/b/../c/./d/", "b=2&a=1&a=0&c&&%e1%88%b4=x+y%2f", SIGV4_NORMALIZE_PATH,
					  uri, q),
			      0);
	CU_ASSERT_STRING_EQUAL(uri, "/a/c/d/");
	CU_ASSERT_STRING_EQUAL(q, "%E1%88%B4=x%2By%2F&a=0&a=1&b=2&c=");
	CU_ASSERT_EQUAL_FATAL(canon_lines("/a/..", NULL, SIGV4_NORMALIZE_PATH, uri, q), 0);
	CU_ASSERT_STRING_EQUAL(uri, "/");
	CU_ASSERT_STRING_EQUAL(q, "");
	CU_ASSERT_EQUAL_FATAL(canon_lines("/../../x", "=v&k=", SIGV4_NORMALIZE_PATH, uri, q), 0);
	CU_ASSERT_STRING_EQUAL(uri, "/x");
	CU_ASSERT_STRING_EQUAL(q, "=v&k=");
	CU_ASSERT_EQUAL_FATAL(canon_lines("", "%zz=%4", 0, uri, q), 0);
	CU_ASSERT_STRING_EQUAL(uri, "/");
	CU_ASSERT_STRING_EQUAL(q, "%25zz=%254");
	CU_ASSERT_EQUAL_FATAL(canon_lines("/a%2Fb", NULL, SIGV4_NORMALIZE_PATH, uri, q), 0);
	CU_ASSERT_STRING_EQUAL(uri, "/a%252Fb");
}

static void test_refusals(void)
{
	char err[256];
	struct sigv4_creds c;
	struct sigv4_out out;
	struct sigv4_header h[] = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
	struct sigv4_request req = {"GET", "/", NULL, h, 2, NULL, 0};

	example_creds(&c, NULL);
	CU_ASSERT_EQUAL(sigv4_sign(&c, "us-east-1", "service", "20150830T123600Z", &req, 0, &out, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "x-amz-date"));
	CU_ASSERT_PTR_NULL(out.canonical_request);
	h[1] = (struct sigv4_header){"Authorization", "x"};
	CU_ASSERT_EQUAL(sigv4_sign(&c, "us-east-1", "service", "20150830T123600Z", &req, 0, &out, err, sizeof err), -1);
	h[1] = (struct sigv4_header){"Bad Name", "x"};
	CU_ASSERT_EQUAL(sigv4_sign(&c, "us-east-1", "service", "20150830T123600Z", &req, 0, &out, err, sizeof err), -1);
	req.nheaders = 0;
	CU_ASSERT_EQUAL(sigv4_sign(&c, "us-east-1", "service", "20150830T123600Z", &req, 0, &out, err, sizeof err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "Host"));
	req.nheaders = 1;
	CU_ASSERT_EQUAL(sigv4_sign(&c, "us-east-1", "service", "2015-08-30T12:36:00Z", &req, 0, &out, err, sizeof err),
			-1);
	CU_ASSERT_EQUAL(sigv4_sign(&c, "us east", "service", "20150830T123600Z", &req, 0, &out, err, sizeof err), -1);
	req.path = "relative";
	CU_ASSERT_EQUAL(sigv4_sign(&c, "us-east-1", "service", "20150830T123600Z", &req, 0, &out, err, sizeof err), -1);
	req.path = "/";
	strcpy(c.session_token, "tok\r\nX-Injected: 1");
	CU_ASSERT_EQUAL(sigv4_sign(&c, "us-east-1", "service", "20150830T123600Z", &req, 0, &out, err, sizeof err), -1);
	CU_ASSERT_PTR_NULL(strstr(err, "tok"));
	CU_ASSERT_PTR_NULL(strstr(err, EX_SK));
	c.session_token[0] = '\0';
	c.secret_key[0] = '\0';
	CU_ASSERT_EQUAL(sigv4_sign(&c, "us-east-1", "service", "20150830T123600Z", &req, 0, &out, err, sizeof err), -1);
	example_creds(&c, NULL);
	CU_ASSERT_EQUAL(sigv4_sign(&c, "us-east-1", "service", "20150830T123600Z", &req, 0, &out, err, sizeof err), 0);
	sigv4_out_free(&out);
}

static void test_amz_date(void)
{
	char d[17];
	sigv4_amz_date(1440938160, d);
	CU_ASSERT_STRING_EQUAL(d, "20150830T123600Z");
}

/* The signed Host is the one curl sends: the scheme's default port dropped, others kept. */
static void test_host_header(void)
{
	static const struct {
		const char *authority;
		int https;
		const char *want;
	} cases[] = {
		{"bedrock-runtime.us-east-1.amazonaws.com:443", 1, "bedrock-runtime.us-east-1.amazonaws.com"},
		{"bedrock-runtime.us-east-1.amazonaws.com", 1, "bedrock-runtime.us-east-1.amazonaws.com"},
		{"vpce.example:8443", 1, "vpce.example:8443"},
		{"vpce.example:80", 1, "vpce.example:80"},
		{"127.0.0.1:80", 0, "127.0.0.1"},
		{"127.0.0.1:443", 0, "127.0.0.1:443"},
		{"[::1]:443", 1, "[::1]"},
		{"[::1]", 1, "[::1]"},
		{"[::443]", 1, "[::443]"},
	};
	char out[256];

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		sigv4_host_header(cases[i].authority, cases[i].https, out, sizeof out);
		CU_ASSERT_STRING_EQUAL(out, cases[i].want);
	}
}

static const struct unit_test tests[] = {
	{"Host header as curl sends it", test_host_header},
	{"official AWS SigV4 suite", test_official_suite},
	{"Bedrock InvokeModel path and signature", test_bedrock_invoke},
	{"session token", test_session_token},
	{"out of memory at each string", test_sign_oom},
	{"URI encoding", test_uri_encode},
	{"canonical path and query", test_canonical_forms},
	{"bad input refused", test_refusals},
	{"X-Amz-Date format", test_amz_date},
	{NULL, NULL},
};

int main(void)
{
	return run_suite("sigv4", tests);
}
