/* Redis Streams chunk queue operations (see queue.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mdw/queue.h"

void mdwq_key(char *buf, size_t len, int64_t run, const char *kind, const char *phase)
{
	if (phase)
		snprintf(buf, len, "mdw:{%" PRId64 "}:%s:%s", run, kind, phase);
	else
		snprintf(buf, len, "mdw:{%" PRId64 "}:%s", run, kind);
}

static int check(struct rds *r, redisReply *rep, const char *what)
{
	if (!rep)
		return -1;
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(r->errstr, sizeof r->errstr, "%s: %s", what, rep->str);
		freeReplyObject(rep);
		return -1;
	}
	freeReplyObject(rep);
	return 0;
}

int mdwq_ensure_group(struct rds *r, int64_t run, const char *phase)
{
	char key[128];
	redisReply *rep;

	mdwq_key(key, sizeof key, run, "q", phase);
	rep = rds_cmd(r, "XGROUP CREATE %s " MDWQ_GROUP " 0 MKSTREAM", key);
	if (rds_is_error(rep, "BUSYGROUP")) {
		freeReplyObject(rep);
		return 0;
	}
	return check(r, rep, "XGROUP CREATE");
}

int mdwq_enqueue(struct rds *r, const struct mdw_chunk *c)
{
	char key[128], desc[128], body[256];
	int n = mdw_chunk_encode(c, body, sizeof body);

	if (n < 0) {
		snprintf(r->errstr, sizeof r->errstr, "chunk body does not fit");
		return -1;
	}
	mdwq_key(key, sizeof key, c->run, "q", mdw_phases[c->phase].name);
	mdw_chunk_describe(c, desc, sizeof desc);
	return check(r, rds_cmd(r, "XADD %s * desc %s body %b", key, desc, body, (size_t)n), "XADD");
}

int mdwq_ack(struct rds *r, int64_t run, const char *phase, const char *id)
{
	char key[128];

	mdwq_key(key, sizeof key, run, "q", phase);
	if (check(r, rds_cmd(r, "XACK %s " MDWQ_GROUP " %s", key, id), "XACK") < 0 ||
	    check(r, rds_cmd(r, "XDEL %s %s", key, id), "XDEL") < 0)
		return -1;
	mdwq_key(key, sizeof key, run, "events", NULL);
	freeReplyObject(rds_cmd(r, "LPUSH %s 1", key));
	return 0;
}

void mdwq_wake_workers(struct rds *r, int n)
{
	const char *argv[2 + MDWQ_WAKE_MAX] = {"LPUSH", MDWQ_WAKE};

	if (n <= 0)
		return;
	if (n > MDWQ_WAKE_MAX)
		n = MDWQ_WAKE_MAX;
	for (int i = 0; i < n; i++)
		argv[2 + i] = "1";
	freeReplyObject(rds_cmdv(r, 2 + n, argv, NULL));
	freeReplyObject(rds_cmd(r, "LTRIM " MDWQ_WAKE " 0 %d", MDWQ_WAKE_MAX - 1));
}

void mdwq_wake_run_over(struct rds *r, int64_t run)
{
	char key[128];
	redisReply *rep;
	long long n = 1;

	mdwq_key(key, sizeof key, run, "workers", NULL);
	rep = rds_cmd(r, "HLEN %s", key);
	if (rep && rep->type == REDIS_REPLY_INTEGER && rep->integer > 0)
		n = rep->integer;
	freeReplyObject(rep);
	mdwq_wake_workers(r, n > MDWQ_WAKE_MAX ? MDWQ_WAKE_MAX : (int)n);
}

int mdwq_wait(struct rds *r, const char *key, long ms, int drain)
{
	redisReply *rep;
	int woke;

	if (ms < 1)
		ms = 1;
	if (ms > 5000)
		ms = 5000; /* well inside the connection's read timeout */
	rep = rds_cmd(r, "BLPOP %s %ld.%03ld", key, ms / 1000, ms % 1000);
	if (!rep)
		return -1;
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(r->errstr, sizeof r->errstr, "BLPOP: %s", rep->str);
		freeReplyObject(rep);
		return -1;
	}
	woke = rep->type == REDIS_REPLY_ARRAY;
	freeReplyObject(rep);
	if (woke && drain)
		freeReplyObject(rds_cmd(r, "DEL %s", key));
	return woke;
}

