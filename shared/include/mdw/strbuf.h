/*
 * A growable NUL-terminated string, built by appending (SigV4's canonical
 * strings, the steps' compact JSON, the fake's answers, the metrics page).
 *
 * A failed allocation is sticky: the buffer keeps what it held, every later
 * append does nothing and returns -1, and strbuf_take gives NULL; so a
 * caller appends the whole string and checks once, at the end:
 *
 *   struct strbuf b = STRBUF_INIT;
 *   strbuf_puts(&b, "rows=");
 *   strbuf_printf(&b, "%d", n);
 *   char *s = strbuf_take(&b);      // the caller frees s; NULL: out of memory
 *
 * The fields may be read (p is NULL until the first append, else
 * NUL-terminated at len); oom may be set by a caller whose own step for the
 * string failed (e.g. a serializer out of memory).
 */
#ifndef MDW_STRBUF_H
#define MDW_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *p;    /* the string (NULL until the first append) */
	size_t len; /* its length, without the NUL */
	size_t cap; /* bytes allocated at p */
	int oom;    /* an allocation failed: the string is incomplete */
};

#define STRBUF_INIT                                                                                                    \
	{                                                                                                              \
		NULL, 0, 0, 0                                                                                          \
	}

/* Append the N bytes at S (any bytes, NUL included). 0, or -1 once out of memory. */
int strbuf_putn(struct strbuf *b, const void *s, size_t n);

/* Append the string S. 0 or -1, as strbuf_putn. */
int strbuf_puts(struct strbuf *b, const char *s);

/* Append the byte C. 0 or -1, as strbuf_putn. */
int strbuf_putc(struct strbuf *b, char c);

/* Append FMT formatted as printf does. 0 or -1 (out of memory, or an encoding error of vsnprintf). */
int strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int strbuf_vprintf(struct strbuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/*
 * Hand over the string: the caller frees it ("" when nothing was appended).
 * NULL when out of memory (the buffer's memory is freed then). B is empty
 * again either way, ready for reuse.
 */
char *strbuf_take(struct strbuf *b);

/* Free B's memory and empty it (a zeroed or already freed B is fine). */
void strbuf_free(struct strbuf *b);

/* For tests: the allocator every strbuf grows with (realloc's contract; NULL: realloc itself). */
void strbuf_set_realloc(void *(*fn)(void *p, size_t n));

#endif
