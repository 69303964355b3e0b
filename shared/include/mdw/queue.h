/*
 * The chunk queue in Redis (DESIGN.md "The queue in Redis"): key names and
 * the stream operations that the coordinator, workers and mdwctl share.
 *
 *   mdw:{RUN}:q:PHASE     stream of chunk messages (fields desc, body), group "workers"
 *   mdw:{RUN}:dead        dead letters (phase, id, desc, body, error, deliveries)
 *   mdw:{RUN}:workers     hash: worker id -> "unix_ms phase#chunk" or "unix_ms idle"
 *   mdw:{RUN}:phase:PHASE hash mirroring the phase's progress
 *   mdw:{RUN}:embed       hash: embedding requests by outcome, limiter waits (all workers)
 *   mdw:{RUN}:rate        the shared rate limiter's state (ratelimit.h)
 *   mdw:{RUN}:embedding:HASH  a text being embedded, claimed by one worker for the lease
 *   mdw:{RUN}:events      list: a token per chunk acknowledged or dead-lettered; the
 *                         coordinator blocks on it (BLPOP) instead of sleeping
 *   mdw:wake              list: a token per chunk queued (at most MDWQ_WAKE_MAX),
 *                         and one per worker of a run that ends; idle workers
 *                         block on it (BLPOP) instead of sleeping, and look at
 *                         their run again when a token wakes them
 *   mdw:current-run, mdw:lock:coordinator
 *
 * The two token lists only shorten waits: a lost or stale token costs at
 * most one poll interval (MDW_POLL_MS), never a chunk.
 *
 * An acknowledged entry is also deleted, so a stream holds exactly the
 * chunks that are queued or in a worker's hands.
 */
#ifndef MDW_QUEUE_H
#define MDW_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "mdw/chunk_codec.h"
#include "mdw/rds.h"

#define MDWQ_GROUP "workers"
#define MDWQ_CURRENT_RUN "mdw:current-run"
#define MDWQ_LOCK "mdw:lock:coordinator"
#define MDWQ_WAKE "mdw:wake"
#define MDWQ_WAKE_MAX 64

/*
 * Key mdw:{RUN}:KIND[:SUB] of the run. KIND is "q" (SUB: the phase), "dead",
 * "workers", "phase" (SUB: the phase), "embed", "rate" or "embedding" (SUB:
 * the text hash): the one place that spells a run's keys.
 */
void mdwq_key(char *buf, size_t len, int64_t run, const char *kind, const char *phase);

/* Create the phase's stream and group if missing. -1 with r->errstr. */
__attribute__((warn_unused_result)) int mdwq_ensure_group(struct rds *r, int64_t run, const char *phase);

/* Append chunk C to its phase's stream. -1 with r->errstr. */
__attribute__((warn_unused_result)) int mdwq_enqueue(struct rds *r, const struct mdw_chunk *c);

/*
 * Acknowledge and delete entry ID of PHASE's stream, then tell the
 * coordinator (a token on mdw:{RUN}:events, best effort). -1 with r->errstr.
 */
__attribute__((warn_unused_result)) int mdwq_ack(struct rds *r, int64_t run, const char *phase, const char *id);

/*
 * Move entry ID (its DESC and BODY) to the dead-letter stream with REASON,
 * then acknowledge and delete it. -1 with r->errstr.
 */
__attribute__((warn_unused_result)) int mdwq_dead_letter(struct rds *r, int64_t run, const char *phase, const char *id,
							 const char *desc, const char *body, size_t bodylen,
							 const char *reason, long long deliveries);

/*
 * The chunk numbers present in PHASE's stream (queued or pending): sets
 * PRESENT[n] = 1 for each chunk n < NMAX. Returns the count of entries, -1
 * with r->errstr, or -2 when the stream or its group does not exist.
 */
int mdwq_present(struct rds *r, int64_t run, const char *phase, unsigned char *present, int nmax);

/* One entry of a phase's stream in hand: what the worker reads of it. */
struct mdwq_entry {
	const char *phase; /* the phase table's name */
	const char *id;    /* the stream entry id */
	const char *desc;  /* its desc field, or NULL */
	const char *body;  /* its body field (BODY_LEN bytes), or NULL when it has none */
	size_t body_len;
	long long deliveries; /* how often Redis delivered it, this delivery included */
	redisReply *reply;    /* owns the strings above (mdwq_entry_free) */
};

void mdwq_entry_free(struct mdwq_entry *e);

/*
 * Read one new entry of PHASE's stream of RUN for CONSUMER into E. 1: got
 * one; 0: none (or the group does not exist yet: the coordinator makes it);
 * -1: Redis unreachable; -2: Redis answered an error (r->errstr).
 */
int mdwq_read_new(struct rds *r, int64_t run, const char *phase, const char *consumer, struct mdwq_entry *e);

/* Take over one entry of PHASE's stream idle for LEASE_MS or more, as mdwq_read_new. */
int mdwq_take_over(struct rds *r, int64_t run, const char *phase, const char *consumer, long long lease_ms,
		   struct mdwq_entry *e);

/* Renew the lease of entry ID that CONSUMER holds (its idle time back to 0). -1 with r->errstr. */
int mdwq_lease(struct rds *r, int64_t run, const char *phase, const char *consumer, const char *id);

/* Entry ID's delivery count (1 when Redis cannot say). */
long long mdwq_deliveries(struct rds *r, int64_t run, const char *phase, const char *id);

/*
 * Count a retry in place of entry ID as a delivery (the count lives in Redis,
 * so it survives this worker). Returns the deliveries after it: DELIVERIES
 * when Redis could not record it.
 */
long long mdwq_count_retry(struct rds *r, int64_t run, const char *phase, const char *consumer, const char *id,
			   long long deliveries);

/*
 * Leave entry ID pending for a later takeover, undoing the delivery this
 * attempt counted (its count back to DELIVERIES - 1). -1 with r->errstr.
 */
int mdwq_give_back(struct rds *r, int64_t run, const char *phase, const char *consumer, const char *id,
		   long long deliveries);

/* Wake up to N idle workers: N tokens on mdw:wake (kept to MDWQ_WAKE_MAX). Best effort. */
void mdwq_wake_workers(struct rds *r, int n);

/*
 * The run is over (complete or failed): wake every worker of RUN (one token
 * each, by the heartbeat hash), so that --exit-when-done workers exit at
 * once instead of at their next poll. Best effort.
 */
void mdwq_wake_run_over(struct rds *r, int64_t run);

/*
 * Wait up to MS milliseconds for a token on list KEY (BLPOP). DRAIN drops
 * the tokens left after the first. 1 woken, 0 timed out, -1 on a Redis
 * error (r->errstr; the caller should sleep instead).
 */
int mdwq_wait(struct rds *r, const char *key, long ms, int drain);

#endif