int mdwq_dead_letter(struct rds *r, int64_t run, const char *phase, const char *id, const char *desc, const char *body,
		     size_t bodylen, const char *reason, long long deliveries)
{
	char key[128], n[24];

	mdwq_key(key, sizeof key, run, "dead", NULL);
	snprintf(n, sizeof n, "%lld", deliveries);
	if (check(r,
		  rds_cmd(r, "XADD %s * phase %s id %s desc %s body %b error %s deliveries %s", key, phase, id,
			  desc ? desc : "", body ? body : "", body ? bodylen : (size_t)0, reason, n),
		  "XADD dead") < 0)
		return -1;
	return mdwq_ack(r, run, phase, id);
}

int mdwq_present(struct rds *r, int64_t run, const char *phase, unsigned char *present, int nmax)
{
	char key[128], start[64] = "-";
	int total = 0;

	mdwq_key(key, sizeof key, run, "q", phase);
	{
		redisReply *g = rds_cmd(r, "XINFO GROUPS %s", key);
		int found = 0;
		if (!g)
			return -1;
		if (g->type == REDIS_REPLY_ARRAY)
			for (size_t i = 0; i < g->elements; i++) {
				redisReply *e = g->element[i];
				for (size_t k = 0; e->type == REDIS_REPLY_ARRAY && k + 1 < e->elements; k += 2)
					if (e->element[k]->type == REDIS_REPLY_STRING &&
					    !strcmp(e->element[k]->str, "name") &&
					    e->element[k + 1]->type == REDIS_REPLY_STRING &&
					    !strcmp(e->element[k + 1]->str, MDWQ_GROUP))
						found = 1;
			}
		freeReplyObject(g);
		if (!found)
			return -2;
	}
	for (;;) {
		redisReply *rep = rds_cmd(r, "XRANGE %s %s + COUNT 1000", key, start);
		size_t n;
		if (!rep)
			return -1;
		if (rep->type != REDIS_REPLY_ARRAY) {
			snprintf(r->errstr, sizeof r->errstr, "XRANGE: unexpected reply");
			freeReplyObject(rep);
			return -1;
		}
		n = rep->elements;
		for (size_t i = 0; i < n; i++) {
			redisReply *e = rep->element[i], *f;
			if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
				continue;
			f = e->element[1];
			for (size_t k = 0; f->type == REDIS_REPLY_ARRAY && k + 1 < f->elements; k += 2) {
				struct mdw_chunk c;
				char why[128];
				if (strcmp(f->element[k]->str, "body") != 0)
					continue;
				if (mdw_chunk_decode(f->element[k + 1]->str, f->element[k + 1]->len, &c, why,
						     sizeof why) == 0 &&
				    c.run == run && c.chunk_no < nmax && !strcmp(mdw_phases[c.phase].name, phase))
					present[c.chunk_no] = 1;
			}
			total++;
			if (i == n - 1)
				snprintf(start, sizeof start, "(%s", e->element[0]->str);
		}
		freeReplyObject(rep);
		if (n < 1000)
			break;
	}
	return total;
}

void mdwq_entry_free(struct mdwq_entry *e)
{
	freeReplyObject(e->reply);
	memset(e, 0, sizeof *e);
}

static const char *entry_field(const redisReply *fields, const char *name, size_t *len)
{
	for (size_t k = 0; fields->type == REDIS_REPLY_ARRAY && k + 1 < fields->elements; k += 2)
		if (fields->element[k]->type == REDIS_REPLY_STRING && !strcmp(fields->element[k]->str, name) &&
		    fields->element[k + 1]->type == REDIS_REPLY_STRING) {
			if (len)
				*len = fields->element[k + 1]->len;
			return fields->element[k + 1]->str;
		}
	return NULL;
}

/* E from stream entry X ([id, [field, value, ...]]) of REP, which E then owns. 1, or 0 when X is no entry. */
static int entry_take(struct mdwq_entry *e, const char *phase, redisReply *rep, const redisReply *x)
{
	memset(e, 0, sizeof *e);
	if (x->type != REDIS_REPLY_ARRAY || x->elements != 2 || x->element[0]->type != REDIS_REPLY_STRING ||
	    x->element[1]->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return 0;
	}
	e->phase = phase;
	e->id = x->element[0]->str;
	e->desc = entry_field(x->element[1], "desc", NULL);
	e->body = entry_field(x->element[1], "body", &e->body_len);
	e->deliveries = 1;
	e->reply = rep;
	return 1;
}

