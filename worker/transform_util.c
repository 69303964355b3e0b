/* Helpers shared by the phase transforms (see transform_util.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transform_util.h"

const char *tu_col(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

int tu_bool(const PGresult *r, int row, int col)
{
	const char *v = tu_col(r, row, col);
	return v && v[0] == 't';
}

int tu_int(const PGresult *r, int row, int col, long long *out)
{
	const char *v = tu_col(r, row, col);
	char *end;

	if (!v || !*v)
		return -1;
	errno = 0;
	*out = strtoll(v, &end, 10);
	return errno || *end ? -1 : 0;
}

static void trim_bounds(const char *s, const char **b, size_t *n)
{
	const char *e = s + strlen(s);
	while (*s && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*b = s;
	*n = (size_t)(e - s);
}

int tu_blank(const char *s)
{
	const char *b;
	size_t n;
	if (!s)
		return 1;
	trim_bounds(s, &b, &n);
	return n == 0;
}

void tu_stage_trimmed(struct rowbuf *rb, const char *s)
{
	const char *b;
	size_t n;
	if (!s) {
		rb_null(rb);
		return;
	}
	trim_bounds(s, &b, &n);
	if (n == 0)
		rb_null(rb);
	else
		rb_strn(rb, b, n);
}

void tu_stage_trimmed_nonnull(struct rowbuf *rb, const char *s)
{
	const char *b;
	size_t n;
	if (!s) {
		rb_strn(rb, "", 0);
		return;
	}
	trim_bounds(s, &b, &n);
	rb_strn(rb, b, n);
}

const char *tu_email(const char *in, char *out, size_t outlen)
{
	const char *b, *at = NULL;
	size_t n;

	if (!in)
		return "missing_email";
	trim_bounds(in, &b, &n);
	if (n == 0)
		return "missing_email";
	if (n >= outlen)
		return "invalid_email";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)b[i];
		if (isspace(c) || c < 0x20 || c == 0x7f)
			return "invalid_email";
		if (c == '@') {
			if (at)
				return "invalid_email";
			at = out + i;
		}
		out[i] = (char)tolower(c);
	}
	out[n] = 0;
	/* local@domain.tld: a non-empty local part, a dot inside the domain */
	if (!at || at == out || !at[1] || !strchr(at + 1, '.') || at[1] == '.' || out[n - 1] == '.')
		return "invalid_email";
	return NULL;
}

void tu_stage_repairs(struct rowbuf *b, const struct tu_repair *rep, int n)
{
	char buf[512];
	size_t o = (size_t)snprintf(buf, sizeof buf, "{");

	for (int i = 0; i < n && o < sizeof buf; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s\"%s|%s\"", i ? "," : "", rep[i].code, rep[i].detail);
	if (o < sizeof buf)
		snprintf(buf + o, sizeof buf - o, "}");
	rb_str(b, buf);
}
