/*
 * SigV4 verification the way AWS does it for Bedrock Runtime: parse the
 * Authorization header (AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/
 * SERVICE/aws4_request, SignedHeaders=a;b;c, Signature=hex), check the key
 * id, the scope (date of X-Amz-Date, --region, service "bedrock") and the
 * clock (X-Amz-Date within 5 minutes), then re-sign the request as received
 * (wire path, raw query, the headers named in SignedHeaders, the body) with
 * the project's sigv4_sign and compare signatures in constant time.
 *
 * The signer re-encodes the wire path itself (sigv4.h), so the path is
 * passed exactly as it arrived: /model/amazon.titan-embed-text-v2%3A0/invoke
 * is signed as /model/amazon.titan-embed-text-v2%253A0/invoke, as AWS does.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bedrock_fake.h"
#include "mdw/log.h"
#include "mdw/sigv4.h"

#define MAX_SIGNED 32
#define SKEW_S 300

static const char MSG_MISMATCH[] =
	"The request signature we calculated does not match the signature you provided. Check your AWS Secret "
	"Access Key and signing method. Consult the service documentation for details.";

static int deny(struct bf_answer *a, enum bf_outcome o, const char *type, const char *msg, const char *reason)
{
	bf_aws_error(a, 403, o, type, msg);
	snprintf(a->reason, sizeof a->reason, "%s", reason);
	return -1;
}

/* Copy the value of "NAME=value" parameter NAME from the Authorization parameters into OUT. */
static int auth_param(const char *params, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	const char *p = params;

	while (*p) {
		size_t len;
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		len = strcspn(p, ",");
		if (len > nlen && !strncmp(p, name, nlen) && p[nlen] == '=') {
			size_t vlen = len - nlen - 1;
			while (vlen && (p[nlen + 1 + vlen - 1] == ' ' || p[nlen + 1 + vlen - 1] == '\t'))
				vlen--;
			if (vlen >= outlen)
				return -1;
			memcpy(out, p + nlen + 1, vlen);
			out[vlen] = '\0';
			return 0;
		}
		p += len;
	}
	return -1;
}

