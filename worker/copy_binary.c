/* COPY binary format rows (see copy_binary.h). */
#include <arpa/inet.h>
#include <string.h>

#include "copy_binary.h"

#define FLOAT4_OID 700 /* pg_type.oid of float4: the element type a real[] field names */

static void put32(struct rowbuf *b, uint32_t v)
{
	uint32_t n = htonl(v);

	rb_bytes(b, &n, 4);
}

static void put16(struct rowbuf *b, uint16_t v)
{
	uint16_t n = htons(v);

	rb_bytes(b, &n, 2);
}

void cb_begin(struct rowbuf *b)
{
	static const char sig[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};

	rb_bytes(b, sig, sizeof sig);
	put32(b, 0); /* flags: no OIDs */
	put32(b, 0); /* header extension length */
}

void cb_row(struct rowbuf *b, int nfields)
{
	put16(b, (uint16_t)nfields);
}

void cb_text(struct rowbuf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	put32(b, s ? (uint32_t)n : 0xFFFFFFFFu); /* -1: NULL */
	if (s)
		rb_bytes(b, s, n);
}

void cb_int4(struct rowbuf *b, int32_t v)
{
	put32(b, 4);
	put32(b, (uint32_t)v);
}

void cb_float4_array(struct rowbuf *b, const float *v, int n)
{
	put32(b, (uint32_t)(20 + 8 * n)); /* the field: 5 header words, then each element's length and value */
	put32(b, 1);                      /* dimensions */
	put32(b, 0);                      /* no NULL element */
	put32(b, FLOAT4_OID);
	put32(b, (uint32_t)n); /* the dimension's length */
	put32(b, 1);           /* and its lower bound */
	for (int i = 0; i < n; i++) {
		uint32_t bits;
		memcpy(&bits, &v[i], 4);
		put32(b, 4);
		put32(b, bits);
	}
}

void cb_end(struct rowbuf *b)
{
	put16(b, 0xFFFFu); /* -1: no more rows */
}
