/* The legacy rows that catch-up runs found deleted (see catchup_deleted.c and coordinator/catchup.c). */
#ifndef MDW_CATCHUP_DELETED_H
#define MDW_CATCHUP_DELETED_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

/*
 * The legacy rows found deleted and not applied, for the report: an array of
 * {phase, legacyId, since (ISO 8601), firstRun, migratedBy (null: not the
 * migration's row)}; empty before any catch-up. NULL with ERR on error.
 */
json_t *catchup_deleted_json(PGconn *tgt, char *err, size_t errlen);

#endif
