/* mdw-worker: pops chunks and migrates them (see worker.h). */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "mdw/log.h"
#include "mdw/pgx.h"
#include "worker.h"

int main(int argc, char **argv)
{
	struct worker w;
	char err[512];
	int rc;

	signal(SIGPIPE, SIG_IGN); /* a peer gone (Redis, the provider) is an error to handle, not a death */
	memset(&w, 0, sizeof w);
	if (mdw_config_load(&w.cfg, MDW_PROG_WORKER, argc, argv, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "mdw-worker: %s\n", err);
		return 2;
	}
	if (w.cfg.help) {
		mdw_config_usage(MDW_PROG_WORKER, "mdw-worker", "[options]");
		mdw_config_free(&w.cfg);
		return 0;
	}
	mdw_log_init("worker", w.cfg.log_level, w.cfg.log_format);
	pgx_set_dead_peer((int)w.cfg.pg_dead_peer_s);
	if (worker_init(&w, err, sizeof err) < 0) {
		fprintf(stderr, "mdw-worker: %s\n", err);
		worker_free(&w);
		return 2;
	}
	rc = worker_run(&w);
	worker_free(&w);
	return rc;
}
