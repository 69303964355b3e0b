/*
 * The dead chunks of a run, read from the ledger, and their mirrors in
 * Redis's dead-letter stream (dead.c).
 */
#ifndef MDW_OPS_DEAD_H
#define MDW_OPS_DEAD_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "mdw/config.h"
#include "mdw/rds.h"

/* Columns of the ledger's dead chunks: phase, chunk_no, lo, hi, part, attempts, last_error. */
#define DEAD_COLUMNS "phase, chunk_no, lo, hi, coalesce(part, ''), attempts, coalesce(last_error, '')"

struct mdw_chunk;

/* Row I of a DEAD_COLUMNS result as a chunk of RUN. */
void dead_row_chunk(const PGresult *r, int i, int64_t run, struct mdw_chunk *ch);

/* Field NAME of a dead letter's fields F ("" when absent; its length in *LEN when LEN). */
const char *dead_field(const redisReply *f, const char *name, size_t *len);

/* Whether the dead letter with fields F mirrors one of the chunks in L (DEAD_COLUMNS) of RUN. */
int dead_mirrors(const redisReply *f, const PGresult *l, int64_t run);

/* What both commands hold: the target, the run, Redis (when reachable) and the run's dead letters there. */
struct dead_ctx {
	PGconn *c;
	int64_t run;
	char run_s[24], key[128], err[512];
	PGresult *l; /* the ledger's dead chunks (DEAD_COLUMNS) */
	struct rds r;
	redisReply *letters; /* NULL: Redis unreachable */
};

/*
 * Connect, find the run (RUN_ID, else the newest), run SQL ($1 run, $2 PHASE
 * or '') into X->l and read the run's dead letters (X->letters NULL when Redis
 * is unreachable: the ledger is enough). CMD names the command in messages.
 * 0 or -1 (printed); dead_close releases X either way.
 */
int dead_open(struct mdw_config *cfg, struct dead_ctx *x, const char *cmd, const char *sql, const char *phase,
	      long long run_id);
void dead_close(struct dead_ctx *x);

/*
 * retry-dead of PHASE ("" every phase) of run RUN_ID (0: the newest): the
 * dead chunks set pending in the ledger and re-enqueued. Returns how many,
 * or -1 (printed on stderr); MSG says what was done.
 */
int dead_retry(struct mdw_config *cfg, const char *phase, long long run_id, char *msg, size_t msglen);

#endif