int mdwq_read_new(struct rds *r, int64_t run, const char *phase, const char *consumer, struct mdwq_entry *e)
{
	char key[128];
	redisReply *rep, *s;

	mdwq_key(key, sizeof key, run, "q", phase);
	rep = rds_cmd(r, "XREADGROUP GROUP " MDWQ_GROUP " %s COUNT 1 STREAMS %s >", consumer, key);
	if (!rep)
		return -1;
	if (rds_is_error(rep, "NOGROUP")) { /* not created yet, or Redis lost it: the coordinator rebuilds it */
		freeReplyObject(rep);
		return 0;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(r->errstr, sizeof r->errstr, "XREADGROUP: %s", rep->str);
		freeReplyObject(rep);
		return -2;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1 || (s = rep->element[0])->type != REDIS_REPLY_ARRAY ||
	    s->elements != 2 || s->element[1]->type != REDIS_REPLY_ARRAY || s->element[1]->elements != 1) {
		freeReplyObject(rep);
		return 0;
	}
	return entry_take(e, phase, rep, s->element[1]->element[0]);
}

int mdwq_take_over(struct rds *r, int64_t run, const char *phase, const char *consumer, long long lease_ms,
		   struct mdwq_entry *e)
{
	char key[128], lease[24];
	redisReply *rep;

	mdwq_key(key, sizeof key, run, "q", phase);
	snprintf(lease, sizeof lease, "%lld", lease_ms);
	rep = rds_cmd(r, "XAUTOCLAIM %s " MDWQ_GROUP " %s %s 0-0 COUNT 1", key, consumer, lease);
	if (!rep)
		return -1;
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(r->errstr, sizeof r->errstr, "XAUTOCLAIM: %s", rep->str);
		freeReplyObject(rep);
		return -2;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2 || rep->element[1]->type != REDIS_REPLY_ARRAY ||
	    rep->element[1]->elements < 1) {
		freeReplyObject(rep);
		return 0;
	}
	if (!entry_take(e, phase, rep, rep->element[1]->element[0]))
		return 0;
	e->deliveries = mdwq_deliveries(r, run, phase, e->id);
	return 1;
}

int mdwq_lease(struct rds *r, int64_t run, const char *phase, const char *consumer, const char *id)
{
	char key[128];

	mdwq_key(key, sizeof key, run, "q", phase);
	return check(r, rds_cmd(r, "XCLAIM %s " MDWQ_GROUP " %s 0 %s JUSTID", key, consumer, id), "XCLAIM");
}

long long mdwq_deliveries(struct rds *r, int64_t run, const char *phase, const char *id)
{
	char key[128];
	redisReply *rep;
	long long n = 1;

	mdwq_key(key, sizeof key, run, "q", phase);
	rep = rds_cmd(r, "XPENDING %s " MDWQ_GROUP " %s %s 1", key, id, id);
	if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 && rep->element[0]->type == REDIS_REPLY_ARRAY &&
	    rep->element[0]->elements == 4)
		n = rep->element[0]->element[3]->integer;
	freeReplyObject(rep);
	return n;
}

long long mdwq_count_retry(struct rds *r, int64_t run, const char *phase, const char *consumer, const char *id,
			   long long deliveries)
{
	char key[128];
	redisReply *rep;

	/* XCLAIM without JUSTID adds one to the entry's delivery count */
	mdwq_key(key, sizeof key, run, "q", phase);
	rep = rds_cmd(r, "XCLAIM %s " MDWQ_GROUP " %s 0 %s", key, consumer, id);
	if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1)
		deliveries = mdwq_deliveries(r, run, phase, id);
	freeReplyObject(rep);
	return deliveries;
}

int mdwq_give_back(struct rds *r, int64_t run, const char *phase, const char *consumer, const char *id,
		   long long deliveries)
{
	char key[128];

	mdwq_key(key, sizeof key, run, "q", phase);
	return check(r,
		     rds_cmd(r, "XCLAIM %s " MDWQ_GROUP " %s 0 %s RETRYCOUNT %lld JUSTID", key, consumer, id,
			     deliveries > 1 ? deliveries - 1 : 0),
		     "XCLAIM");
}
