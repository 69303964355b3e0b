/*
 * A run's phases as the ledger sees them (its phases and their chunks):
 * the phase states with every name each one goes by, and the per-phase
 * figures that the coordinator, mdwctl status, the report and the dashboard
 * all read from stats_load.
 */
#ifndef MDW_OPS_STATS_H
#define MDW_OPS_STATS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "mdw/phase.h"

enum phase_state { PS_NONE, PS_PLANNING, PS_RUNNING, PS_VALIDATING, PS_COMPLETE, PS_FAILED, PS_NSTATES };

/* Every name of a phase state, in one table indexed by enum phase_state. */
struct phase_state_names {
	const char *ledger; /* mdw.run_phases.status ("" for PS_NONE: no row, or rolled back) */
	const char *log;    /* the coordinator's log lines and metrics */
	const char *shown;  /* mdwctl status, /api/status, the dashboard */
	const char *report; /* the progress report's status */
};
extern const struct phase_state_names phase_states[PS_NSTATES];

struct phase_stat {
	enum phase_state state; /* a rolled-back phase is PS_NONE: the next run plans it again */
	int rolled_back;        /* ... and this says why it is not started (mdwctl status) */
	long long source_rows;
	long long total, done, dead, pending;
	long long read, inserted, existing, updated, merged, rejected;
	long long flagged;   /* rows of this run repaired (mdw.flags rows) */
	double rate;         /* rows read per second over the last minute */
	double started_at;   /* unix seconds; 0 = not yet */
	double completed_at; /* unix seconds; 0 = not yet */
	double busy_s;       /* first chunk start to last chunk end */
	char error[256];     /* why the phase failed, if it did */
};

/*
 * Read the ledger's view of RUN into PS (MDW_NPHASES entries), the rows
 * flagged only WITH_FLAGS (else 0: see ledger_phase_stats). -1 on error (ERR).
 */
int stats_load(PGconn *tgt, int64_t run, int with_flags, struct phase_stat *ps, char *err, size_t errlen);

#endif
