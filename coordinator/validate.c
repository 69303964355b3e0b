/*
 * Phase validation, run by the coordinator when a phase's last chunk is done
 * (and by mdwctl validate): the accounting balances chunk by chunk and adds
 * up to the source count taken at planning.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "mdw/pgx.h"

int coord_validate_phase(PGconn *tgt, int64_t run, enum mdw_phase_id phase, char *why, size_t whylen)
{
	char id[24], err[512];
	const char *p[2] = {id, mdw_phases[phase].name};
	PGresult *r;
	long long source, read, sum, unbalanced, notdone;

	snprintf(id, sizeof id, "%" PRId64, run);
	r = pgx_query(tgt,
		      "SELECT rp.source_rows, coalesce(sum(c.rows_read), 0), "
		      "coalesce(sum(c.rows_inserted + c.rows_existing + c.rows_merged + c.rows_rejected), 0), "
		      "count(*) FILTER (WHERE c.rows_read <> c.rows_inserted + c.rows_existing + c.rows_merged + "
		      "c.rows_rejected), count(*) FILTER (WHERE c.status <> 'done') "
		      "FROM mdw.run_phases rp LEFT JOIN mdw.chunks c ON c.run_id = rp.run_id AND c.phase = rp.phase "
		      "WHERE rp.run_id = $1 AND rp.phase = $2 GROUP BY rp.source_rows",
		      2, p, err, sizeof err, NULL);
	if (!r) {
		snprintf(why, whylen, "cannot read the ledger: %s", err);
		return -1;
	}
	if (PQntuples(r) != 1) {
		PQclear(r);
		snprintf(why, whylen, "phase %s was not planned in run %s", p[1], id);
		return 0;
	}
	source = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	read = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	sum = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	unbalanced = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
	notdone = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
	PQclear(r);
	if (notdone) {
		snprintf(why, whylen, "%lld chunks are not done", notdone);
		return 0;
	}
	if (unbalanced) {
		snprintf(why, whylen, "%lld chunks do not balance", unbalanced);
		return 0;
	}
	if (read != source) {
		snprintf(why, whylen, "rows read %lld != source rows at planning %lld (the legacy table changed?)", read,
			 source);
		return 0;
	}
	if (sum != read) {
		snprintf(why, whylen, "outcomes %lld != rows read %lld", sum, read);
		return 0;
	}
	snprintf(why, whylen, "read %lld = source rows; accounting balances", read);
	return 1;
}
