/*
 * A chunk's reads of the legacy database under the fleet-wide source guard
 * (mdw/source_guard.h). A relational chunk reads its range through a cursor
 * inside one source transaction (chunk.c): it takes a read slot
 * (MDW_SOURCE_MAX_CONNECTIONS) before that transaction begins and gives it
 * back once it ended, renewing it at each fetch; each fetch first takes its
 * rows from the fleet's row rate (MDW_SOURCE_ROWS_PER_S). Waits keep the
 * lease of the chunk in hand fresh. 0 for either setting = no limit, no
 * Redis call.
 */
#ifndef MDW_SOURCE_READ_H
#define MDW_SOURCE_READ_H

#include <libpq-fe.h>

#include "chunk_ctx.h"

/*
 * Take (or renew) this worker's read slot, waiting for one. 0, or -1 with
 * ERR and *TRANSIENT set (a Redis error is transient: the chunk is retried).
 */
__attribute__((warn_unused_result)) int source_slot_take(struct chunk_ctx *ctx, char *err, size_t errlen,
							 int *transient);

/* Give the slot back (a failure is logged: the slot's lease frees it). */
void source_slot_give(struct chunk_ctx *ctx);

/*
 * Run SQL (N text parameters P) on ctx->src under the row rate, EST the rows
 * it is expected to read. The result (caller PQclears), or NULL with ERR and
 * *TRANSIENT.
 */
PGresult *source_read(struct chunk_ctx *ctx, const char *sql, int n, const char *const *p, long long est, char *err,
		      size_t errlen, int *transient);

#endif
