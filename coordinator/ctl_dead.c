/*
 * mdwctl dead and retry-dead: the dead chunks of a run, read from the ledger
 * (mdw.chunks, status 'dead', with last_error). Redis's dead-letter stream is
 * a mirror of them, and the only record of poison messages (bodies that name
 * no chunk of the ledger), which are listed but never retried. Both commands
 * work after Redis lost everything: retry-dead re-enqueues from the ledger.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "mdw/chunk_codec.h"
#include "mdw/pgx.h"
#include "mdw/queue.h"

void ctl_dead_row_chunk(const PGresult *r, int i, int64_t run, struct mdw_chunk *ch)
{
	const struct mdw_phase *ph = mdw_phase_find(PQgetvalue(r, i, 0));

	memset(ch, 0, sizeof *ch);
	ch->run = run;
	ch->phase = ph ? ph->id : MDW_PH_PRACTICES; /* the ledger only holds phases of the table */
	ch->chunk_no = (int32_t)atoi(PQgetvalue(r, i, 1));
	ch->lo = strtoll(PQgetvalue(r, i, 2), NULL, 10);
	ch->hi = strtoll(PQgetvalue(r, i, 3), NULL, 10);
	for (int p = 1; p < MDW_NPARTS; p++)
		if (!strcmp(PQgetvalue(r, i, 4), mdw_part_names[p]))
			ch->part = (enum mdw_part)p;
}

const char *ctl_dead_field(const redisReply *f, const char *name, size_t *len)
{
	for (size_t k = 0; f->type == REDIS_REPLY_ARRAY && k + 1 < f->elements; k += 2)
		if (!strcmp(f->element[k]->str, name)) {
			if (len)
				*len = f->element[k + 1]->len;
			return f->element[k + 1]->str;
		}
	return "";
}

int ctl_dead_mirrors(const redisReply *f, const PGresult *l, int64_t run)
{
	struct mdw_chunk ch;
	size_t blen = 0;
	const char *body = ctl_dead_field(f, "body", &blen);
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
	if (ctl_redis(cfg, r) < 0)
		return NULL;
	rep = rds_cmd(r, "XRANGE %s - +", key);
	if (rep && rep->type == REDIS_REPLY_ARRAY)
		return rep;
	freeReplyObject(rep);
	return NULL;
}

/* What both commands hold: the target, the run, Redis (when reachable) and the run's dead letters there. */
struct dead_ctx {
	PGconn *c;
	int64_t run;
	char run_s[24], key[128], err[512];
	PGresult *l; /* the ledger's dead chunks (DEAD_COLUMNS) */
	struct rds r;
	redisReply *letters; /* NULL: Redis unreachable */
};

/* Connect, find the run (RUN_ID, else the newest), and run SQL ($1 run, $2 PHASE or '') into X->l. 0 or -1. */
static int dead_open(struct mdw_config *cfg, struct dead_ctx *x, const char *cmd, const char *sql, const char *phase,
		     long long run_id)
{
	const char *p[2] = {x->run_s, phase};

	if (!(x->c = ctl_target(cfg)) || !(x->run = ctl_current_run(x->c, run_id)))
		return -1;
	snprintf(x->run_s, sizeof x->run_s, "%" PRId64, x->run);
	if (!(x->l = pgx_query(x->c, sql, 2, p, x->err, sizeof x->err, NULL))) {
		fprintf(stderr, "mdwctl %s: %s\n", cmd, x->err);
		return -1;
	}
	x->letters = dead_letters(cfg, &x->r, x->run, x->key, sizeof x->key);
	return 0;
}

static void dead_close(struct dead_ctx *x)
{
	freeReplyObject(x->letters);
	PQclear(x->l);
	if (x->c)
		PQfinish(x->c);
	rds_close(&x->r);
}

