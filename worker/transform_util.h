/* Small helpers shared by the phase transforms: reading legacy columns and cleaning text. */
#ifndef MDW_TRANSFORM_UTIL_H
#define MDW_TRANSFORM_UTIL_H

#include <libpq-fe.h>
#include <stddef.h>

#include "rowbuf.h"

/* Column COL of ROW as text, or NULL when SQL NULL. */
const char *tu_col(const PGresult *r, int row, int col);

/* Column as a boolean (Postgres "t"/"f"); NULL counts as false. */
int tu_bool(const PGresult *r, int row, int col);

/* Column as an integer; -1 if NULL or not an integer, else 0 with *OUT set. */
int tu_int(const PGresult *r, int row, int col, long long *out);

/* Stage S trimmed of surrounding white space; NULL or all-blank stages NULL. */
void tu_stage_trimmed(struct rowbuf *b, const char *s);

/* Stage S trimmed; NULL stages ''. For NOT NULL text columns. */
void tu_stage_trimmed_nonnull(struct rowbuf *b, const char *s);

/* Whether S is NULL or only white space. */
int tu_blank(const char *s);

/*
 * Normalize an email: trim, lower-case ASCII. Returns NULL when acceptable
 * (OUT holds it), else the reject reason: "missing_email" or "invalid_email".
 */
const char *tu_email(const char *in, char *out, size_t outlen);

/* A repair of a dangling reference: stable code and the legacy value (text without quotes or backslashes). */
struct tu_repair {
	const char *code;
	char detail[96];
};

/* Stage the repairs text[] column: one 'code|detail' element per repair (MDW_FLAGS reads it). */
void tu_stage_repairs(struct rowbuf *b, const struct tu_repair *rep, int n);

#endif
