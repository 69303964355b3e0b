/*
 * The coordinator's lock in Redis (mdw:lock:coordinator): one coordinator at
 * a time. The value names the holder (host:pid); it expires unless
 * refreshed, and a holder on this host whose process is gone is replaced.
 */
#ifndef MDW_LOCK_H
#define MDW_LOCK_H

#include <stddef.h>

#include "mdw/rds.h"

#define MDW_LOCK_TTL_MS 15000

/* Take the lock as TOKEN. 0 taken, 1 held by another (HOLDER says who), -1 Redis error. */
int lock_acquire(struct rds *r, const char *token, char *holder, size_t holderlen);

/* Extend the lock if TOKEN still holds it (retaking it if Redis lost it). 0, 1 lost to another, -1 error. */
int lock_refresh(struct rds *r, const char *token, char *holder, size_t holderlen);

/* Release the lock if TOKEN holds it. */
void lock_release(struct rds *r, const char *token);

/*
 * A thread that refreshes TOKEN's lock every third of the TTL on a Redis
 * connection of its own (a copy of R's settings), so that the lock outlives
 * a long step of the coordinator's loop (a slow validation, a backup). It
 * never releases the lock; step() still notices a lock lost to another.
 */
struct lock_keeper;

/* Start refreshing. NULL with ERR when the thread cannot start. */
struct lock_keeper *lock_keeper_start(const struct rds *r, const char *token, char *err, size_t errlen);

/* Stop the thread and free K (may be NULL). */
void lock_keeper_stop(struct lock_keeper *k);

#endif
