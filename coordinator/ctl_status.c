/* mdwctl status and validate: the ledger's view of the newest run, phase by phase. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "coord.h"
#include "ctl.h"

static const char *const state_names[] = {"not started", "planning", "running", "validating", "complete", "failed"};

int ctl_status(struct mdw_config *cfg, int argc, char **argv)
{
	struct phase_stat ps[MDW_NPHASES];
	char err[512];
	PGconn *c;
	int64_t run;

	(void)argc, (void)argv;
	if (!(c = ctl_target(cfg)))
		return 1;
	if (!(run = ctl_current_run(c)) || coord_load_stats(c, run, ps, err, sizeof err) < 0) {
		if (run)
			fprintf(stderr, "mdwctl status: %s\n", err);
		PQfinish(c);
		return 1;
	}
	if (cfg->json) {
		printf("{\"run\": %" PRId64 ", \"phases\": [", run);
		for (int i = 0; i < MDW_NPHASES; i++)
			printf("%s{\"phase\": \"%s\", \"state\": \"%s\", \"chunks\": %lld, \"done\": %lld, \"dead\": %lld, "
			       "\"source_rows\": %lld, \"read\": %lld, \"inserted\": %lld, \"existing\": %lld, \"merged\": %lld, "
			       "\"rejected\": %lld}",
			       i ? ", " : "", mdw_phases[i].name, state_names[ps[i].state], ps[i].total, ps[i].done,
			       ps[i].dead, ps[i].source_rows, ps[i].read, ps[i].inserted, ps[i].existing, ps[i].merged,
			       ps[i].rejected);
		printf("]}\n");
	} else {
		printf("run %" PRId64 "\n%-19s %-12s %13s %9s %9s %9s %9s %9s %5s\n", run, "phase", "state", "chunks",
		       "read", "inserted", "existing", "merged", "rejected", "dead");
		for (int i = 0; i < MDW_NPHASES; i++) {
			char chunks[32];
			snprintf(chunks, sizeof chunks, "%lld/%lld", ps[i].done, ps[i].total);
			printf("%-19s %-12s %13s %9lld %9lld %9lld %9lld %9lld %5lld\n", mdw_phases[i].name,
			       state_names[ps[i].state], chunks, ps[i].read, ps[i].inserted, ps[i].existing, ps[i].merged,
			       ps[i].rejected, ps[i].dead);
		}
	}
	PQfinish(c);
	return 0;
}

int ctl_validate(struct mdw_config *cfg, int argc, char **argv)
{
	struct phase_stat ps[MDW_NPHASES];
	char err[512];
	PGconn *c;
	int64_t run;
	int bad = 0, n = 0;
	const struct mdw_phase *only = NULL;

	(void)argc, (void)argv;
	if (cfg->phase[0] && !(only = mdw_phase_find(cfg->phase))) {
		fprintf(stderr, "mdwctl validate: unknown phase \"%s\"\n", cfg->phase);
		return 2;
	}
	if (!(c = ctl_target(cfg)))
		return 1;
	if (!(run = ctl_current_run(c)) || coord_load_stats(c, run, ps, err, sizeof err) < 0) {
		PQfinish(c);
		return 1;
	}
	if (cfg->json)
		printf("{\"run\": %" PRId64 ", \"phases\": [", run);
	for (int i = 0; i < MDW_NPHASES; i++) {
		char why[512];
		int v;
		if ((only && (int)only->id != i) || (!only && ps[i].state == PS_NONE))
			continue;
		v = coord_validate_phase(c, run, (enum mdw_phase_id)i, why, sizeof why);
		if (v != 1)
			bad++;
		if (cfg->json)
			printf("%s{\"phase\": \"%s\", \"valid\": %s, \"detail\": \"%s\"}", n ? ", " : "", mdw_phases[i].name,
			       v == 1 ? "true" : "false", why);
		else
			printf("%-19s %-5s %s\n", mdw_phases[i].name, v == 1 ? "ok" : "FAIL", why);
		n++;
	}
	if (cfg->json)
		printf("]}\n");
	PQfinish(c);
	return bad ? 1 : 0;
}
