/*
 * What catch-up runs found deleted in the legacy database (mdw.catchup_deleted,
 * written by coordinator/catchup.c), for the report and mdwctl catch-up.
 */
#include <stdlib.h>

#include "catchup_deleted.h"
#include "mdw/pgx.h"

json_t *catchup_deleted_json(PGconn *tgt, char *err, size_t errlen)
{
	json_t *a = json_array();
	PGresult *r =
		pgx_query(tgt,
			  "SELECT phase, legacy_id, to_char(first_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
			  "first_run, migrated_by FROM mdw.catchup_deleted WHERE applied_at IS NULL ORDER BY phase, legacy_id",
			  0, NULL, err, errlen, NULL);

	if (!r) {
		json_decref(a);
		return NULL;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		json_t *o = json_object();
		json_object_set_new(o, "phase", json_string(PQgetvalue(r, i, 0)));
		json_object_set_new(o, "legacyId", json_integer(strtoll(PQgetvalue(r, i, 1), NULL, 10)));
		json_object_set_new(o, "since", json_string(PQgetvalue(r, i, 2)));
		json_object_set_new(o, "firstRun", json_integer(strtoll(PQgetvalue(r, i, 3), NULL, 10)));
		json_object_set_new(o, "migratedBy",
				    PQgetisnull(r, i, 4) ? json_null()
							 : json_integer(strtoll(PQgetvalue(r, i, 4), NULL, 10)));
		json_array_append_new(a, o);
	}
	PQclear(r);
	return a;
}
