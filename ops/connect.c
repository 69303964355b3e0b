/* Connections and run lookup shared by the operations (connect.h). */
#define _GNU_SOURCE /* program_invocation_short_name */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "connect.h"
#include "mdw/ledger.h"
#include "mdw/pgx.h"

PGconn *ops_target(struct mdw_config *cfg)
{
	char err[512];
	PGconn *c = pgx_connect(cfg->target_dsn, "mdwctl", err, sizeof err);
	if (!c)
		fprintf(stderr, "%s: cannot connect to the target database (MDW_TARGET_DSN): %s\n",
			program_invocation_short_name, err);
	return c;
}

int64_t ops_current_run(PGconn *tgt, long long want)
{
	char err[512];
	int64_t run = 0;

	if (ledger_run_find(tgt, want, &run, err, sizeof err) < 0) {
		fprintf(stderr, "%s: cannot read mdw.runs: %s (hint: has a coordinator run here yet?)\n",
			program_invocation_short_name, err);
		return 0;
	}
	if (!run && want > 0)
		fprintf(stderr, "%s: no run %lld in the target database\n", program_invocation_short_name, want);
	else if (!run)
		fprintf(stderr, "%s: no run yet in the target database\n", program_invocation_short_name);
	return run;
}

int ops_redis(struct mdw_config *cfg, struct rds *r)
{
	char err[512];
	if (rds_parse_url(r, cfg->redis_url, err, sizeof err) < 0) {
		fprintf(stderr, "%s: %s\n", program_invocation_short_name, err);
		return -1;
	}
	if (rds_connect(r) < 0) {
		fprintf(stderr, "%s: %s\n", program_invocation_short_name, r->errstr);
		return -1;
	}
	return 0;
}
