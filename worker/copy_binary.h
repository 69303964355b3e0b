/*
 * Rows in COPY binary format (PostgreSQL's "COPY ... FROM STDIN (FORMAT
 * binary)"), built in a rowbuf and sent with chunk_copy_in: the signature
 * and header, then per row its field count and each field as a length and
 * the value in the type's binary (network byte order) form, then the
 * trailer. For the embeddings' vectors: 1,024 floats as 4 bytes each, not
 * formatted as text and parsed again by the server.
 */
#ifndef MDW_COPY_BINARY_H
#define MDW_COPY_BINARY_H

#include <stdint.h>

#include "rowbuf.h"

/* Start B: the signature, no flags, no header extension. */
void cb_begin(struct rowbuf *b);
/* Start a row of NFIELDS fields. */
void cb_row(struct rowbuf *b, int nfields);
/* A text field: the string's bytes (NULL: SQL NULL). */
void cb_text(struct rowbuf *b, const char *s);
/* An integer field (int4). */
void cb_int4(struct rowbuf *b, int32_t v);
/* A real[] field of N elements, one dimension, lower bound 1, no NULL element. */
void cb_float4_array(struct rowbuf *b, const float *v, int n);
/* End B: the trailer. */
void cb_end(struct rowbuf *b);

#endif
