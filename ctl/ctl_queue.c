/* mdwctl queue: the Redis side of a run (dead and retry-dead: ctl_dead.c). */
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
	if (ops_redis(cfg, &r) < 0)
		return 1;
	if (!(run = redis_run(&r))) {
		rds_close(&r);
		return 1;
	}
	printf("run %" PRId64 "\n%-19s %8s %8s %s\n", run, "phase", "length", "pending",
	       "consumers (pending, idle ms)");
	for (int i = 0; i < MDW_NPHASES; i++) {
		char key[128];
		redisReply *len, *pend, *cons;
		mdwq_key(key, sizeof key, run, "q", mdw_phases[i].name);
		len = rds_cmd(&r, "XLEN %s", key);
		pend = rds_cmd(&r, "XPENDING %s " MDWQ_GROUP, key);
		cons = rds_cmd(&r, "XINFO CONSUMERS %s " MDWQ_GROUP, key);
		printf("%-19s %8lld %8lld ", mdw_phases[i].name,
		       len && len->type == REDIS_REPLY_INTEGER ? len->integer : 0,
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
