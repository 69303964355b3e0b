/* mdwctl's commands: each takes the loaded config and its positional arguments, returns the exit code. */
#ifndef MDW_CTL_H
#define MDW_CTL_H

#include <libpq-fe.h>
#include <stdint.h>

#include "connect.h"
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

/* mdwctl's own arguments, for the commands that run the coordinator (plan, dashboard). */
void ctl_set_argv(int argc, char **argv);
int ctl_dashboard(struct mdw_config *cfg, int argc, char **argv);

#endif
