/*
 * The coordinator's state for one run: its configuration, sessions, queue,
 * the run and each phase's state. A type only: its own header, so that the
 * steps the coordinator calls (catch-up, incremental plans, redrive, backup)
 * take it without including the coordinator's loop (coord.h).
 */
#ifndef MDW_COORD_STATE_H
#define MDW_COORD_STATE_H

#include <libpq-fe.h>
#include <signal.h>
#include <stdint.h>

#include "mdw/chunk_codec.h"
#include "mdw/config.h"
#include "mdw/phase.h"
#include "mdw/rds.h"
#include "stats.h"
#include "validate.h"

struct catchup_ahead; /* catchup_ahead.h */

struct coord {
	struct mdw_config cfg;
	PGconn *src, *tgt;
	struct rds r;
	int64_t run;
	unsigned selected;
	char token[128];
	double last_reconcile;
	double last_report; /* when the progress report was last written (intermediate ones: REPORT_EVERY_S apart) */
	int report_due;     /* a phase changed state since the last report */
	struct phase_stat ps[MDW_NPHASES];
	struct catchup_ahead *ahead; /* a catch-up run's comparisons, computed ahead (NULL: none) */
};

#endif
