/*
 * A catch-up run's comparisons, computed ahead by threads of the
 * coordinator while it loads and validates the phases before them: see
 * catchup_ahead.c.
 */
#ifndef MDW_CATCHUP_AHEAD_H
#define MDW_CATCHUP_AHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "catchup_find.h"
#include "mdw/config.h"
#include "mdw/phase.h"

struct catchup_ahead;

/*
 * Start computing the comparisons of the PHASES (MDW_PH_BIT each; those
 * without a catch-up, or that verify_ahead refuses, are left out) of run
 * RUN, the phases with fewer needs before them first, on sessions of its own
 * opened from CFG (which must outlive it); *STOP nonzero: the coordinator is
 * stopping; READ_ONLY: the target sessions too are read-only (a plan, which
 * writes nothing). NULL with ERR if no thread can start (the coordinator then
 * compares each phase itself, as it plans it).
 */
struct catchup_ahead *catchup_ahead_start(const struct mdw_config *cfg, unsigned phases, int64_t run,
					  volatile int *stop, int read_only, char *err, size_t errlen);

/*
 * PHASE's comparison, into F (the caller frees it with catchup_found_free):
 * waits while a thread computes it. 1 taken; 0 not computed ahead (not
 * asked for, not started yet, taken before, or failed: logged), compare it
 * yourself; -1 with ERR when the coordinator stops while it waits. A NULL A
 * has nothing (0).
 */
int catchup_ahead_take(struct catchup_ahead *a, enum mdw_phase_id phase, struct catchup_found *f, char *err,
		       size_t errlen);

/*
 * Whether a thread is computing PHASE's comparison right now: the
 * coordinator plans the phase on a later pass, and goes on with the others
 * meanwhile (catchup_ahead_take would wait). 0 for a NULL A.
 */
int catchup_ahead_busy(struct catchup_ahead *a, enum mdw_phase_id phase);

/* Stop the threads (cancelling their queries), wait for them, free what was not taken. Accepts NULL. */
void catchup_ahead_stop(struct catchup_ahead *a);

#endif
