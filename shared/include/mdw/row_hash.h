/*
 * What a run records of each row it writes (mdw.row_hashes,
 * sql/target/008_catch_up.sql): the md5 of the row as verify's target side
 * reads it back (mdw/verify_spec.h), so that a later catch-up tells the
 * application's changes in the target from the legacy's. Recorded by the
 * worker in each chunk's transaction (row_hash_record_chunk), together with
 * the rows; see row_hash.c.
 */
#ifndef MDW_ROW_HASH_H
#define MDW_ROW_HASH_H

#include <libpq-fe.h>
#include <stddef.h>

#include "mdw/chunk_codec.h"
#include "mdw/phase.h"
#include "mdw/pgx.h"

/* Whether PHASE records row hashes and has a catch-up: a relational phase that verify compares row by row. */
int row_hash_covers(enum mdw_phase_id phase);

/*
 * The table whose rows tell which legacy ids of PHASE the migration made
 * (rows with mdw_run_id), and its legacy id column: the phase's target
 * table, or for profiles (merged by email) profile_legacy_users.
 */
const char *row_hash_made_table(enum mdw_phase_id phase);
const char *row_hash_made_key(enum mdw_phase_id phase);

/*
 * In the chunk's open transaction on TGT, after its rows are written: record
 * the hash of every target row of C's id range that C's run made (mdw_run_id)
 * or, in a catch-up run (CATCH_UP), updated in place (mdw.catchup_rows
 * 'update'), replacing an earlier run's hash of the same row. *N: the rows
 * recorded (0 for a phase without hashes). 0, or -1 with ERR (*TRANSIENT as
 * pgx_query sets it).
 */
PGX_MUST int row_hash_record_chunk(PGconn *tgt, const struct mdw_chunk *c, int catch_up, long long *n, char *err,
				   size_t errlen, int *transient);

/*
 * The statement that inserts a chunk's rows and records their hashes at
 * once: INSERT_SQL, the phase's insert (no ON CONFLICT: a range new to the
 * target, with no hash yet), its rows read back by verify's target side over
 * what it returned, so each row is read once instead of again by its legacy
 * id. It returns one row: the rows inserted, the hashes recorded. In *OUT
 * (malloc'd), or NULL where the target side does not read the phase's table
 * alone (profiles, practice members, templates: row_hash_record_chunk). 0, or
 * -1 out of memory.
 */
int row_hash_insert_sql(enum mdw_phase_id phase, const char *insert_sql, char **out);

#endif
