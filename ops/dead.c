/*
 * The dead chunks of a run (mdwctl dead and retry-dead, the dashboard), read
 * from the ledger (its chunks in state dead, with their last error). Redis's dead-letter stream is
 * a mirror of them, and the only record of poison messages (bodies that name
 * no chunk of the ledger), which are listed but never retried. Both commands
 * work after Redis lost everything: retry-dead re-enqueues from the ledger.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connect.h"
#include "dead.h"
#include "mdw/chunk_codec.h"
#include "mdw/ledger.h"
#include "mdw/pgx.h"
#include "mdw/queue.h"

void dead_row_chunk(const PGresult *r, int i, int64_t run, struct mdw_chunk *ch)
{
	const struct mdw_phase *ph = mdw_phase_find(PQgetvalue(r, i, 0));

	memset(ch, 0, sizeof *ch);
	ch->run = run;
	ch->phase = ph ? ph->id : MDW_PH_PRACTICES; /* the ledger only holds phases of the table */
	ch->chunk_no = (int32_t)atoi(PQgetvalue(r, i, 1));
	ch->lo = strtoll(PQgetvalue(r, i, 2), NULL, 10);
	ch->hi = strtoll(PQgetvalue(r, i, 3), NULL, 10);
	for (int p = 1; p < MDW_NPARTS; p++)
		if (!strcmp(PQgetvalue(r, i, 4), mdw_parts[p].name))
			ch->part = (enum mdw_part)p;
}

const char *dead_field(const redisReply *f, const char *name, size_t *len)
{
	for (size_t k = 0; f->type == REDIS_REPLY_ARRAY && k + 1 < f->elements; k += 2)
		if (!strcmp(f->element[k]->str, name)) {
			if (len)
				*len = f->element[k + 1]->len;
			return f->element[k + 1]->str;
		}
	return "";
}

int dead_mirrors(const redisReply *f, const PGresult *l, int64_t run)
{
	struct mdw_chunk ch;
	size_t blen = 0;
	const char *body = dead_field(f, "body", &blen);
	char err[256];

	if (mdw_chunk_decode(body, blen, &ch, err, sizeof err) < 0 || ch.run != run)
		return 0;
	for (int i = 0; i < PQntuples(l); i++)
		if (!strcmp(PQgetvalue(l, i, 0), mdw_phases[ch.phase].name) && atoi(PQgetvalue(l, i, 1)) == ch.chunk_no)
			return 1;
	return 0;
}

/* The run's dead letters in Redis (NULL when unreachable: the ledger is enough). */
static redisReply *dead_letters(struct mdw_config *cfg, struct rds *r, int64_t run, char *key, size_t keylen)
{
	redisReply *rep;

	mdwq_key(key, keylen, run, "dead", NULL);
	if (ops_redis(cfg, r) < 0)
		return NULL;
	rep = rds_cmd(r, "XRANGE %s - +", key);
	if (rep && rep->type == REDIS_REPLY_ARRAY)
		return rep;
	freeReplyObject(rep);
	return NULL;
}

/* Connect, find the run (RUN_ID, else the newest), and run QUERY of PHASE into X->l. 0 or -1. */
int dead_open(struct mdw_config *cfg, struct dead_ctx *x, const char *cmd, dead_query_fn query, const char *phase,
	      long long run_id)
{
	if (!(x->c = ops_target(cfg)) || !(x->run = ops_current_run(x->c, run_id)))
		return -1;
	if (query(x->c, x->run, phase, &x->l, x->err, sizeof x->err) < 0) {
		fprintf(stderr, "mdwctl %s: %s\n", cmd, x->err);
		return -1;
	}
	x->letters = dead_letters(cfg, &x->r, x->run, x->key, sizeof x->key);
	return 0;
}

void dead_close(struct dead_ctx *x)
{
	freeReplyObject(x->letters);
	PQclear(x->l);
	if (x->c)
		PQfinish(x->c);
	rds_close(&x->r);
}

int dead_retry(struct mdw_config *cfg, const char *phase, long long run_id, char *msg, size_t msglen)
{
	struct dead_ctx x = {0};
	int rc = -1, queued = 0;

	snprintf(msg, msglen, "cannot read the ledger (see the log)");
	/* the ledger first, in one statement: once pending, the coordinator's reconcile enqueues them too */
	if (dead_open(cfg, &x, "retry-dead", ledger_dead_chunks_retry, phase, run_id) < 0)
		goto out;
	for (int i = 0; x.letters && i < PQntuples(x.l); i++) {
		struct mdw_chunk ch;
		dead_row_chunk(x.l, i, x.run, &ch);
		if (mdwq_ensure_group(&x.r, x.run, mdw_phases[ch.phase].name) < 0 || mdwq_enqueue(&x.r, &ch) < 0)
			break;
		queued++;
	}
	/* their mirrors leave the dead letters; poison messages stay for the operator to read */
	for (size_t i = 0; x.letters && i < x.letters->elements; i++)
		if (dead_mirrors(x.letters->element[i]->element[1], x.l, x.run))
			freeReplyObject(rds_cmd(&x.r, "XDEL %s %s", x.key, x.letters->element[i]->element[0]->str));
	if (x.letters)
		mdwq_wake_workers(&x.r, queued);
	snprintf(msg, msglen,
		 "%d dead chunks of run %" PRId64 " set pending in the ledger, %d re-enqueued%s; start the coordinator "
		 "to resume the run",
		 PQntuples(x.l), x.run, queued,
		 queued < PQntuples(x.l) ? " (the coordinator enqueues the others from the ledger)" : "");
	rc = PQntuples(x.l);
out:
	dead_close(&x);
	return rc;
}
