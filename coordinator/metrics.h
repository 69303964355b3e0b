/*
 * Prometheus metrics of the coordinator: rendered from the ledger and Redis
 * once per loop pass (metrics_update), served from that snapshot by a
 * libmicrohttpd thread on /metrics (off unless --metrics-addr is set; binds
 * loopback unless an address is given; optional bearer token).
 */
#ifndef MDW_METRICS_H
#define MDW_METRICS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "mdw/rds.h"

/* Start serving on ADDR ("[host]:port"); TOKEN "" for none. -1 with ERR. */
__attribute__((warn_unused_result)) int metrics_start(const char *addr, const char *token, char *err, size_t errlen);

/* Re-render the snapshot for RUN. R may be NULL (Redis down). */
void metrics_update(PGconn *tgt, struct rds *r, int64_t run);

/* Render the metrics text of RUN (caller frees). NULL on error with ERR. */
char *metrics_render(PGconn *tgt, struct rds *r, int64_t run, char *err, size_t errlen);

void metrics_stop(void);

#endif
