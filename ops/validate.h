/* Validation of a phase of a run: its accounting balances, and the checks of validate.c hold. */
#ifndef MDW_OPS_VALIDATE_H
#define MDW_OPS_VALIDATE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "mdw/phase.h"

/*
 * Validate PHASE of RUN: the accounting balances against the source count
 * taken at planning, and the checks of validate.c. Returns 1 valid, 0
 * invalid (WHY says what), -1 error.
 */
int validate_phase(PGconn *tgt, int64_t run, enum mdw_phase_id phase, char *why, size_t whylen);

#endif
