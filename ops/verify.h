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
#include "mdw/verify_spec.h"

#define VERIFY_BUCKET 4096 /* legacy ids per hashed bucket */

/*
 * Compare every target row of PHASE with what its legacy row (SRC) should
 * have become; name the differing rows on OUT (NULL: nowhere; values only
 * with SHOW); SAMPLE > 0: only that many random buckets (0: every row). SUMMARY gets the counts. 0 clean, 1 differences, 2 the phase
 * has no row-level verification, -1 error (ERR).
 */
int verify_phase(PGconn *src, PGconn *tgt, enum mdw_phase_id phase, FILE *out, int show, long long sample,
		 char *summary, size_t slen, char *err, size_t errlen);

/*
 * The legacy ids of a phase's rows that verify found missing, stray or
 * differing, ascending each; differ_hash[i]: the md5 of differ[i]'s target
 * row as verify read it (what mdw.row_hashes records), "" if not known;
 * differ_xmin[i]: that row version's xmin, read in the same statement, ""
 * if not known (a row of another table, a merged one).
 */
struct verify_ids {
	long long *missing, *stray, *differ;
	char (*differ_hash)[33];
	char (*differ_xmin)[12];
	long long nmissing, nstray, ndiffer;
	long long capmissing, capstray, capdiffer;
};

/* Free the lists of V (V itself is the caller's); accepts NULL. */
void verify_ids_free(struct verify_ids *v);

/*
 * verify_phase over every row, naming nothing, with the differing rows' ids
 * collected into IDS (initialised here; the caller frees it with
 * verify_ids_free whatever the result). Same returns as verify_phase.
 */
int verify_collect(PGconn *src, PGconn *tgt, enum mdw_phase_id phase, struct verify_ids *ids, char *summary,
		   size_t slen, char *err, size_t errlen);

#endif
