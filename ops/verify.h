/*
 * Row-level verification (mdwctl verify, mdw-coordinator --verify): see
 * verify.c and docs/operations.md.
 */
#ifndef MDW_VERIFY_H
#define MDW_VERIFY_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

#include "mdw/phase.h"

#define VERIFY_BUCKET 4096 /* legacy ids per hashed bucket */

/* Whether PH has a row-level verification. */
int verify_covers(enum mdw_phase_id ph);

/*
 * Compare every target row of PHASE with what its legacy row (SRC) should
 * have become; name the differing rows on OUT (NULL: nowhere; values only
 * with SHOW); SAMPLE > 0: only that many random buckets (0: every row). SUMMARY gets the counts. 0 clean, 1 differences, 2 the phase
 * has no row-level verification, -1 error (ERR).
 */
int verify_phase(PGconn *src, PGconn *tgt, enum mdw_phase_id phase, FILE *out, int show, long long sample,
		 char *summary, size_t slen, char *err, size_t errlen);

#endif
