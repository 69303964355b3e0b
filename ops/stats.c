/* The ledger's view of a run, phase by phase (its phases and their chunks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "mdw/ledger.h"
#include "mdw/pgx.h"

const struct phase_state_names phase_states[PS_NSTATES] = {
	[PS_NONE] = {"", "not_started", "not started", "not_started"},
	[PS_PLANNING] = {"planning", "planning", "planning", "in_progress"},
	[PS_RUNNING] = {"running", "running", "running", "in_progress"},
	[PS_VALIDATING] = {"validating", "validating", "validating", "in_progress"},
	[PS_COMPLETE] = {"complete", "complete", "complete", "completed"},
	[PS_FAILED] = {"failed", "failed", "failed", "failed"},
};

static enum phase_state parse_state(const char *s)
{
	for (int i = 1; i < PS_NSTATES; i++)
		if (!strcmp(s, phase_states[i].ledger))
			return (enum phase_state)i;
	return PS_NONE;
}

int stats_load(PGconn *tgt, int64_t run, int with_flags, struct phase_stat *ps, char *err, size_t errlen)
{
	PGresult *r;

	memset(ps, 0, sizeof *ps * MDW_NPHASES);
	if (ledger_phase_stats(tgt, run, with_flags, &r, err, errlen) < 0)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		const struct mdw_phase *ph = mdw_phase_find(PQgetvalue(r, i, 0));
		struct phase_stat *s;
		if (!ph)
			continue;
		s = &ps[ph->id];
		s->state = parse_state(PQgetvalue(r, i, 1));
		s->rolled_back = !strcmp(PQgetvalue(r, i, 1), "rolled_back");
		s->source_rows = strtoll(PQgetvalue(r, i, 2), NULL, 10);
		s->total = strtoll(PQgetvalue(r, i, 3), NULL, 10);
		s->done = strtoll(PQgetvalue(r, i, 4), NULL, 10);
		s->dead = strtoll(PQgetvalue(r, i, 5), NULL, 10);
		s->pending = strtoll(PQgetvalue(r, i, 6), NULL, 10);
		s->read = strtoll(PQgetvalue(r, i, 7), NULL, 10);
		s->inserted = strtoll(PQgetvalue(r, i, 8), NULL, 10);
		s->existing = strtoll(PQgetvalue(r, i, 9), NULL, 10);
		s->merged = strtoll(PQgetvalue(r, i, 10), NULL, 10);
		s->rejected = strtoll(PQgetvalue(r, i, 11), NULL, 10);
		s->rate = strtod(PQgetvalue(r, i, 12), NULL);
		s->started_at = strtod(PQgetvalue(r, i, 13), NULL);
		s->completed_at = strtod(PQgetvalue(r, i, 14), NULL);
		s->busy_s = strtod(PQgetvalue(r, i, 15), NULL);
		snprintf(s->error, sizeof s->error, "%s", PQgetvalue(r, i, 16));
		s->flagged = strtoll(PQgetvalue(r, i, 17), NULL, 10);
		s->updated = strtoll(PQgetvalue(r, i, 18), NULL, 10);
	}
	PQclear(r);
	return 0;
}
