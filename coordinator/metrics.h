/*
 * Prometheus metrics of the coordinator: rendered from the ledger and Redis
 * once per loop pass (metrics_update), served from that snapshot on /metrics
 * by the HTTP server of web.h (off unless --metrics-addr is set).
 */
#ifndef MDW_METRICS_H
#define MDW_METRICS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "mdw/rds.h"

/* Re-render the snapshot for RUN. R may be NULL (Redis down). */
void metrics_update(PGconn *tgt, struct rds *r, int64_t run);

/* Render the metrics text of RUN (caller frees). NULL on error with ERR. */
char *metrics_render(PGconn *tgt, struct rds *r, int64_t run, char *err, size_t errlen);

/* A copy of the last snapshot (caller frees), NULL before the first. */
char *metrics_snapshot(void);

/* Drop the snapshot. */
void metrics_stop(void);

#endif