int ctl_dead(struct mdw_config *cfg, int argc, char **argv)
{
	struct dead_ctx x = {0};
	int rc = 1, poison = 0;

	(void)argc, (void)argv;
	if (dead_open(cfg, &x, "dead",
		      "SELECT " DEAD_COLUMNS " FROM mdw.chunks WHERE run_id = $1 AND status = 'dead' "
		      "AND ($2 = '' OR phase = $2) ORDER BY phase, chunk_no",
		      cfg->phase, cfg->run_id) < 0)
		goto out;
	printf("dead chunks of run %" PRId64 " (ledger): %d\n", x.run, PQntuples(x.l));
	for (int i = 0; i < PQntuples(x.l); i++) {
		struct mdw_chunk ch;
		char desc[160];
		ctl_dead_row_chunk(x.l, i, x.run, &ch);
		mdw_chunk_describe(&ch, desc, sizeof desc);
		printf("phase=%s chunk=\"%s\" attempts=%s error=\"%s\"\n", PQgetvalue(x.l, i, 0), desc,
		       PQgetvalue(x.l, i, 5), PQgetvalue(x.l, i, 6));
	}
	rc = 0;
	if (!x.letters) {
		printf("poison messages: unknown (Redis unreachable)\n");
		goto out;
	}
	for (size_t i = 0; i < x.letters->elements; i++) {
		redisReply *f = x.letters->element[i]->element[1];
		if (ctl_dead_mirrors(f, x.l, x.run) ||
		    (cfg->phase[0] && strcmp(ctl_dead_field(f, "phase", NULL), cfg->phase) != 0))
			continue;
		if (!poison++)
			printf("poison messages (Redis dead letters that name no dead chunk of the ledger):\n");
		printf("%s phase=%s desc=\"%s\" deliveries=%s error=\"%s\"\n", x.letters->element[i]->element[0]->str,
		       ctl_dead_field(f, "phase", NULL), ctl_dead_field(f, "desc", NULL),
		       ctl_dead_field(f, "deliveries", NULL), ctl_dead_field(f, "error", NULL));
	}
	if (!poison)
		printf("poison messages: 0\n");
out:
	dead_close(&x);
	return rc;
}

int ctl_dead_retry(struct mdw_config *cfg, const char *phase, long long run_id, char *msg, size_t msglen)
{
	struct dead_ctx x = {0};
	int rc = -1, queued = 0;

	snprintf(msg, msglen, "cannot read the ledger (see the log)");
	/* the ledger first, in one statement: once pending, the coordinator's reconcile enqueues them too */
	if (dead_open(cfg, &x, "retry-dead",
		      "WITH d AS (UPDATE mdw.chunks SET status = 'pending', attempts = 0, last_error = NULL "
		      " WHERE run_id = $1 AND status = 'dead' AND ($2 = '' OR phase = $2) RETURNING *), "
		      "p AS (UPDATE mdw.run_phases SET status = 'running', error = NULL WHERE run_id = $1 "
		      " AND status = 'failed' AND phase IN (SELECT phase FROM d)) "
		      "SELECT " DEAD_COLUMNS " FROM d ORDER BY phase, chunk_no",
		      phase, run_id) < 0)
		goto out;
	for (int i = 0; x.letters && i < PQntuples(x.l); i++) {
		struct mdw_chunk ch;
		ctl_dead_row_chunk(x.l, i, x.run, &ch);
		if (mdwq_ensure_group(&x.r, x.run, mdw_phases[ch.phase].name) < 0 || mdwq_enqueue(&x.r, &ch) < 0)
			break;
		queued++;
	}
	/* their mirrors leave the dead letters; poison messages stay for the operator to read */
	for (size_t i = 0; x.letters && i < x.letters->elements; i++)
		if (ctl_dead_mirrors(x.letters->element[i]->element[1], x.l, x.run))
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

int ctl_retry_dead(struct mdw_config *cfg, int argc, char **argv)
{
	char msg[512];

	(void)argc, (void)argv;
	if (ctl_dead_retry(cfg, cfg->phase, cfg->run_id, msg, sizeof msg) < 0)
		return 1;
	printf("%s\n", msg);
	return 0;
}
