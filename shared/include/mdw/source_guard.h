/*
 * The guard of the legacy database, in Redis, shared by every worker of the
 * fleet (the idea of ratelimit.h: one Lua script per step, so each step is
 * atomic, and every clock reading is the Redis server's TIME).
 *
 * What is limited is the source *read*: the statement a worker runs on the
 * legacy database for a chunk (its session is in a transaction, state
 * "active" in pg_stat_activity, only while it runs). A worker's source
 * connection stays open between reads, idle; idle sessions are not limited.
 *
 *  - Slots (MDW_SOURCE_MAX_CONNECTIONS): a sorted set at SG_SLOTS_KEY,
 *    member the worker id, score the lease's end. A worker takes a slot
 *    before its read and gives it back after; a killed worker's slot
 *    comes back when its lease (MDW_LEASE_MS) runs out. At most MAX members
 *    hold an unexpired lease at any time.
 *  - Rows (MDW_SOURCE_ROWS_PER_S): a token bucket at SG_RATE_KEY that holds
 *    at most max(1, RATE/20) rows (50 ms worth) and refills at RATE per
 *    second. A read is granted when the bucket is not in debt and debits
 *    its estimate (the bucket may go into debt); after the read, the
 *    difference between the rows read and the estimate is corrected. So the
 *    rows granted by time T never exceed RATE * T + the burst + one read.
 *
 * The keys are not in a run's hash tag: the guard is the legacy database's,
 * whatever run reads it. Every function returns 0, or -1 with ERR.
 */
#ifndef MDW_SOURCE_GUARD_H
#define MDW_SOURCE_GUARD_H

#include <stddef.h>

#include "mdw/rds.h"

#define SG_SLOTS_KEY "mdw:source:slots"
#define SG_RATE_KEY "mdw:source:rate"
#define SG_POLL_MS 20 /* the longest a waiter sleeps before it asks again */

/* Take (or renew) MEMBER's slot of MAX for LEASE_MS: *WAIT_MS 0 when held, else the ms to wait (>= 1). */
__attribute__((warn_unused_result)) int sg_slot_take(struct rds *r, const char *member, long max, long lease_ms,
						     long *wait_ms, char *err, size_t errlen);

/* Give MEMBER's slot back. */
__attribute__((warn_unused_result)) int sg_slot_give(struct rds *r, const char *member, char *err, size_t errlen);

/* Take EST rows at RATE per second: *WAIT_MS 0 when granted (debited), else the ms to wait (>= 1). */
__attribute__((warn_unused_result)) int sg_rows_take(struct rds *r, long rate, long est, long *wait_ms, char *err,
						     size_t errlen);

/* Debit DELTA more rows (rows read - estimate; negative refunds). */
__attribute__((warn_unused_result)) int sg_rows_correct(struct rds *r, long rate, long delta, char *err, size_t errlen);

#endif
