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

struct mdw_chunk;

/* Row I of a result of the ledger's dead chunks (LEDGER_DEAD_COLUMNS, mdw/ledger.h) as a chunk of RUN. */
void dead_row_chunk(const PGresult *r, int i, int64_t run, struct mdw_chunk *ch);

/* Field NAME of a dead letter's fields F ("" when absent; its length in *LEN when LEN). */
const char *dead_field(const redisReply *f, const char *name, size_t *len);

/* Whether the dead letter with fields F mirrors one of the chunks in L (LEDGER_DEAD_COLUMNS) of RUN. */
int dead_mirrors(const redisReply *f, const PGresult *l, int64_t run);

/* What both commands hold: the target, the run, Redis (when reachable) and the run's dead letters there. */
struct dead_ctx {
	PGconn *c;
	int64_t run;
	char key[128], err[512];
	PGresult *l; /* the ledger's dead chunks (LEDGER_DEAD_COLUMNS) */
	struct rds r;
	redisReply *letters; /* NULL: Redis unreachable */
};

/* A ledger query of the dead chunks of a run and PHASE ("" every phase): ledger_dead_chunks or ledger_dead_chunks_retry. */
typedef int (*dead_query_fn)(PGconn *tgt, int64_t run, const char *phase, PGresult **res, char *err, size_t errlen);

/*
 * Connect, find the run (RUN_ID, else the newest), run QUERY of PHASE into
 * X->l and read the run's dead letters (X->letters NULL when Redis
 * is unreachable: the ledger is enough). CMD names the command in messages.
 * 0 or -1 (printed); dead_close releases X either way.
 */
int dead_open(struct mdw_config *cfg, struct dead_ctx *x, const char *cmd, dead_query_fn query, const char *phase,
	      long long run_id);
void dead_close(struct dead_ctx *x);

/*
 * retry-dead of PHASE ("" every phase) of run RUN_ID (0: the newest): the
 * dead chunks set pending in the ledger and re-enqueued. Returns how many,
 * or -1 (printed on stderr); MSG says what was done.
 */
int dead_retry(struct mdw_config *cfg, const char *phase, long long run_id, char *msg, size_t msglen);

#endif
