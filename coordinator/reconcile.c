/*
 * Rebuilding the queues from the ledger: Postgres is the source of truth.
 * For each running phase, every chunk that the ledger says is pending or
 * running and that its stream does not hold is enqueued again. The stream
 * is read before the ledger, so that a chunk acknowledged in between is seen
 * as done and not re-enqueued (a redundant message would be a no-op anyway).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "mdw/chunk_codec.h"
#include "mdw/ledger.h"
#include "mdw/log.h"
#include "mdw/pgx.h"
#include "mdw/queue.h"

static int reconcile_phase(struct coord *c, enum mdw_phase_id ph)
{
	const char *name = mdw_phases[ph].name;
	int nmax = (int)c->ps[ph].total + 1, present_n, requeued = 0;
	unsigned char *present = calloc((size_t)nmax, 1);
	char err[512];
	PGresult *r = NULL;
	int rc = -1;

	if (!present)
		return -1;
	present_n = mdwq_present(&c->r, c->run, name, present, nmax);
	if (present_n == -2) {
		mdw_warn("run=%" PRId64 " phase=%s msg=\"stream or group missing: rebuilding from the ledger\"", c->run,
			 name);
		if (mdwq_ensure_group(&c->r, c->run, name) < 0)
			goto out;
	} else if (present_n < 0) {
		goto out;
	}
	if (ledger_chunks_open(c->tgt, c->run, name, &r, err, sizeof err) < 0) {
		mdw_warn("run=%" PRId64 " phase=%s msg=\"cannot read the ledger\" error=\"%s\"", c->run, name, err);
		goto out;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		struct mdw_chunk ch = {c->run,
				       ph,
				       (int32_t)atoi(PQgetvalue(r, i, 0)),
				       strtoll(PQgetvalue(r, i, 1), NULL, 10),
				       strtoll(PQgetvalue(r, i, 2), NULL, 10),
				       MDW_PART_NONE};
		for (int p = 1; p < MDW_NPARTS; p++)
			if (!strcmp(PQgetvalue(r, i, 3), mdw_parts[p].name))
				ch.part = (enum mdw_part)p;
		if (ch.chunk_no < nmax && present[ch.chunk_no])
			continue;
		if (mdwq_enqueue(&c->r, &ch) < 0)
			goto out;
		requeued++;
	}
	mdwq_wake_workers(&c->r, requeued);
	if (requeued)
		mdw_info("run=%" PRId64 " phase=%s msg=\"re-enqueued chunks missing from the queue\" chunks=%d", c->run,
			 name, requeued);
	rc = 0;
out:
	PQclear(r);
	free(present);
	return rc;
}

int coord_reconcile(struct coord *c, int force)
{
	(void)force;
	for (int ph = 0; ph < MDW_NPHASES; ph++) {
		if (!(c->selected & MDW_PH_BIT(ph)) || c->ps[ph].state != PS_RUNNING)
			continue;
		if (reconcile_phase(c, (enum mdw_phase_id)ph) < 0) {
			mdw_warn("run=%" PRId64 " phase=%s msg=\"reconcile failed\" error=\"%s\"", c->run,
				 mdw_phases[ph].name, c->r.errstr);
			return -1;
		}
	}
	return 0;
}
