/* mdwctl legacy-demo: (re)create the legacy schema and fill it with deterministic demo data. */
#include <stdio.h>
#include <sys/time.h>

#include "ctl.h"
#include "mdw/pgx.h"
#include "mdw/sqlfiles.h"

int ctl_legacy_demo(struct mdw_config *cfg, int argc, char **argv)
{
	char err[512], scale[24], seed[24];
	const char *p[2] = {scale, seed};
	struct timeval t0, t1;
	PGconn *c;
	PGresult *r;
	int rc = 1;

	(void)argv;
	if (argc > 0) {
		fprintf(stderr, "mdwctl legacy-demo: unexpected argument (use --scale N --seed S)\n");
		return 2;
	}
	c = pgx_connect(cfg->source_dsn, "mdwctl", err, sizeof err);
	if (!c) {
		fprintf(stderr, "mdwctl: cannot connect to the legacy database (MDW_SOURCE_DSN): %s\n", err);
		return 1;
	}
	gettimeofday(&t0, NULL);
	snprintf(scale, sizeof scale, "%lld", cfg->scale);
	snprintf(seed, sizeof seed, "%lld", cfg->seed);
	if (pgx_exec(c, "SET client_min_messages = warning", 0, NULL, err, sizeof err, NULL) < 0 ||
	    pgx_exec(c, "SELECT set_config('mdw.scale', $1, false), set_config('mdw.seed', $2, false)", 2, p, err,
		     sizeof err, NULL) < 0 ||
	    pgx_exec(c, mdw_sql_get("legacy/schema.sql"), 0, NULL, err, sizeof err, NULL) < 0 ||
	    pgx_exec(c, mdw_sql_get("legacy/demo.sql"), 0, NULL, err, sizeof err, NULL) < 0 ||
	    (cfg->dirty && pgx_exec(c, mdw_sql_get("legacy/dirty.sql"), 0, NULL, err, sizeof err, NULL) < 0)) {
		fprintf(stderr, "mdwctl legacy-demo: %s\n", err);
		goto out;
	}
	gettimeofday(&t1, NULL);
	r = pgx_query(c,
		      "SELECT (SELECT count(*) FROM public.auth_user), (SELECT count(*) FROM public.dispatch_office), "
		      "(SELECT count(*) FROM public.dispatch_patient), (SELECT count(*) FROM public.dispatch_project), "
		      "(SELECT count(*) FROM public.dispatch_office_doctors), (SELECT count(*) FROM public.dispatch_state), "
		      "(SELECT count(*) FROM public.dispatch_template)",
		      0, NULL, err, sizeof err, NULL);
	if (!r) {
		fprintf(stderr, "mdwctl legacy-demo: %s\n", err);
		goto out;
	}
	printf("legacy demo data%s at scale %s (seed %s) in %.1f s: auth_user %s, dispatch_office %s, dispatch_patient %s, "
	       "dispatch_project %s, dispatch_office_doctors %s, dispatch_state %s, dispatch_template %s\n",
	       cfg->dirty ? " (dirty)" : "", scale, seed,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_usec - t0.tv_usec) / 1e6, PQgetvalue(r, 0, 0),
	       PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 4), PQgetvalue(r, 0, 5),
	       PQgetvalue(r, 0, 6));
	PQclear(r);
	rc = 0;
out:
	PQfinish(c);
	return rc;
}

int ctl_schema(struct mdw_config *cfg, int argc, char **argv)
{
	char err[512];
	PGconn *c;
	int rc;

	(void)argc, (void)argv;
	if (!(c = ops_target(cfg)))
		return 1;
	rc = mdw_schema_apply(c, err, sizeof err);
	if (rc < 0)
		fprintf(stderr, "mdwctl schema: %s\n", err);
	else
		printf("target schema is up to date (vector column: %s)\n",
		       mdw_schema_has_vector(c, err, sizeof err) == 1 ? "pgvector vector(1024)" : "real[1024]");
	PQfinish(c);
	return rc < 0 ? 1 : 0;
}
