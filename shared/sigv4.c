/*
 * AWS Signature Version 4 (see sigv4.h). SHA-256 and HMAC come from
 * OpenSSL. Each step builds one string in a strbuf; the secret is
 * only read in signing_key(), whose buffers are wiped before it returns.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdw/sigv4.h"
#include "mdw/strbuf.h"

static const char HEX_UPPER[] = "0123456789ABCDEF";

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	       c == '_' || c == '~';
}

static void put_uri_encoded(struct strbuf *b, const char *s, size_t n, int encode_slash)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_unreserved(c) || (c == '/' && !encode_slash)) {
			strbuf_putc(b, (char)c);
		} else {
			char e[3] = {'%', HEX_UPPER[c >> 4], HEX_UPPER[c & 15]};
			strbuf_putn(b, e, 3);
		}
	}
}

int sigv4_uri_encode(const char *in, int encode_slash, char *out, size_t outlen)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		int keep = is_unreserved(*p) || (*p == '/' && !encode_slash);
		size_t need = keep ? 1 : 3;
		if (o + need + 1 > outlen)
			return -1;
		if (keep) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = HEX_UPPER[*p >> 4];
			out[o++] = HEX_UPPER[*p & 15];
		}
	}
	if (o + 1 > outlen)
		return -1;
	out[o] = '\0';
	return (int)o;
}

int sigv4_bedrock_path(const char *model_id, char *out, size_t outlen, char *err, size_t errlen)
{
	static const char pre[] = "/model/", post[] = "/invoke";
	int n;

	if (!model_id || !*model_id) {
		snprintf(err, errlen, "empty Bedrock model id");
		return -1;
	}
	if (outlen < sizeof pre + sizeof post)
		goto small;
	memcpy(out, pre, sizeof pre - 1);
	n = sigv4_uri_encode(model_id, 1, out + sizeof pre - 1, outlen - (sizeof pre - 1));
	if (n < 0 || sizeof pre - 1 + (size_t)n + sizeof post > outlen)
		goto small;
	memcpy(out + sizeof pre - 1 + n, post, sizeof post);
	return 0;
small:
	snprintf(err, errlen, "Bedrock model id too long for the request path (%zu bytes)", strlen(model_id));
	return -1;
}

void sigv4_host_header(const char *authority, int https, char *out, size_t outlen)
{
	const char *colon = strrchr(authority, ':');
	size_t n = strlen(authority);

	/* a port follows the last ':' unless that ':' is inside an IPv6 literal ("[::1]") */
	if (colon && !strchr(colon, ']') && !strcmp(colon + 1, https ? "443" : "80"))
		n = (size_t)(colon - authority);
	snprintf(out, outlen, "%.*s", (int)n, authority);
}

void sigv4_amz_date(time_t t, char out[17])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static void to_hex(const unsigned char *d, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static int sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!EVP_Digest(data ? data : "", n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -1;
	to_hex(md, 32, out);
	return 0;
}

static int hmac256(const void *key, size_t keylen, const char *msg, unsigned char out[32])
{
	unsigned int len = 0;
	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out, &len) || len != 32)
		return -1;
	return 0;
}

/* Derive the signing key and sign STS into SIG_HEX; every key byte is wiped. */
static int sign_sts(const char *secret, const char *date, const char *region, const char *service, const char *sts,
		    char sig_hex[65])
{
	unsigned char kbuf[4 + sizeof(((struct sigv4_creds *)0)->secret_key)];
	unsigned char k1[32], k2[32], sig[32];
	size_t slen = strlen(secret);
	int rc = -1;

	memcpy(kbuf, "AWS4", 4);
	memcpy(kbuf + 4, secret, slen);
	if (hmac256(kbuf, 4 + slen, date, k1) < 0 || hmac256(k1, 32, region, k2) < 0 ||
	    hmac256(k2, 32, service, k1) < 0 || hmac256(k1, 32, "aws4_request", k2) < 0 ||
	    hmac256(k2, 32, sts, sig) < 0)
		goto done;
	to_hex(sig, 32, sig_hex);
	rc = 0;
done:
	OPENSSL_cleanse(kbuf, sizeof kbuf);
	OPENSSL_cleanse(k1, sizeof k1);
	OPENSSL_cleanse(k2, sizeof k2);
	return rc;
}

