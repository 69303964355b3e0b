/*
 * The growable string (see strbuf.h): capacity doubles from 256 bytes; a
 * failed allocation, or a length that cannot be allocated, marks the buffer
 * out of memory for good.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdw/strbuf.h"

enum { STRBUF_FIRST_CAP = 256 };

static void *(*strbuf_realloc)(void *, size_t) = realloc;

void strbuf_set_realloc(void *(*fn)(void *p, size_t n))
{
	strbuf_realloc = fn ? fn : realloc;
}

/* Make room for N more bytes and the NUL. 0, or -1 with B marked out of memory. */
static int strbuf_grow(struct strbuf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return -1;
	if (n > SIZE_MAX - b->len - 1)
		goto oom;
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : STRBUF_FIRST_CAP;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (!(p = strbuf_realloc(b->p, cap)))
		goto oom;
	b->p = p;
	b->cap = cap;
	return 0;
oom:
	b->oom = 1;
	return -1;
}

int strbuf_putn(struct strbuf *b, const void *s, size_t n)
{
	if (strbuf_grow(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int strbuf_puts(struct strbuf *b, const char *s)
{
	return strbuf_putn(b, s, strlen(s));
}

int strbuf_putc(struct strbuf *b, char c)
{
	return strbuf_putn(b, &c, 1);
}

int strbuf_vprintf(struct strbuf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	if (b->oom)
		return -1;
	/* format into the room left; when it does not fit, grow to the size vsnprintf said and format again */
	va_copy(again, ap);
	n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
	if (n >= 0 && (!b->p || (size_t)n >= b->cap - b->len)) {
		if (strbuf_grow(b, (size_t)n) < 0) {
			va_end(again);
			return -1;
		}
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, again);
	}
	va_end(again);
	if (n < 0) {
		b->oom = 1; /* an encoding error: the string is incomplete all the same */
		return -1;
	}
	b->len += (size_t)n;
	return 0;
}

int strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = strbuf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

char *strbuf_take(struct strbuf *b)
{
	char *p;

	if (!b->p && !b->oom)
		strbuf_putn(b, "", 0);
	if (b->oom) {
		strbuf_free(b);
		return NULL;
	}
	p = b->p;
	*b = (struct strbuf)STRBUF_INIT;
	return p;
}

void strbuf_free(struct strbuf *b)
{
	free(b->p);
	*b = (struct strbuf)STRBUF_INIT;
}
