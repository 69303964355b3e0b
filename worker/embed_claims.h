/*
 * Claims of texts being embedded, in Redis: mdw:{RUN}:embedding:HASH holds
 * the id of the worker paying for that text, with a time to live of one
 * lease. The holder refreshes its claims while its requests are in flight
 * and releases only its own (compare-and-delete), so a slow answer never
 * lets a second worker pay for the same text, and a late release never
 * frees a claim that another worker took over.
 */
#ifndef MDW_EMBED_CLAIMS_H
#define MDW_EMBED_CLAIMS_H

#include "mdw/rds.h"

/* Claim HASH of run RUN for OWNER for TTL_MS. 1 claimed, 0 held by another, -1 Redis error (r->errstr). */
__attribute__((warn_unused_result)) int embed_claim(struct rds *r, const char *run, const char *hash, const char *owner,
						    long long ttl_ms);

/* Extend to TTL_MS those of HASHES[0..n) (NULL entries skipped) that OWNER holds. Their number, or -1. */
int embed_claims_refresh(struct rds *r, const char *run, char *const *hashes, int n, const char *owner,
			 long long ttl_ms);

/* Release HASH if OWNER holds it (best effort). */
void embed_claim_release(struct rds *r, const char *run, const char *hash, const char *owner);

#endif