/*
 * Canonical URI. Normalizing drops empty and "." segments and lets ".." drop
 * the one before (RFC 3986 remove_dot_segments, plus "//" -> "/"); a path
 * that ended in '/', "." or ".." keeps a trailing '/'.
 */
static int canonical_uri(struct strbuf *b, const char *path, int normalize, char *err, size_t errlen)
{
	struct {
		const char *s;
		size_t n;
	} *seg = NULL;
	size_t nseg = 0, cap = 1, plen = strlen(path);
	int trailing = 0;

	if (!*path) {
		strbuf_putc(b, '/');
		return 0;
	}
	if (path[0] != '/') {
		snprintf(err, errlen, "request path must start with '/'");
		return -1;
	}
	if (!normalize) {
		put_uri_encoded(b, path, plen, 0);
		return 0;
	}
	for (const char *p = path; *p; p++)
		cap += *p == '/';
	seg = calloc(cap, sizeof *seg);
	if (!seg) {
		b->oom = 1;
		return 0;
	}
	for (const char *p = path + 1;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		trailing = 0;
		if (n == 0 || (n == 1 && p[0] == '.')) {
			trailing = 1;
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (nseg)
				nseg--;
			trailing = 1;
		} else {
			seg[nseg].s = p;
			seg[nseg++].n = n;
		}
		if (!e)
			break;
		p = e + 1;
	}
	for (size_t i = 0; i < nseg; i++) {
		strbuf_putc(b, '/');
		put_uri_encoded(b, seg[i].s, seg[i].n, 1);
	}
	if (!nseg || trailing)
		strbuf_putc(b, '/');
	free(seg);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode S[0..N) then encode it strictly ('/' too) into a new string. */
static char *reencode(const char *s, size_t n)
{
	struct strbuf raw = STRBUF_INIT, enc = STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
			strbuf_putc(&raw, (char)(hi * 16 + lo));
			i += 2;
		} else {
			strbuf_putc(&raw, s[i]);
		}
	}
	put_uri_encoded(&enc, raw.p ? raw.p : "", raw.len, 1);
	if (raw.oom)
		enc.oom = 1;
	strbuf_free(&raw);
	return strbuf_take(&enc);
}

struct qparam {
	char *k, *v;
};

static int qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->k, y->k);
	return c ? c : strcmp(x->v, y->v);
}

