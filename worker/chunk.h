/*
 * The chunk protocol of a relational phase (DESIGN.md "Chunks"): in one
 * target transaction, lock the ledger row, skip if done, read the source
 * range, transform in C, COPY into staging, insert set-based (bisecting
 * database errors down to single rows under savepoints), write rejects,
 * record the counts and mark the chunk done; commit.
 */
#ifndef MDW_CHUNK_H
#define MDW_CHUNK_H

#include <ev.h>
#include <libpq-fe.h>

#include "mdw/accounting.h"
#include "mdw/chunk_codec.h"
#include "chunk_ctx.h"
#include "rowbuf.h"

/*
 * The outcome of a chunk step, and of a chunk: the one way a step says what
 * became of it (the human detail is in the step's err/errlen). The worker
 * acts on a chunk's outcome in one place (worker.c `work`): acknowledge,
 * give the delivery back, retry with backoff, record a failed attempt,
 * dead-letter, or stop.
 */
enum chunk_outcome {
	CHUNK_OK,          /* the step succeeded: go on; a chunk's: processed and committed now */
	CHUNK_ALREADY,     /* the ledger says done, dead or rolled back: nothing to do, acknowledge */
	CHUNK_RETRY,       /* transient (connection lost, deadlock, provider 5xx...): retry the same chunk later */
	CHUNK_NOT_NOW,     /* ledger row locked by another session, or target read-only/full: not now, not an attempt */
	CHUNK_REJECT_ROWS, /* a step's only: a row breaks a constraint; the range is bisected and the row rejected */
	CHUNK_FAILED,      /* any other error: counts as a failed attempt, left for a retry */
	CHUNK_DEAD,        /* no such ledger row, bounds differ, no transform for the phase: dead-letter it */
	CHUNK_FATAL,       /* retrying cannot help (credentials refused): chunk dead, phase failed, worker stops */
};

/*
 * Process chunk C: the two chunk kinds, peers that share the steps below;
 * the worker picks one by the phase's kind (mdw_phases[].kind). COUNTS gets
 * the chunk's accounting when CHUNK_OK. ERR says why otherwise.
 */
typedef enum chunk_outcome chunk_process_fn(struct chunk_ctx *ctx, const struct mdw_chunk *c, struct mdw_counts *counts,
					    char *err, size_t errlen);
chunk_process_fn chunk_rel_process;   /* a relational phase's chunk (chunk.c) */
chunk_process_fn chunk_embed_process; /* the embeddings phase's chunk (embed_chunk.c) */

/* The steps that both chunk kinds share. */
/*
 * Whether ERR (from the calls below) says the chunk cannot be taken now, through no fault of its
 * own: another session holds its ledger row (lock timeout), or the target refuses writes
 * (read-only, disk full).
 */
int chunk_not_now(const char *err);
/* Whether ERR says the target refuses writes (read-only, disk full): part of chunk_not_now. */
int chunk_writes_refused(const char *err);
/* The outcome of a step that failed with ERR (TRANSIENT from pgx): CHUNK_NOT_NOW, CHUNK_RETRY or CHUNK_FAILED. */
enum chunk_outcome chunk_failure(const char *err, int transient);
/* Mark the chunk running and check the message against the ledger (CHUNK_OK: go on). */
enum chunk_outcome chunk_claim(struct chunk_ctx *ctx, const struct mdw_chunk *c, char *err, size_t errlen);
/* BEGIN and lock the ledger row; *ALREADY when it is done or dead (then committed). -1 with ERR, *TRANSIENT. */
int chunk_begin(struct chunk_ctx *ctx, const struct mdw_chunk *c, int *already, char *err, size_t errlen,
		int *transient);
/* Record the counts (HASHED: the row hashes recorded, -1 none), mark done and COMMIT. -1 with ERR, *TRANSIENT. */
int chunk_finish(struct chunk_ctx *ctx, const struct mdw_chunk *c, const struct mdw_counts *n, long long hashed,
		 char *err, size_t errlen, int *transient);
/* COPY the rows of B with SQL ("COPY ... FROM STDIN"). -1 with ERR, *TRANSIENT. */
int chunk_copy_in(PGconn *t, const char *sql, const struct rowbuf *b, char *err, size_t errlen, int *transient);

/* Record ERR as the chunk's last_error (best effort, own transaction). */
void chunk_record_error(PGconn *tgt, const struct mdw_chunk *c, const char *err);

/* Mark the chunk's phase failed with ERR (a fatal error: the coordinator then ends the run). */
void chunk_fail_phase(PGconn *tgt, const struct mdw_chunk *c, const char *err);

#endif