static int parse_amz_date(const char *s, time_t *t)
{
	struct tm tm = {0};
	if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
		return -1;
	for (int i = 0; i < 15; i++)
		if (i != 8 && (s[i] < '0' || s[i] > '9'))
			return -1;
	if (sscanf(s, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec) != 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*t = timegm(&tm);
	return 0;
}

/* With --verbose: log the canonical request we expected, one line, the session token masked. */
static void log_expected(const char *canonical)
{
	char buf[4096];
	size_t o = 0;
	int masking = 0;

	for (const char *p = canonical; *p && o + 4 < sizeof buf; p++) {
		if (masking && *p != '\n')
			continue;
		masking = 0;
		if (*p == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
			if (!strncmp(p + 1, "x-amz-security-token:", 21) && o + 25 < sizeof buf) {
				memcpy(buf + o, "x-amz-security-token:***", 24);
				o += 24;
				masking = 1;
				p += 21;
			}
		} else if (*p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = *p;
		} else {
			buf[o++] = *p;
		}
	}
	buf[o] = '\0';
	mdw_info("msg=\"signature mismatch\" expected_canonical_request=\"%s\"", buf);
}

int bf_sigcheck(const struct bf_request *rq, struct bf_answer *a)
{
	const char *auth = bf_header(rq, "Authorization");
	const char *amz_date = bf_header(rq, "X-Amz-Date");
	const char *token = bf_header(rq, "X-Amz-Security-Token");
	char cred[512], signed_hdrs[1024], sig[128], msg[512];
	char *scope[5], *save = NULL, *names[MAX_SIGNED];
	int nscope = 0, nnames = 0, nh = 0, host = 0, token_signed = 0, sign_body = 0, rc = -1;
	struct sigv4_header hd[MAX_SIGNED * 4];
	struct sigv4_creds creds;
	struct sigv4_out out = {0};
	char err[256], hlist[1024];
	time_t t, now = time(NULL);
	unsigned flags = SIGV4_NORMALIZE_PATH;

	if (!auth)
		return deny(a, BF_BAD_SIGNATURE, "MissingAuthenticationTokenException", "Missing Authentication Token",
			    "no Authorization header");
	while (*auth == ' ')
		auth++;
	if (strncmp(auth, "AWS4-HMAC-SHA256 ", 17) != 0)
		return deny(a, BF_BAD_SIGNATURE, "IncompleteSignatureException",
			    "Authorization header requires the 'AWS4-HMAC-SHA256' algorithm.", "unsupported algorithm");
	auth += 17;
	if (auth_param(auth, "Credential", cred, sizeof cred) < 0 ||
	    auth_param(auth, "SignedHeaders", signed_hdrs, sizeof signed_hdrs) < 0 ||
	    auth_param(auth, "Signature", sig, sizeof sig) < 0)
		return deny(a, BF_BAD_SIGNATURE, "IncompleteSignatureException",
			    "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.",
			    "incomplete Authorization header");
	for (char *p = strtok_r(cred, "/", &save); p && nscope < 5; p = strtok_r(NULL, "/", &save))
		scope[nscope++] = p;
	if (nscope != 5 || strtok_r(NULL, "/", &save))
		return deny(a, BF_BAD_SIGNATURE, "IncompleteSignatureException",
			    "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term.",
			    "malformed Credential");
	if (strcmp(scope[0], bf_cfg.access_key) != 0)
		return deny(a, BF_UNRECOGNIZED_KEY, "UnrecognizedClientException",
			    "The security token included in the request is invalid.", "unknown access key id");
	if (!amz_date)
		return deny(a, BF_BAD_SIGNATURE, "IncompleteSignatureException",
			    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
			    "no X-Amz-Date");
	if (parse_amz_date(amz_date, &t) < 0)
		return deny(a, BF_BAD_SIGNATURE, "IncompleteSignatureException",
			    "X-Amz-Date must be in ISO-8601 basic format (YYYYMMDDTHHMMSSZ).", "malformed X-Amz-Date");
	if (strncmp(scope[1], amz_date, 8) != 0 || strlen(scope[1]) != 8)
		return deny(a, BF_BAD_SIGNATURE, "InvalidSignatureException",
			    "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.",
			    "credential date differs from X-Amz-Date");
	if (strcmp(scope[2], bf_cfg.region) != 0) {
		snprintf(msg, sizeof msg, "Credential should be scoped to a valid region, not '%.64s'.", scope[2]);
		return deny(a, BF_BAD_SIGNATURE, "InvalidSignatureException", msg, "wrong region in scope");
	}
	if (strcmp(scope[3], "bedrock") != 0)
		return deny(a, BF_BAD_SIGNATURE, "InvalidSignatureException",
			    "Credential should be scoped to correct service: 'bedrock'.", "wrong service in scope");
	if (strcmp(scope[4], "aws4_request") != 0)
		return deny(a, BF_BAD_SIGNATURE, "InvalidSignatureException",
			    "Credential should be scoped with a valid terminator: 'aws4_request'.", "wrong terminator");
	if (t < now - SKEW_S || t > now + SKEW_S) {
		char now_s[17], edge[17];
		sigv4_amz_date(now, now_s);
		sigv4_amz_date(t < now ? now - SKEW_S : now + SKEW_S, edge);
		snprintf(msg, sizeof msg, "Signature %s: %s is %s than %s (%s %s 5 min.)",
			 t < now ? "expired" : "not yet current", amz_date, t < now ? "now earlier" : "still later",
			 edge, now_s, t < now ? "-" : "+");
		return deny(a, BF_BAD_SIGNATURE, "InvalidSignatureException", msg, "X-Amz-Date over 5 min from now");
	}

	/* The headers to sign: every one named in SignedHeaders, all occurrences in order. */
	snprintf(hlist, sizeof hlist, "%s", signed_hdrs);
	for (char *p = strtok_r(hlist, ";", &save); p; p = strtok_r(NULL, ";", &save)) {
		if (nnames == MAX_SIGNED)
			return deny(a, BF_BAD_SIGNATURE, "InvalidSignatureException", MSG_MISMATCH,
				    "too many signed headers");
		names[nnames++] = p;
	}
	for (int i = 0; i < nnames; i++) {
		int found = 0;
		if (!strcmp(names[i], "host"))
			host = 1;
		if (!strcmp(names[i], "x-amz-date"))
			continue; /* the signer adds it */
		if (!strcmp(names[i], "x-amz-security-token")) {
			token_signed = 1;
			continue;
		}
		if (!strcmp(names[i], "x-amz-content-sha256")) {
			sign_body = 1;
			continue;
		}
		if (!strcmp(names[i], "authorization"))
			return deny(a, BF_BAD_SIGNATURE, "InvalidSignatureException", MSG_MISMATCH,
				    "Authorization among signed headers");
		for (int j = 0; j < rq->nheaders && nh < (int)(sizeof hd / sizeof *hd); j++) {
			if (!strcasecmp(rq->headers[j].name, names[i])) {
				hd[nh++] = (struct sigv4_header){names[i], rq->headers[j].value};
				found = 1;
			}
		}
		if (!found)
			return deny(a, BF_BAD_SIGNATURE, "InvalidSignatureException", MSG_MISMATCH,
				    "a signed header is missing from the request");
	}
	if (!host)
		return deny(a, BF_BAD_SIGNATURE, "InvalidSignatureException",
			    "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
			    "host not signed");

	memset(&creds, 0, sizeof creds);
	snprintf(creds.access_key, sizeof creds.access_key, "%s", bf_cfg.access_key);
	snprintf(creds.secret_key, sizeof creds.secret_key, "%s", bf_cfg.secret_key);
	if (token_signed && !token)
		return deny(a, BF_BAD_SIGNATURE, "InvalidSignatureException", MSG_MISMATCH,
			    "x-amz-security-token signed but absent");
	if (token) {
		if (strlen(token) >= sizeof creds.session_token || !*token)
			return deny(a, BF_UNRECOGNIZED_KEY, "UnrecognizedClientException",
				    "The security token included in the request is invalid.", "unusable session token");
		snprintf(creds.session_token, sizeof creds.session_token, "%s", token);
		if (!token_signed)
			flags |= SIGV4_TOKEN_UNSIGNED;
	}
	if (sign_body)
		flags |= SIGV4_SIGN_BODY;
	{
		struct sigv4_request sr = {rq->method, rq->path, rq->query, hd, nh, rq->body, rq->body_len};
		if (sigv4_sign(&creds, bf_cfg.region, "bedrock", amz_date, &sr, flags, &out, err, sizeof err) < 0) {
			deny(a, BF_BAD_SIGNATURE, "InvalidSignatureException", MSG_MISMATCH,
			     "request cannot be signed");
			goto done;
		}
	}
	{
		/* Our signed-header list is the line before the payload hash. */
		const char *end = strrchr(out.canonical_request, '\n'), *start = end;
		while (start > out.canonical_request && start[-1] != '\n')
			start--;
		if ((size_t)(end - start) != strlen(signed_hdrs) || strncmp(start, signed_hdrs, strlen(signed_hdrs))) {
			deny(a, BF_BAD_SIGNATURE, "InvalidSignatureException", MSG_MISMATCH,
			     "SignedHeaders not lowercase, sorted, or without x-amz-date");
			goto done;
		}
	}
	if (sign_body) {
		const char *h = bf_header(rq, "x-amz-content-sha256");
		if (!h || strcmp(h, out.payload_hash) != 0) {
			deny(a, BF_BAD_SIGNATURE, "InvalidSignatureException",
			     "The provided 'x-amz-content-sha256' header does not match what was computed.",
			     "x-amz-content-sha256 differs from the body");
			goto done;
		}
	}
	if (strlen(sig) != 64 || CRYPTO_memcmp(sig, out.signature, 64) != 0) {
		if (bf_cfg.verbose)
			log_expected(out.canonical_request);
		deny(a, BF_BAD_SIGNATURE, "InvalidSignatureException", MSG_MISMATCH, "signature mismatch");
		goto done;
	}
	rc = 0;
done:
	sigv4_out_free(&out);
	OPENSSL_cleanse(&creds, sizeof creds);
	return rc;
}
