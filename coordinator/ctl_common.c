/* Connections and run lookup shared by mdwctl's commands. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"
#include "mdw/pgx.h"
#include "plan.h"

PGconn *ctl_target(struct mdw_config *cfg)
{
	char err[512];
	PGconn *c = pgx_connect(cfg->target_dsn, "mdwctl", err, sizeof err);
	if (!c)
		fprintf(stderr, "mdwctl: cannot connect to the target database (MDW_TARGET_DSN): %s\n", err);
	return c;
}

int64_t ctl_current_run(PGconn *tgt, long long want)
{
	char err[512], w[24];
	const char *p[1] = {w};
	PGresult *r;
	int64_t run = 0;

	snprintf(w, sizeof w, "%lld", want);
	r = pgx_query(tgt, "SELECT max(id) FROM mdw.runs WHERE $1::bigint <= 0 OR id = $1::bigint", 1, p, err, sizeof err,
		      NULL);
	if (!r) {
		fprintf(stderr, "mdwctl: cannot read mdw.runs: %s (hint: has a coordinator run here yet?)\n", err);
		return 0;
	}
	if (!PQgetisnull(r, 0, 0))
		run = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else if (want > 0)
		fprintf(stderr, "mdwctl: no run %lld in the target database\n", want);
	else
		fprintf(stderr, "mdwctl: no run yet in the target database\n");
	PQclear(r);
	return run;
}

int ctl_redis(struct mdw_config *cfg, struct rds *r)
{
	char err[512];
	if (rds_parse_url(r, cfg->redis_url, err, sizeof err) < 0) {
		fprintf(stderr, "mdwctl: %s\n", err);
		return -1;
	}
	if (rds_connect(r) < 0) {
		fprintf(stderr, "mdwctl: %s\n", r->errstr);
		return -1;
	}
	return 0;
}

int ctl_plan(struct mdw_config *cfg, int argc, char **argv)
{
	(void)argv;
	if (argc > 0) {
		fprintf(stderr, "mdwctl plan: unexpected argument \"%s\"\n", argv[0]);
		return 2;
	}
	return plan_print(cfg);
}
