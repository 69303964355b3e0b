/* mdwctl queue, dead and retry-dead: the Redis side of a run. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "mdw/chunk_codec.h"
#include "mdw/pgx.h"
#include "mdw/queue.h"

static int64_t redis_run(struct rds *r)
{
	redisReply *rep = rds_cmd(r, "GET " MDWQ_CURRENT_RUN);
	int64_t run = rep && rep->type == REDIS_REPLY_STRING ? strtoll(rep->str, NULL, 10) : 0;
	freeReplyObject(rep);
	if (!run)
		fprintf(stderr, "mdwctl: no current run in Redis (%s)\n", MDWQ_CURRENT_RUN);
	return run;
}

int ctl_queue(struct mdw_config *cfg, int argc, char **argv)
{
	struct rds r;
	int64_t run;

	(void)argc, (void)argv;
	if (ctl_redis(cfg, &r) < 0)
		return 1;
	if (!(run = redis_run(&r))) {
		rds_close(&r);
		return 1;
	}
	printf("run %" PRId64 "\n%-19s %8s %8s %s\n", run, "phase", "length", "pending", "consumers (pending, idle ms)");
	for (int i = 0; i < MDW_NPHASES; i++) {
		char key[128];
		redisReply *len, *pend, *cons;
		mdwq_key(key, sizeof key, run, "q", mdw_phases[i].name);
		len = rds_cmd(&r, "XLEN %s", key);
		pend = rds_cmd(&r, "XPENDING %s " MDWQ_GROUP, key);
		cons = rds_cmd(&r, "XINFO CONSUMERS %s " MDWQ_GROUP, key);
		printf("%-19s %8lld %8lld ", mdw_phases[i].name, len && len->type == REDIS_REPLY_INTEGER ? len->integer : 0,
		       pend && pend->type == REDIS_REPLY_ARRAY && pend->elements > 0 ? pend->element[0]->integer : 0);
		for (size_t k = 0; cons && cons->type == REDIS_REPLY_ARRAY && k < cons->elements; k++) {
			redisReply *e = cons->element[k];
			const char *name = "?";
			long long p = 0, idle = 0;
			for (size_t f = 0; e->type == REDIS_REPLY_ARRAY && f + 1 < e->elements; f += 2) {
				if (!strcmp(e->element[f]->str, "name"))
					name = e->element[f + 1]->str;
				else if (!strcmp(e->element[f]->str, "pending"))
					p = e->element[f + 1]->integer;
				else if (!strcmp(e->element[f]->str, "idle"))
					idle = e->element[f + 1]->integer;
			}
			printf("%s%s (%lld, %lld)", k ? ", " : "", name, p, idle);
		}
		printf("\n");
		freeReplyObject(len);
		freeReplyObject(pend);
		freeReplyObject(cons);
	}
	rds_close(&r);
	return 0;
}

static const char *fget(const redisReply *f, const char *name, size_t *len)
{
	for (size_t k = 0; f->type == REDIS_REPLY_ARRAY && k + 1 < f->elements; k += 2)
		if (!strcmp(f->element[k]->str, name)) {
			if (len)
				*len = f->element[k + 1]->len;
			return f->element[k + 1]->str;
		}
	return "";
}

int ctl_dead(struct mdw_config *cfg, int argc, char **argv)
{
	struct rds r;
	int64_t run;
	char key[128];
	redisReply *rep;

	(void)argc, (void)argv;
	if (ctl_redis(cfg, &r) < 0)
		return 1;
	if (!(run = redis_run(&r))) {
		rds_close(&r);
		return 1;
	}
	mdwq_key(key, sizeof key, run, "dead", NULL);
	rep = rds_cmd(&r, "XRANGE %s - +", key);
	printf("dead letters of run %" PRId64 ": %zu\n", run, rep && rep->type == REDIS_REPLY_ARRAY ? rep->elements : 0);
	for (size_t i = 0; rep && rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
		redisReply *f = rep->element[i]->element[1];
		printf("%s phase=%s chunk=\"%s\" deliveries=%s error=\"%s\"\n", rep->element[i]->element[0]->str,
		       fget(f, "phase", NULL), fget(f, "desc", NULL), fget(f, "deliveries", NULL), fget(f, "error", NULL));
	}
	freeReplyObject(rep);
	rds_close(&r);
	return 0;
}

int ctl_retry_dead(struct mdw_config *cfg, int argc, char **argv)
{
	struct rds r;
	PGconn *c = NULL;
	int64_t run;
	char key[128], err[512];
	redisReply *rep = NULL;
	int retried = 0, skipped = 0, rc = 1;

	(void)argc, (void)argv;
	if (ctl_redis(cfg, &r) < 0)
		return 1;
	if (!(run = redis_run(&r)) || !(c = ctl_target(cfg)))
		goto out;
	mdwq_key(key, sizeof key, run, "dead", NULL);
	rep = rds_cmd(&r, "XRANGE %s - +", key);
	for (size_t i = 0; rep && rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
		redisReply *f = rep->element[i]->element[1];
		const char *id = rep->element[i]->element[0]->str, *body;
		size_t blen = 0;
		struct mdw_chunk ch;
		char run_s[24], no[16];
		const char *p[3] = {run_s, NULL, no};

		if (cfg->phase[0] && strcmp(fget(f, "phase", NULL), cfg->phase) != 0)
			continue;
		body = fget(f, "body", &blen);
		if (mdw_chunk_decode(body, blen, &ch, err, sizeof err) < 0 || ch.run != run) {
			/* a poison message: nothing to retry, it stays for the operator to read */
			skipped++;
			continue;
		}
		snprintf(run_s, sizeof run_s, "%" PRId64, ch.run);
		snprintf(no, sizeof no, "%d", (int)ch.chunk_no);
		p[1] = mdw_phases[ch.phase].name;
		/* ledger first: the coordinator's reconcile would enqueue it too */
		if (pgx_exec(c,
			     "UPDATE mdw.chunks SET status = 'pending', attempts = 0, last_error = NULL "
			     "WHERE run_id = $1 AND phase = $2 AND chunk_no = $3 AND status = 'dead'",
			     3, p, err, sizeof err, NULL) < 0 ||
		    pgx_exec(c,
			     "UPDATE mdw.run_phases SET status = 'running', error = NULL "
			     "WHERE run_id = $1 AND phase = $2 AND status = 'failed'",
			     2, p, err, sizeof err, NULL) < 0) {
			fprintf(stderr, "mdwctl retry-dead: %s\n", err);
			goto out;
		}
		if (mdwq_ensure_group(&r, run, p[1]) < 0 || mdwq_enqueue(&r, &ch) < 0) {
			fprintf(stderr, "mdwctl retry-dead: %s\n", r.errstr);
			goto out;
		}
		freeReplyObject(rds_cmd(&r, "XDEL %s %s", key, id));
		retried++;
	}
	mdwq_wake_workers(&r, retried);
	printf("re-enqueued %d dead chunks (%d undecodable dead letters left in place); start the coordinator to "
	       "resume the run\n",
	       retried, skipped);
	rc = 0;
out:
	freeReplyObject(rep);
	if (c)
		PQfinish(c);
	rds_close(&r);
	return rc;
}
