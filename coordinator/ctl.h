/* mdwctl's commands: each takes the loaded config and its positional arguments, returns the exit code. */
#ifndef MDW_CTL_H
#define MDW_CTL_H

#include <libpq-fe.h>
#include <stdint.h>

#include "mdw/config.h"
#include "mdw/rds.h"

struct ctl_command {
	const char *name;
	int (*fn)(struct mdw_config *cfg, int argc, char **argv);
	const char *help;
};

int ctl_legacy_demo(struct mdw_config *cfg, int argc, char **argv);
int ctl_plan(struct mdw_config *cfg, int argc, char **argv);
int ctl_schema(struct mdw_config *cfg, int argc, char **argv);
int ctl_status(struct mdw_config *cfg, int argc, char **argv);
int ctl_report(struct mdw_config *cfg, int argc, char **argv);
int ctl_validate(struct mdw_config *cfg, int argc, char **argv);
int ctl_queue(struct mdw_config *cfg, int argc, char **argv);
int ctl_dead(struct mdw_config *cfg, int argc, char **argv);
int ctl_retry_dead(struct mdw_config *cfg, int argc, char **argv);
int ctl_rollback(struct mdw_config *cfg, int argc, char **argv);
int ctl_backups(struct mdw_config *cfg, int argc, char **argv);
int ctl_rejects(struct mdw_config *cfg, int argc, char **argv);
int ctl_flags(struct mdw_config *cfg, int argc, char **argv);
int ctl_verify(struct mdw_config *cfg, int argc, char **argv);

/* Connect to the target (printing the error). NULL on failure. */
PGconn *ctl_target(struct mdw_config *cfg);

/* Run WANT if > 0 (and it exists), else the latest run; 0 with a message on stderr. */
int64_t ctl_current_run(PGconn *tgt, long long want);

/* Columns of the ledger's dead chunks: phase, chunk_no, lo, hi, part, attempts, last_error. */
#define DEAD_COLUMNS "phase, chunk_no, lo, hi, coalesce(part, ''), attempts, coalesce(last_error, '')"

struct mdw_chunk;

/* Row I of a DEAD_COLUMNS result as a chunk of RUN. */
void ctl_dead_row_chunk(const PGresult *r, int i, int64_t run, struct mdw_chunk *ch);

/* Field NAME of a dead letter's fields F ("" when absent; its length in *LEN when LEN). */
const char *ctl_dead_field(const redisReply *f, const char *name, size_t *len);

/* Whether the dead letter with fields F mirrors one of the chunks in L (DEAD_COLUMNS) of RUN. */
int ctl_dead_mirrors(const redisReply *f, const PGresult *l, int64_t run);

/*
 * retry-dead of PHASE ("" every phase) of run RUN_ID (0: the newest): the
 * dead chunks set pending in the ledger and re-enqueued. Returns how many,
 * or -1 (printed on stderr); MSG says what was done.
 */
int ctl_dead_retry(struct mdw_config *cfg, const char *phase, long long run_id, char *msg, size_t msglen);

/* mdwctl dashboard: the web page of a run, served without a coordinator (see web.h). */
int ctl_dashboard(struct mdw_config *cfg, int argc, char **argv);

/* Connect to Redis (printing the error). -1 on failure. */
int ctl_redis(struct mdw_config *cfg, struct rds *r);

#endif
