/*
 * The plan of a run (mdw-coordinator --plan, mdwctl plan): what a run would
 * do, computed with the coordinator's own walk (coord_walk) and the worker's
 * own texts (embed_text_sql, embed_hash, embed_tokens_est), on read-only
 * sessions, writing nothing: no run, no ledger rows, no Redis key.
 *
 * Per phase: the source rows, the chunks and rows a run would plan, the
 * rows already migrated (those an incremental run would not read again),
 * the incremental run's chunks, and a time estimated from the last runs'
 * rows per second (the ledger's chunk timings), bounded by MDW_SOURCE_ROWS_PER_S.
 * For the embeddings: the texts, how many distinct, how many the target
 * already holds (free), the tokens and requests left to pay for, and from
 * MDW_RATE_RPM, MDW_RATE_TPM and MDW_EMBED_PRICE_PER_1K the time at quota
 * and the cost. Before patients, cases and projects are migrated the texts
 * cannot be built: the numbers are then estimated from the legacy rows, and
 * the plan says so (its "basis").
 */
#ifndef MDW_PLAN_H
#define MDW_PLAN_H

#include "mdw/config.h"

/* Print the plan of CFG's run on stdout (a table, or JSON with cfg->json). Returns the exit code. */
int plan_print(struct mdw_config *cfg);

#endif
