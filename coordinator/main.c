/* mdw-coordinator: plans, queues, watches and validates a migration run (see coord.h). */
#include <stdio.h>
#include <string.h>

#include "coord.h"
#include "mdw/log.h"
#include "mdw/pgx.h"
#include "plan.h"
#include "web.h"

int main(int argc, char **argv)
{
	struct coord c;
	char err[512];
	int rc;

	memset(&c, 0, sizeof c);
	if (mdw_config_load(&c.cfg, MDW_PROG_COORD, argc, argv, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "mdw-coordinator: %s\n", err);
		return 2;
	}
	if (c.cfg.help) {
		mdw_config_usage(MDW_PROG_COORD, "mdw-coordinator", "[options]");
		mdw_config_free(&c.cfg);
		return 0;
	}
	if (c.cfg.catch_up && c.cfg.redrive) {
		fprintf(stderr, "mdw-coordinator: --catch-up and --redrive exclude each other\n");
		mdw_config_free(&c.cfg);
		return 2;
	}
	if (c.cfg.run_id && !c.cfg.dashboard) {
		fprintf(stderr,
			"mdw-coordinator: --run %lld applies to --dashboard only (a migration run is the newest "
			"unfinished run, or a new one)\n",
			c.cfg.run_id);
		mdw_config_free(&c.cfg);
		return 2;
	}
	mdw_log_init("coordinator", c.cfg.log_level, c.cfg.log_format);
	pgx_set_dead_peer((int)c.cfg.pg_dead_peer_s);
	rc = c.cfg.plan ? plan_print(&c.cfg) : c.cfg.dashboard ? web_serve_alone(&c.cfg) : coord_main(&c);
	if (c.src)
		PQfinish(c.src);
	if (c.tgt)
		PQfinish(c.tgt);
	rds_close(&c.r);
	mdw_config_free(&c.cfg);
	return rc;
}
