/*
 * What a chunk is worked with: the worker's sessions, provider, queue and
 * settings, handed to the two chunk kinds (chunk.h) and to the legacy reads
 * (source_read.h). A type only: its own header, so that the steps that take
 * it need not include the chunk protocol.
 */
#ifndef MDW_CHUNK_CTX_H
#define MDW_CHUNK_CTX_H

#include <ev.h>
#include <libpq-fe.h>

struct provider;
struct rds;

struct chunk_ctx {
	PGconn *src;
	PGconn *tgt;
	const char *worker_id;
	struct provider *provider; /* embeddings only */
	struct rds *redis;         /* embeddings only: claims of texts being embedded */
	long long lease_ms;
	long long max_bytes; /* a chunk's source is read, staged and COPYed in parts of about this many bytes */
	/*
	 * Per phase, the source rows per part that the worker's last chunk of it
	 * learned from its rows' size (0: none yet), or NULL. A chunk starts at
	 * that size: without it, each chunk read 16 rows first, to learn the
	 * size, and loaded them as a part of their own (the phase's statements
	 * once more per chunk).
	 */
	long long *part_rows;
	int embed_slice;       /* embeddings stored every this many answers */
	int embed_identifiers; /* patient texts carry name and birth year */
	int fk_by_phase;       /* load with session_replication_role = replica (MDW_FK_CHECKS=phase, privilege held) */
	long long source_max_connections; /* fleet-wide source read slots (0: unlimited; needs redis) */
	long long source_rows_per_s;      /* fleet-wide source rows per second (0: unlimited; needs redis) */
	/* called between steps so that the caller can keep its lease fresh */
	void (*touch)(void *arg);
	void *touch_arg;
	struct ev_loop *loop; /* embeddings: the worker's loop, for timers that run while requests are in flight */
};

#endif