/* Canonical query: names and values decoded and re-encoded, sorted by name then value, joined by '&'. */
static void canonical_query(struct strbuf *b, const char *q)
{
	struct qparam *ps;
	size_t n = 0, cap = 1;

	if (!q || !*q)
		return;
	for (const char *p = q; *p; p++)
		cap += *p == '&';
	ps = calloc(cap, sizeof *ps);
	if (!ps) {
		b->oom = 1;
		return;
	}
	for (const char *p = q;;) {
		const char *e = strchr(p, '&');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len) {
			const char *eq = memchr(p, '=', len);
			size_t klen = eq ? (size_t)(eq - p) : len;
			ps[n].k = reencode(p, klen);
			ps[n].v = eq ? reencode(eq + 1, len - klen - 1) : reencode("", 0);
			n++;
			if (!ps[n - 1].k || !ps[n - 1].v) {
				b->oom = 1;
				break;
			}
		}
		if (!e)
			break;
		p = e + 1;
	}
	if (!b->oom) {
		qsort(ps, n, sizeof *ps, qparam_cmp);
		for (size_t i = 0; i < n; i++) {
			if (i)
				strbuf_putc(b, '&');
			strbuf_puts(b, ps[i].k);
			strbuf_putc(b, '=');
			strbuf_puts(b, ps[i].v);
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(ps[i].k);
		free(ps[i].v);
	}
	free(ps);
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static int is_tchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Value trimmed, inner runs of whitespace (folded lines included) cut to one space. */
static void put_header_value(struct strbuf *b, const char *v)
{
	int space = 0;
	while (is_ws(*v))
		v++;
	for (; *v; v++) {
		if (is_ws(*v)) {
			space = 1;
			continue;
		}
		if (space)
			strbuf_putc(b, ' ');
		space = 0;
		strbuf_putc(b, *v);
	}
}

struct hdr {
	char name[128]; /* lowercase */
	const char *value;
	int idx;
};

static int hdr_cmp(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static const char *const RESERVED[] = {"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"};

/* Lowercased, checked copies of the request's headers plus the ones we sign for the caller, sorted by name. */
static int collect_headers(const struct sigv4_request *req, const char *amz_date, const char *token,
			   const char *payload_hash, unsigned flags, struct hdr **out, int *nout, char *err,
			   size_t errlen)
{
	int n = 0, host = 0;
	struct hdr *h;

	if (req->nheaders < 0 || (req->nheaders && !req->headers)) {
		snprintf(err, errlen, "bad header count %d", req->nheaders);
		return -1;
	}
	h = calloc((size_t)req->nheaders + 3, sizeof *h);
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < req->nheaders; i++) {
		const char *nm = req->headers[i].name;
		size_t len = nm ? strlen(nm) : 0;
		if (!len || len >= sizeof h->name || !req->headers[i].value) {
			snprintf(err, errlen, "header %d: empty or over-long name, or no value", i + 1);
			goto fail;
		}
		for (size_t j = 0; j < len; j++) {
			if (!is_tchar((unsigned char)nm[j])) {
				snprintf(err, errlen, "header %d: invalid character in name", i + 1);
				goto fail;
			}
			h[n].name[j] = (char)((nm[j] >= 'A' && nm[j] <= 'Z') ? nm[j] + 32 : nm[j]);
		}
		for (size_t r = 0; r < sizeof RESERVED / sizeof *RESERVED; r++) {
			if (!strcmp(h[n].name, RESERVED[r])) {
				snprintf(err, errlen, "header %s is added by the signer: do not pass it", RESERVED[r]);
				goto fail;
			}
		}
		host |= !strcmp(h[n].name, "host");
		h[n].value = req->headers[i].value;
		h[n].idx = n;
		n++;
	}
	if (!host) {
		snprintf(err, errlen, "no Host header: SigV4 signs it");
		goto fail;
	}
	strcpy(h[n].name, "x-amz-date");
	h[n].value = amz_date;
	h[n].idx = n;
	n++;
	if (token && !(flags & SIGV4_TOKEN_UNSIGNED)) {
		strcpy(h[n].name, "x-amz-security-token");
		h[n].value = token;
		h[n].idx = n;
		n++;
	}
	if (flags & SIGV4_SIGN_BODY) {
		strcpy(h[n].name, "x-amz-content-sha256");
		h[n].value = payload_hash;
		h[n].idx = n;
		n++;
	}
	qsort(h, (size_t)n, sizeof *h, hdr_cmp);
	*out = h;
	*nout = n;
	return 0;
fail:
	free(h);
	return -1;
}

static int valid_date(const char *d)
{
	if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
		return 0;
	for (int i = 0; i < 15; i++)
		if (i != 8 && (d[i] < '0' || d[i] > '9'))
			return 0;
	return 1;
}

/* A scope part (region, service): non-empty, letters, digits, '-', '_', '.'. */
static int valid_scope_part(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (!is_unreserved((unsigned char)*s) || *s == '~')
			return 0;
	return 1;
}

/* A credential field: NUL-terminated within its array, no control characters or spaces; non-empty if REQUIRED. */
static int valid_field(const char *s, size_t size, int required)
{
	const char *end = memchr(s, '\0', size);
	if (!end || (required && end == s))
		return 0;
	for (; s < end; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

/* Whether the arguments of sigv4_sign can make a signature; -1 with ERR naming what is wrong. */
static int check_sign_args(const struct sigv4_creds *c, const char *region, const char *service, const char *amz_date,
			   const struct sigv4_request *req, char *err, size_t errlen)
{
	if (!c || !valid_field(c->access_key, sizeof c->access_key, 1) ||
	    !valid_field(c->secret_key, sizeof c->secret_key, 1) ||
	    !valid_field(c->session_token, sizeof c->session_token, 0)) {
		snprintf(err, errlen,
			 "AWS credentials missing or malformed (empty, over-long or with control characters)");
		return -1;
	}
	if (!valid_scope_part(region) || !valid_scope_part(service)) {
		snprintf(err, errlen, "invalid region or service for SigV4: expected letters, digits, '-', '_' or '.'");
		return -1;
	}
	if (!valid_date(amz_date)) {
		snprintf(err, errlen, "invalid X-Amz-Date \"%.20s\": expected YYYYMMDDTHHMMSSZ",
			 amz_date ? amz_date : "");
		return -1;
	}
	if (!req || !req->method || !*req->method || strpbrk(req->method, " \t\r\n") || !req->path ||
	    (req->body_len && !req->body)) {
		snprintf(err, errlen, "incomplete request to sign (method, path or body missing)");
		return -1;
	}
	return 0;
}

/*
 * The canonical request of REQ with its sorted headers H[0..NH) into *OUT
 * (malloc'd); *SIGNED_AT is where its signed-headers line starts. -1 with ERR.
 */
static int canonical_request(const struct sigv4_request *req, unsigned flags, const struct hdr *h, int nh,
			     const char *payload_hash, char **out, size_t *signed_at, char *err, size_t errlen)
{
	struct strbuf b = STRBUF_INIT;

	strbuf_puts(&b, req->method);
	strbuf_putc(&b, '\n');
	if (canonical_uri(&b, req->path, flags & SIGV4_NORMALIZE_PATH, err, errlen) < 0) {
		strbuf_free(&b);
		return -1;
	}
	strbuf_putc(&b, '\n');
	canonical_query(&b, req->query);
	strbuf_putc(&b, '\n');
	for (int i = 0; i < nh; i++) {
		if (i && !strcmp(h[i].name, h[i - 1].name)) {
			strbuf_putc(&b, ',');
		} else {
			if (i)
				strbuf_putc(&b, '\n');
			strbuf_puts(&b, h[i].name);
			strbuf_putc(&b, ':');
		}
		put_header_value(&b, h[i].value);
	}
	strbuf_puts(&b, "\n\n");
	*signed_at = b.len;
	for (int i = 0; i < nh; i++) {
		if (i && !strcmp(h[i].name, h[i - 1].name))
			continue;
		if (i)
			strbuf_putc(&b, ';');
		strbuf_puts(&b, h[i].name);
	}
	strbuf_putc(&b, '\n');
	strbuf_puts(&b, payload_hash);
	if (!(*out = strbuf_take(&b))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* The credential scope DATE/REGION/SERVICE/aws4_request. */
static void put_scope(struct strbuf *b, const char *date, const char *region, const char *service)
{
	strbuf_puts(b, date);
	strbuf_putc(b, '/');
	strbuf_puts(b, region);
	strbuf_putc(b, '/');
	strbuf_puts(b, service);
	strbuf_puts(b, "/aws4_request");
}

/* The string to sign for CANONICAL at AMZ_DATE in the scope DATE/REGION/SERVICE into *OUT (malloc'd). -1 with ERR. */
static int string_to_sign(const char *canonical, const char *amz_date, const char *date, const char *region,
			  const char *service, char **out, char *err, size_t errlen)
{
	struct strbuf s = STRBUF_INIT;
	char hash[65];

	if (sha256_hex(canonical, strlen(canonical), hash) < 0) {
		snprintf(err, errlen, "SHA-256 failed (OpenSSL)");
		return -1;
	}
	strbuf_puts(&s, "AWS4-HMAC-SHA256\n");
	strbuf_puts(&s, amz_date);
	strbuf_putc(&s, '\n');
	put_scope(&s, date, region, service);
	strbuf_putc(&s, '\n');
	strbuf_puts(&s, hash);
	if (!(*out = strbuf_take(&s))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* The Authorization header's value (malloc'd; NULL: out of memory): credential scope, SIGNED headers, signature. */
static char *authorization(const char *access_key, const char *date, const char *region, const char *service,
			   const char *signed_headers, size_t signed_len, const char *signature)
{
	struct strbuf b = STRBUF_INIT;

	strbuf_puts(&b, "AWS4-HMAC-SHA256 Credential=");
	strbuf_puts(&b, access_key);
	strbuf_putc(&b, '/');
	put_scope(&b, date, region, service);
	strbuf_puts(&b, ", SignedHeaders=");
	strbuf_putn(&b, signed_headers, signed_len);
	strbuf_puts(&b, ", Signature=");
	strbuf_puts(&b, signature);
	return strbuf_take(&b);
}

/* The headers the caller adds to the request: X-Amz-Date, the payload hash, the token, Authorization. */
static void list_added_headers(struct sigv4_out *out, unsigned flags)
{
	out->add[out->nadd++] = (struct sigv4_header){"X-Amz-Date", out->amz_date};
	if (flags & SIGV4_SIGN_BODY)
		out->add[out->nadd++] = (struct sigv4_header){"x-amz-content-sha256", out->payload_hash};
	if (out->token)
		out->add[out->nadd++] = (struct sigv4_header){"X-Amz-Security-Token", out->token};
	out->add[out->nadd++] = (struct sigv4_header){"Authorization", out->authorization};
}

int sigv4_sign(const struct sigv4_creds *c, const char *region, const char *service, const char *amz_date,
	       const struct sigv4_request *req, unsigned flags, struct sigv4_out *out, char *err, size_t errlen)
{
	struct hdr *h = NULL;
	int nh = 0;
	size_t signed_at;
	char date[9];
	const char *token = NULL, *signed_headers;

	memset(out, 0, sizeof *out);
	if (check_sign_args(c, region, service, amz_date, req, err, errlen) < 0)
		return -1;
	memcpy(out->amz_date, amz_date, 17);
	memcpy(date, amz_date, 8);
	date[8] = '\0';
	if (c->session_token[0])
		token = c->session_token;
	if (sha256_hex(req->body, req->body_len, out->payload_hash) < 0) {
		snprintf(err, errlen, "SHA-256 failed (OpenSSL)");
		return -1;
	}
	if (collect_headers(req, out->amz_date, token, out->payload_hash, flags, &h, &nh, err, errlen) < 0)
		return -1;
	if (canonical_request(req, flags, h, nh, out->payload_hash, &out->canonical_request, &signed_at, err, errlen) <
	    0)
		goto fail;
	if (string_to_sign(out->canonical_request, amz_date, date, region, service, &out->string_to_sign, err, errlen) <
	    0)
		goto fail;
	if (sign_sts(c->secret_key, date, region, service, out->string_to_sign, out->signature) < 0) {
		snprintf(err, errlen, "HMAC-SHA256 failed (OpenSSL)");
		goto fail;
	}
	signed_headers = out->canonical_request + signed_at;
	if (!(out->authorization = authorization(c->access_key, date, region, service, signed_headers,
						 strcspn(signed_headers, "\n"), out->signature)) ||
	    (token && !(out->token = strdup(token)))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	list_added_headers(out, flags);
	free(h);
	return 0;
fail:
	free(h);
	sigv4_out_free(out);
	return -1;
}

void sigv4_out_free(struct sigv4_out *out)
{
	if (!out)
		return;
	free(out->canonical_request);
	free(out->string_to_sign);
	free(out->authorization);
	if (out->token) {
		OPENSSL_cleanse(out->token, strlen(out->token));
		free(out->token);
	}
	memset(out, 0, sizeof *out);
}
