/*
 * The queue's own cost, for the benchmarks (tests/bench/run): chunks
 * dispatched and acknowledged per second with empty work, through the
 * project's own queue code (shared/queue.c, the chunk codec) against a real
 * Redis.
 *
 *   dispatch: the coordinator's side, one XADD per chunk (mdwq_enqueue).
 *   consume:  a worker's side per chunk, the same Redis commands as
 *             worker.c: XREADGROUP COUNT 1, decode the body, heartbeat HSET
 *             (busy), XACK + XDEL (mdwq_ack), heartbeat HSET (idle). No
 *             database, no work: what is left is the queue.
 *
 * Consumers are K forked processes, each with its own connection. Keys live
 * under a run id of 900000000 + pid and are deleted at the end.
 *
 * Usage: mdw-bench-queue [--chunks N] [--consumers K]   (MDW_REDIS_URL)
 * Prints key=value lines for the bench script.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mdw/chunk_codec.h"
#include "mdw/queue.h"
#include "mdw/rds.h"

static double now_s(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/* One consumer: pop, decode, heartbeat, ack, heartbeat until the stream is empty. Exit code 0 or 1. */
static int consume(const char *url, int64_t run, int id)
{
	char err[256], key[128], wkey[128], me[32], val[96];
	struct rds r;
	long long n = 0;

	if (rds_parse_url(&r, url, err, sizeof err) < 0) {
		fprintf(stderr, "queue_bench: %s\n", err);
		return 1;
	}
	snprintf(me, sizeof me, "bench-%d", id);
	mdwq_key(key, sizeof key, run, "q", mdw_phases[MDW_PH_PRACTICES].name);
	mdwq_key(wkey, sizeof wkey, run, "workers", NULL);
	for (;;) {
		redisReply *rep = rds_cmd(&r, "XREADGROUP GROUP " MDWQ_GROUP " %s COUNT 1 STREAMS %s >", me, key);
		redisReply *e, *f;
		struct mdw_chunk c = {0};
		char why[128];

		if (!rep || rep->type == REDIS_REPLY_ERROR) {
			fprintf(stderr, "queue_bench: XREADGROUP: %s\n", rep ? rep->str : r.errstr);
			freeReplyObject(rep);
			return 1;
		}
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0) { /* nil: the stream is drained */
			freeReplyObject(rep);
			break;
		}
		e = rep->element[0]->element[1]->element[0];
		f = e->element[1];
		for (size_t k = 0; k + 1 < f->elements; k += 2)
			if (!strcmp(f->element[k]->str, "body") &&
			    mdw_chunk_decode(f->element[k + 1]->str, f->element[k + 1]->len, &c, why, sizeof why) < 0) {
				fprintf(stderr, "queue_bench: undecodable body: %s\n", why);
				freeReplyObject(rep);
				return 1;
			}
		snprintf(val, sizeof val, "%lld practices#%d", (long long)(now_s() * 1000), (int)c.chunk_no);
		freeReplyObject(rds_cmd(&r, "HSET %s %s %s", wkey, me, val));
		if (mdwq_ack(&r, run, mdw_phases[MDW_PH_PRACTICES].name, e->element[0]->str) < 0) {
			fprintf(stderr, "queue_bench: ack: %s\n", r.errstr);
			freeReplyObject(rep);
			return 1;
		}
		snprintf(val, sizeof val, "%lld idle", (long long)(now_s() * 1000));
		freeReplyObject(rds_cmd(&r, "HSET %s %s %s", wkey, me, val));
		freeReplyObject(rep);
		n++;
	}
	rds_close(&r);
	return 0;
}

int main(int argc, char **argv)
{
	const char *url = getenv("MDW_REDIS_URL");
	long long chunks = 20000;
	int consumers = 1, rc = 1;
	int64_t run = 900000000 + (int64_t)getpid();
	char err[256], key[128], wkey[128];
	struct rds r;
	double t0, t1, t2;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--chunks") && i + 1 < argc)
			chunks = atoll(argv[++i]);
		else if (!strcmp(argv[i], "--consumers") && i + 1 < argc)
			consumers = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: %s [--chunks N] [--consumers K]  (MDW_REDIS_URL)\n", argv[0]);
			return 2;
		}
	}
	if (!url || chunks < 1 || consumers < 1 || consumers > 64) {
		fprintf(stderr, "queue_bench: set MDW_REDIS_URL; --chunks >= 1, --consumers 1..64\n");
		return 2;
	}
	if (rds_parse_url(&r, url, err, sizeof err) < 0) {
		fprintf(stderr, "queue_bench: %s\n", err);
		return 2;
	}
	mdwq_key(key, sizeof key, run, "q", mdw_phases[MDW_PH_PRACTICES].name);
	mdwq_key(wkey, sizeof wkey, run, "workers", NULL);
	if (mdwq_ensure_group(&r, run, mdw_phases[MDW_PH_PRACTICES].name) < 0) {
		fprintf(stderr, "queue_bench: %s\n", r.errstr);
		goto out;
	}
	t0 = now_s();
	for (long long i = 0; i < chunks; i++) {
		struct mdw_chunk c = {run, MDW_PH_PRACTICES, (int32_t)i, i * 5000, i * 5000 + 4999, MDW_PART_NONE};
		if (mdwq_enqueue(&r, &c) < 0) {
			fprintf(stderr, "queue_bench: enqueue: %s\n", r.errstr);
			goto out;
		}
	}
	t1 = now_s();
	fflush(stdout);
	for (int k = 0; k < consumers; k++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("queue_bench: fork");
			goto out;
		}
		if (pid == 0)
			_exit(consume(url, run, k));
	}
	rc = 0;
	for (int k = 0; k < consumers; k++) {
		int st;
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = 1;
	}
	t2 = now_s();
	if (rc == 0)
		printf("chunks=%lld consumers=%d dispatch_s=%.3f dispatch_per_s=%.0f consume_s=%.3f consume_per_s=%.0f\n",
		       chunks, consumers, t1 - t0, chunks / (t1 - t0), t2 - t1, chunks / (t2 - t1));
out:
	freeReplyObject(rds_cmd(&r, "DEL %s %s", key, wkey));
	rds_close(&r);
	return rc;
}
