/*
 * A chunk's read of the legacy database under the fleet-wide source guard
 * (mdw/source_guard.h): first the row rate (MDW_SOURCE_ROWS_PER_S), then a
 * read slot (MDW_SOURCE_MAX_CONNECTIONS), both waited for with the lease of
 * the chunk in hand kept fresh; the statement; the slot given back and the
 * row estimate corrected. 0 for either setting = no limit, no Redis call.
 */
#ifndef MDW_SOURCE_READ_H
#define MDW_SOURCE_READ_H

#include <libpq-fe.h>

#include "chunk.h"

/*
 * Run SQL (N text parameters P) on ctx->src under the guard, EST the rows it
 * is expected to read. The result (caller PQclears), or NULL with ERR and
 * *TRANSIENT (a Redis error is transient: the chunk is retried).
 */
PGresult *source_read(struct chunk_ctx *ctx, const char *sql, int n, const char *const *p, long long est, char *err,
		      size_t errlen, int *transient);

#endif
