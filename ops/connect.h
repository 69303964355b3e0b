/*
 * The connections and run lookup that the operations share (mdwctl's
 * commands, and the coordinator's dashboard): each prints what failed, on
 * stderr, under the program's name.
 */
#ifndef MDW_OPS_CONNECT_H
#define MDW_OPS_CONNECT_H

#include <libpq-fe.h>
#include <stdint.h>

#include "mdw/config.h"
#include "mdw/rds.h"

/* Connect to the target (printing the error). NULL on failure. */
PGconn *ops_target(struct mdw_config *cfg);

/* Run WANT if > 0 (and it exists), else the latest run; 0 with a message on stderr. */
int64_t ops_current_run(PGconn *tgt, long long want);

/* Connect to Redis (printing the error). -1 on failure. */
int ops_redis(struct mdw_config *cfg, struct rds *r);

#endif
