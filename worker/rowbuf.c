/* COPY text-format row buffer (see rowbuf.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rowbuf.h"

void rb_init(struct rowbuf *b)
{
	memset(b, 0, sizeof *b);
}

void rb_free(struct rowbuf *b)
{
	free(b->p);
	rb_init(b);
}

void rb_reset(struct rowbuf *b)
{
	b->len = 0;
	b->nfields = 0;
}

static int grow(struct rowbuf *b, size_t need)
{
	size_t cap;
	char *np;

	if (b->oom)
		return -1;
	if (b->len + need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 65536;
	while (cap < b->len + need)
		cap *= 2;
	np = realloc(b->p, cap);
	if (!np) {
		b->oom = 1;
		return -1;
	}
	b->p = np;
	b->cap = cap;
	return 0;
}

void rb_bytes(struct rowbuf *b, const void *p, size_t len)
{
	if (grow(b, len) < 0)
		return;
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

static void sep(struct rowbuf *b)
{
	if (b->nfields++ > 0 && grow(b, 1) == 0)
		b->p[b->len++] = '\t';
}

void rb_strn(struct rowbuf *b, const char *s, size_t len)
{
	sep(b);
	if (grow(b, len * 2) < 0)
		return;
	for (size_t i = 0; i < len; i++) {
		char c = s[i], e = 0;
		switch (c) {
		case '\\':
			e = '\\';
			break;
		case '\t':
			e = 't';
			break;
		case '\n':
			e = 'n';
			break;
		case '\r':
			e = 'r';
			break;
		case '\b':
			e = 'b';
			break;
		case '\f':
			e = 'f';
			break;
		case '\v':
			e = 'v';
			break;
		}
		if (e) {
			b->p[b->len++] = '\\';
			b->p[b->len++] = e;
		} else {
			b->p[b->len++] = c;
		}
	}
}

void rb_str(struct rowbuf *b, const char *s)
{
	if (!s)
		rb_null(b);
	else
		rb_strn(b, s, strlen(s));
}

void rb_null(struct rowbuf *b)
{
	sep(b);
	if (grow(b, 2) == 0) {
		b->p[b->len++] = '\\';
		b->p[b->len++] = 'N';
	}
}

void rb_int(struct rowbuf *b, long long v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%lld", v);
	rb_strn(b, tmp, (size_t)n);
}

void rb_bool(struct rowbuf *b, int v)
{
	rb_strn(b, v ? "t" : "f", 1);
}

void rb_end(struct rowbuf *b)
{
	if (grow(b, 1) == 0)
		b->p[b->len++] = '\n';
	b->nfields = 0;
}
