/* mdwctl rollback and backups: undoing a phase, and the dumps taken before each phase wrote. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "lock.h"
#include "mdw/pgx.h"
#include "rollback.h"

int ctl_rollback(struct mdw_config *cfg, int argc, char **argv)
{
	struct lock_keeper *keeper = NULL;
	const struct mdw_phase *ph = mdw_phase_find(cfg->phase);
	struct rollback_opts o = {cfg->run_id, cfg->cascade, cfg->dry_run};
	struct rds r = {0};
	PGconn *c = NULL;
	char err[1024], token[160], holder[256], host[128] = "mdwctl";
	int locked = 0, rc = 1, rb;

	if (argc > 0 || !ph) {
		unsigned mask;
		if (argc > 0)
			snprintf(err, sizeof err, "unexpected argument \"%s\"", argv[0]);
		else if (!cfg->phase[0])
			snprintf(err, sizeof err, "--phase is required");
		else if (mdw_phase_parse_list(cfg->phase, &mask, err, sizeof err) == 0)
			snprintf(err, sizeof err, "--phase takes one phase");
		fprintf(stderr,
			"mdwctl rollback: %s\nusage: mdwctl rollback --phase P [--run R] [--cascade] [--dry-run]\n",
			err);
		return 2;
	}
	if (!(c = ops_target(cfg)))
		return 1;
	if (mdw_schema_apply(c, err, sizeof err) < 0) {
		fprintf(stderr, "mdwctl rollback: %s\n", err);
		goto out;
	}
	if (!o.dry_run) {
		/* no coordinator may plan or validate while the rows go: hold its lock meanwhile */
		gethostname(host, sizeof host - 1);
		/* host:pid like a coordinator's, so that a coordinator replaces it if mdwctl dies */
		snprintf(token, sizeof token, "%s:%d", host, (int)getpid());
		if (ops_redis(cfg, &r) < 0)
			goto out;
		switch (lock_acquire(&r, token, holder, sizeof holder)) {
		case 0:
			locked = 1;
			break;
		case 1:
			fprintf(stderr,
				"mdwctl rollback: a coordinator is running (%s): stop it first, or wait for its run to "
				"end\n",
				holder);
			goto out;
		default:
			fprintf(stderr, "mdwctl rollback: cannot take the coordinator lock: %s\n", r.errstr);
			goto out;
		}
	}
	/* the lock outlives a long rollback */
	if (locked && !(keeper = lock_keeper_start(&r, token, err, sizeof err))) {
		fprintf(stderr, "mdwctl rollback: cannot keep the coordinator lock: %s\n", err);
		goto out;
	}
	rb = rollback_phase(c, ph->id, &o, stdout, err, sizeof err);
	if (rb == RB_DONE)
		rc = 0;
	else
		fprintf(stderr, "mdwctl rollback: %s\n", err);
out:
	lock_keeper_stop(keeper);
	if (locked)
		lock_release(&r, token);
	rds_close(&r);
	PQfinish(c);
	return rc;
}

int ctl_backups(struct mdw_config *cfg, int argc, char **argv)
{
	PGconn *c;
	PGresult *res;
	char run[24], err[512];
	const char *p[2] = {run, cfg->phase};

	(void)argc, (void)argv;
	if (!(c = ops_target(cfg)))
		return 1;
	if (mdw_schema_apply(c, err, sizeof err) < 0) {
		fprintf(stderr, "mdwctl backups: %s\n", err);
		PQfinish(c);
		return 1;
	}
	snprintf(run, sizeof run, "%lld", cfg->run_id);
	res = pgx_query(c,
			"SELECT run_id, phase, bytes, to_char(created_at, 'YYYY-MM-DD HH24:MI:SS'), path, "
			"array_to_string(tables, ',') FROM mdw.backups WHERE ($1::bigint = 0 OR run_id = $1::bigint) "
			"AND ($2 = '' OR phase = $2) ORDER BY run_id, path",
			2, p, err, sizeof err, NULL);
	if (!res) {
		fprintf(stderr, "mdwctl backups: %s\n", err);
		PQfinish(c);
		return 1;
	}
	printf("%-5s %-19s %12s %-19s %s\n", "run", "phase", "bytes", "taken", "path (tables)");
	for (int i = 0; i < PQntuples(res); i++) {
		struct stat st;
		const char *path = PQgetvalue(res, i, 4);
		printf("%-5s %-19s %12s %-19s %s (%s)%s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		       PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), path, PQgetvalue(res, i, 5),
		       stat(path, &st) == 0 ? "" : " (not on this host)");
	}
	printf("%d backups. Restore one into an empty database: pg_restore --no-owner -d DBNAME PATH "
	       "(see docs/operations.md)\n",
	       PQntuples(res));
	PQclear(res);
	PQfinish(c);
	return 0;
}
