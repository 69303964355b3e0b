/*
 * What a catch-up finds for one relational phase: see catchup_find.c.
 */
#ifndef MDW_CATCHUP_FIND_H
#define MDW_CATCHUP_FIND_H

#include <libpq-fe.h>
#include <stddef.h>

#include "mdw/phase.h"
#include "mdw/row_hash.h"
#include "verify.h"

/* What a catch-up finds for one relational phase (counts; nothing written). */
struct catchup_counts {
	long long update, insert, conflict, deleted;
};

/* What catchup_find found for one phase: the legacy ids per action, ascending each. */
struct catchup_found {
	struct verify_ids v;
	char *action;        /* per v.differ: 'u' update, 'c' conflict */
	const char **reason; /* per v.differ: the conflict's reason */
	char *gone;          /* per v.stray: 1 the legacy row is deleted */
	long long n_update, n_conflict, n_deleted;
};

/*
 * Compare PHASE's legacy rows (SRC) with the target (TGT) as verify does and
 * classify what differs into F (initialised here; the caller frees it with
 * catchup_found_free whatever the result). Writes nothing. 0, or -1 with ERR.
 */
__attribute__((warn_unused_result)) int catchup_find(PGconn *src, PGconn *tgt, enum mdw_phase_id phase,
						     struct catchup_found *f, char *err, size_t errlen);

/* Free what F holds (F itself is the caller's). */
void catchup_found_free(struct catchup_found *f);

/* F counted: rows to update, insert, leave in conflict (stray rows whose legacy row exists too), report deleted. */
struct catchup_counts catchup_found_counts(const struct catchup_found *f);

/* What catchup_walk would find for PHASE, writing nothing (the plan). 0, or -1 with ERR. */
__attribute__((warn_unused_result)) int catchup_count(PGconn *src, PGconn *tgt, enum mdw_phase_id phase,
						      struct catchup_counts *n, char *err, size_t errlen);

/* IDS[0..N) as a bigint[] literal (caller frees), or NULL (out of memory). */
char *catchup_ids_literal(const long long *ids, long long n);

#endif
