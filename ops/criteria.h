/*
 * The success criteria of the migration, per phase ("all patients linked to
 * valid practices", ...), measured where the migration stands (every run):
 * how many rows do not meet each, and why: the reference was NULL in the
 * legacy data, it dangled there and was repaired (mdw.flags), or the row is
 * rejected and not placed since (mdw.rejects). Listed by the progress report
 * and mdwctl validate; informational, they do not fail a phase.
 */
#ifndef MDW_CRITERIA_H
#define MDW_CRITERIA_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

#include "mdw/phase.h"

/*
 * The criteria of PHASE (-1: every phase) as a JSON array of {phase,
 * criterion, notMet, nullInLegacy, repaired, rejected, holds}, or NULL with ERR.
 */
json_t *criteria_eval(PGconn *tgt, int phase, char *err, size_t errlen);

/* Print criteria A (criteria_eval) to F: a Markdown table, or aligned text. */
void criteria_print(json_t *a, FILE *f, int markdown);

/* Where a relational phase stands, over every run. */
struct standing {
	long long target_rows;          /* rows in its target table now */
	long long rejected_outstanding; /* legacy rows rejected and neither placed since nor merged */
	long long flagged;              /* rows placed with a repair (mdw.flags) */
};

/* Fill ST for relational PHASE. 0, or -1 with ERR. */
int criteria_standing(PGconn *tgt, enum mdw_phase_id phase, struct standing *st, char *err, size_t errlen);

/* The SQL condition "legacy row j.legacy_id of PHASE is placed in the target" (for phase tables only). */
void criteria_placed(enum mdw_phase_id phase, char *out, size_t outlen);

#endif
