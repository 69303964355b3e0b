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

/* Connect to the target (printing the error). NULL on failure. */
PGconn *ctl_target(struct mdw_config *cfg);

/* Run WANT if > 0 (and it exists), else the latest run; 0 with a message on stderr. */
int64_t ctl_current_run(PGconn *tgt, long long want);

/* Connect to Redis (printing the error). -1 on failure. */
int ctl_redis(struct mdw_config *cfg, struct rds *r);

#endif
