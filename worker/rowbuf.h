/*
 * A growing buffer of rows in COPY text format (tab-separated, \N for NULL,
 * backslash escapes), fed to PQputCopyData in one go. Values are escaped
 * here, so any byte sequence arrives unchanged; nothing is spliced into SQL.
 */
#ifndef MDW_ROWBUF_H
#define MDW_ROWBUF_H

#include <stddef.h>

struct rowbuf {
	char *p;
	size_t len, cap;
	int nfields; /* fields in the current row */
	int oom;     /* set once an allocation failed; the buffer is then unusable */
};

void rb_init(struct rowbuf *b);
void rb_free(struct rowbuf *b);
/* Forget the content, keep the memory. */
void rb_reset(struct rowbuf *b);

/* Append a text field (NULL pointer: SQL NULL). */
void rb_str(struct rowbuf *b, const char *s);
/* Append LEN bytes of S as a text field. */
void rb_strn(struct rowbuf *b, const char *s, size_t len);
void rb_null(struct rowbuf *b);
void rb_int(struct rowbuf *b, long long v);
void rb_bool(struct rowbuf *b, int v);
/* End the current row. */
void rb_end(struct rowbuf *b);

/* Append LEN raw bytes of P, unescaped and without a separator (COPY binary format: copy_binary.h). */
void rb_bytes(struct rowbuf *b, const void *p, size_t len);

#endif
