/*
 * The status of a run as one JSON document: what `mdwctl status --json`
 * prints and the dashboard's /api/status serves (one function for both).
 * Ids, codes and counts only: never a name, an email or a source value.
 */
#ifndef MDW_STATUS_JSON_H
#define MDW_STATUS_JSON_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "mdw/phase.h"
#include "mdw/rds.h"

struct qinfo {
	long long length, pending;
};

/* What the document shows beyond the ledger and Redis. */
struct status_opts {
	long long rate_rpm;      /* the configured embedding quota (requests per minute) */
	const char *report_path; /* the progress report */
};

/* Queue depth and pending entries per phase of RUN; -1 when Redis is unreachable. */
int status_load_queues(struct rds *r, int64_t run, struct qinfo *q);

/*
 * The status document of RUN (R NULL or unreachable: queues and workers
 * unknown). NULL with ERR when the ledger cannot be read. Caller decrefs.
 */
json_t *status_json(PGconn *tgt, struct rds *r, int64_t run, const struct status_opts *o, char *err, size_t errlen);

#endif
