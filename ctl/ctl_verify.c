/* mdwctl verify: every relational phase's rows against what their legacy rows should have become (ops/verify.h). */
#include <stdio.h>

#include "ctl.h"
#include "mdw/pgx.h"
#include "verify.h"

int ctl_verify(struct mdw_config *cfg, int argc, char **argv)
{
	const struct mdw_phase *only = NULL;
	char err[512];
	PGconn *tgt, *src;
	int bad = 0, n = 0;

	(void)argc, (void)argv;
	if (cfg->phase[0] && !(only = mdw_phase_find(cfg->phase))) {
		fprintf(stderr, "mdwctl verify: unknown phase \"%s\"\n", cfg->phase);
		return 2;
	}
	if (cfg->full && cfg->sample) {
		fprintf(stderr, "mdwctl verify: --full and --sample exclude each other\n");
		return 2;
	}
	/* 1 means a difference: a database that cannot be reached is 2, like any error */
	if (!(tgt = ops_target(cfg)))
		return 2;
	if (!(src = pgx_connect(cfg->source_dsn, "mdwctl", err, sizeof err))) {
		fprintf(stderr, "mdwctl verify: cannot connect to the legacy database (MDW_SOURCE_DSN): %s\n", err);
		PQfinish(tgt);
		return 2;
	}
	if (cfg->sample)
		printf("verify: a sample of %lld random buckets of %d legacy ids per phase (not every row)\n",
		       cfg->sample, VERIFY_BUCKET);
	else
		printf("verify: full (every row)\n");
	for (int ph = 0; ph < MDW_NPHASES; ph++) {
		char summary[256];
		int rc;
		if ((only && (int)only->id != ph) || (!only && !verify_covers((enum mdw_phase_id)ph)))
			continue;
		n++;
		rc = verify_phase(src, tgt, (enum mdw_phase_id)ph, stdout, cfg->show_values, cfg->sample, summary,
				  sizeof summary, err, sizeof err);
		if (rc < 0) {
			fprintf(stderr, "mdwctl verify: %s: %s\n", mdw_phases[ph].name, err);
			bad = 2;
			break;
		}
		printf("%-19s %s: %s\n", mdw_phases[ph].name, rc == 0 ? "ok" : rc == 1 ? "DIFFERS" : "-", summary);
		if (rc == 1)
			bad = bad ? bad : 1;
	}
	PQfinish(src);
	PQfinish(tgt);
	return bad;
}
