/*
 * The ledger: the target's tables of schema mdw that record every run
 * (runs), each run's phases (run_phases) and chunks (chunks), with the rows
 * it rejected (rejects) and repaired (flags): the migration's progress lives
 * here (Redis only mirrors it). Every statement on the chunks is in
 * ledger.c, as a function, or, where a statement is a larger query built
 * around its caller's logic, as a named SQL text (ledger_sql_*) or printf
 * format (ledger_fmt_*); so are the statements on the other tables that
 * several modules share.
 *
 * A chunk's states: pending (planned) -> running (a worker claimed it) ->
 * done (its rows and counts committed in one transaction) or dead (failed
 * too often, or its phase was stopped); rolled_back after a rollback of its
 * phase. Only pending and running chunks may be applied.
 *
 * Conventions: 0 on success, -1 on failure with ERR set ("SQLSTATE:
 * message", see pgx.h) and *TRANSIENT (where taken, may be NULL) telling
 * whether a retry may succeed. A query's rows come back in *RES (the caller
 * PQclears it), with the columns listed above the function. Phases are named
 * as in the phase table; runs by their id.
 */
#ifndef MDW_LEDGER_H
#define MDW_LEDGER_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "mdw/accounting.h"
#include "mdw/chunk_codec.h"
#include "mdw/pgx.h"

/* --- a worker's chunk, in its transaction (run, phase and chunk_no of C name the row) --- */

/* Whether a chunk in ledger state STATUS may be applied: 1 for pending and running, else 0. */
int ledger_chunk_applicable(const char *status);

/* C's ledger row, if any (0 or 1 rows): status, lo, hi. */
PGX_MUST int ledger_chunk_lookup(PGconn *tgt, const struct mdw_chunk *c, PGresult **res, char *err, size_t errlen,
				 int *transient);

/* Mark C running for WORKER (attempts + 1, started now) if it is pending or running. */
PGX_MUST int ledger_chunk_claim(PGconn *tgt, const struct mdw_chunk *c, const char *worker, char *err, size_t errlen,
				int *transient);

/* Lock C's row for the caller's transaction (FOR UPDATE): *STATUS its state, "" when there is no row. */
PGX_MUST int ledger_chunk_lock(PGconn *tgt, const struct mdw_chunk *c, char *status, size_t statuslen, char *err,
			       size_t errlen, int *transient);

/*
 * Mark C done with the counts N (finished now, its error cleared), in the
 * caller's transaction; HASHED: the row hashes it recorded (rows_hashed,
 * sql/target/012), or -1 for none (NULL).
 */
PGX_MUST int ledger_chunk_done(PGconn *tgt, const struct mdw_chunk *c, const struct mdw_counts *n, long long hashed,
			       char *err, size_t errlen, int *transient);

/* Record ERROR as C's last error, unless C is done. */
PGX_MUST int ledger_chunk_note_error(PGconn *tgt, const struct mdw_chunk *c, const char *error, char *err,
				     size_t errlen);

/* C's last error into OUT ("no error recorded" when there is none or the ledger cannot be read). */
void ledger_chunk_last_error(PGconn *tgt, const struct mdw_chunk *c, char *out, size_t outlen);

/*
 * Mark C dead with ERROR if it is still pending or running: 0; 1 if the
 * ledger had settled it already (done, dead, rolled back: nothing to mark,
 * the message is only acknowledged); -1 on error.
 */
PGX_MUST int ledger_chunk_dead(PGconn *tgt, const struct mdw_chunk *c, const char *error, char *err, size_t errlen);

/* --- a run's phases --- */

/*
 * Set PHASE of RUN to STATE with DETAIL (the validation's result; also its
 * error when STATE is failed; completed now when STATE is complete).
 */
PGX_MUST int ledger_phase_state(PGconn *tgt, int64_t run, const char *phase, const char *state, const char *detail,
				char *err, size_t errlen);

/* PHASE planned in RUN: its run_phases row, running, with SOURCE_ROWS and NCHUNKS (in the caller's transaction). */
PGX_MUST int ledger_phase_insert(PGconn *tgt, int64_t run, const char *phase, long long source_rows, int nchunks,
				 char *err, size_t errlen);

/* Whether PHASE is complete in some run: 1, 0, or -1. */
PGX_MUST int ledger_phase_ever_complete(PGconn *tgt, const char *phase, char *err, size_t errlen);

/* The phases complete in some run: phase. */
PGX_MUST int ledger_complete_phases(PGconn *tgt, PGresult **res, char *err, size_t errlen);

/* RUN's phases with the result of their validation ('' for none): phase, result. */
PGX_MUST int ledger_phase_validations(PGconn *tgt, int64_t run, PGresult **res, char *err, size_t errlen);

/* Mark PHASE of RUN failed with ERROR. */
PGX_MUST int ledger_phase_fail(PGconn *tgt, int64_t run, const char *phase, const char *error, char *err,
			       size_t errlen);

/* --- a phase's chunks --- */

/*
 * The plan of PHASE in RUN: one pending chunk per entry of the array literals
 * LOS, HIS and PARTS ('{1,2}', '{NULL,patients}'), numbered from 0.
 */
PGX_MUST int ledger_chunks_insert(PGconn *tgt, int64_t run, const char *phase, const char *los, const char *his,
				  const char *parts, char *err, size_t errlen);

/* PHASE's pending and running chunks in RUN (ordered): chunk_no, lo, hi, part ('' for none). */
PGX_MUST int ledger_chunks_open(PGconn *tgt, int64_t run, const char *phase, PGresult **res, char *err, size_t errlen);

/* Stop PHASE of RUN: its pending and running chunks become dead with WHY as their error. */
PGX_MUST int ledger_chunks_stop(PGconn *tgt, int64_t run, const char *phase, const char *why, char *err, size_t errlen);

/*
 * The done chunks of PHASE in complete runs, ordered by run and lo, as five
 * array literals in one row: lo, hi, rows_read, epoch the phase was planned,
 * run.
 */
PGX_MUST int ledger_chunks_covered(PGconn *tgt, const char *phase, PGresult **res, char *err, size_t errlen);

/* --- dead chunks --- */

/* The columns of a dead chunk: phase, chunk_no, lo, hi, part ('' for none), attempts, last_error ('' for none). */
#define LEDGER_DEAD_COLUMNS "phase, chunk_no, lo, hi, coalesce(part, ''), attempts, coalesce(last_error, '')"

/* RUN's dead chunks of PHASE ("" every phase), ordered by phase and chunk_no: LEDGER_DEAD_COLUMNS. */
PGX_MUST int ledger_dead_chunks(PGconn *tgt, int64_t run, const char *phase, PGresult **res, char *err, size_t errlen);

/*
 * In one statement, RUN's dead chunks of PHASE ("" every phase) set pending
 * (attempts 0, error cleared) and their failed phases running again;
 * returns those chunks as ledger_dead_chunks does.
 */
PGX_MUST int ledger_dead_chunks_retry(PGconn *tgt, int64_t run, const char *phase, PGresult **res, char *err,
				      size_t errlen);

/* RUN's first dead chunk (0 or 1 rows): phase, chunk_no, last_error ('no error recorded' for none). */
PGX_MUST int ledger_first_dead_chunk(PGconn *tgt, int64_t run, PGresult **res, char *err, size_t errlen);

/* --- figures --- */

/*
 * RUN's phases with their chunks' figures, one row per planned phase:
 * phase, status, source_rows, chunks, done, dead, open (pending or running),
 * rows read, inserted, existing, merged, rejected, rows read per second over
 * the last minute, epoch started, epoch completed (0 = not yet), seconds
 * from the first chunk start to the last chunk end, error ('' for none),
 * rows flagged (0 unless WITH_FLAGS: counting them reads every flag of the
 * run, 16 ms a pass at scale 10, and only the report shows them), rows
 * updated.
 */
PGX_MUST int ledger_phase_stats(PGconn *tgt, int64_t run, int with_flags, PGresult **res, char *err, size_t errlen);

/*
 * PHASE of RUN (0 or 1 rows): source rows at planning, rows read, the sum of
 * the outcomes, chunks that do not balance, chunks not done.
 */
PGX_MUST int ledger_phase_balance(PGconn *tgt, int64_t run, const char *phase, PGresult **res, char *err,
				  size_t errlen);

/* RUN's chunks by phase and status: phase, status, chunks, rows read, inserted, existing, merged, rejected, updated. */
PGX_MUST int ledger_chunk_totals(PGconn *tgt, int64_t run, PGresult **res, char *err, size_t errlen);

/* RUN's done chunks with both times: phase, seconds from start to finish. */
PGX_MUST int ledger_chunk_durations(PGconn *tgt, int64_t run, PGresult **res, char *err, size_t errlen);

/*
 * Rows read per second over RUN by commit time of the done chunks, in at
 * most 61 buckets of whole seconds, ordered by bucket: phase, bucket,
 * bucket seconds, rows read, epoch of the first commit.
 */
PGX_MUST int ledger_rows_series(PGconn *tgt, int64_t run, PGresult **res, char *err, size_t errlen);

/*
 * PHASE's rows read and seconds (first chunk start to last chunk end) over
 * its last three runs with done chunks that read rows; both 0 for none.
 */
PGX_MUST int ledger_phase_rate(PGconn *tgt, const char *phase, double *rows, double *seconds, char *err, size_t errlen);

/* --- rejected and repaired rows --- */

/* RUN's rejects of PHASE by reason, most first: reason, rows. */
PGX_MUST int ledger_rejects_by_reason(PGconn *tgt, int64_t run, const char *phase, PGresult **res, char *err,
				      size_t errlen);

/* RUN's rejects by phase and reason (ordered): phase, reason, rows. */
PGX_MUST int ledger_rejects_by_phase_reason(PGconn *tgt, int64_t run, PGresult **res, char *err, size_t errlen);

/* Whether the target has mdw.flags (a later schema): *PRESENT 1 or 0. */
PGX_MUST int ledger_flags_present(PGconn *tgt, int *present, char *err, size_t errlen);

/* RUN's repaired rows by phase and code (ordered): phase, code, rows. */
PGX_MUST int ledger_flags_by_phase_code(PGconn *tgt, int64_t run, PGresult **res, char *err, size_t errlen);

/* RUN's rows placed with a repaired reference (mdw.flags) by phase: phase, rows. */
PGX_MUST int ledger_flags_by_phase(PGconn *tgt, int64_t run, PGresult **res, char *err, size_t errlen);

/* --- runs --- */

/* The run RUN_ID if it exists, else (RUN_ID <= 0) the newest: *RUN, 0 when there is none. */
PGX_MUST int ledger_run_find(PGconn *tgt, long long run_id, int64_t *run, char *err, size_t errlen);

/* The catch-up run RUN_ID if it is one, else (RUN_ID 0) the newest: *RUN, 0 when there is none. */
PGX_MUST int ledger_catchup_run_find(PGconn *tgt, long long run_id, int64_t *run, char *err, size_t errlen);

/* The newest run not complete (0 or 1 rows): id, its settings' phase list (NULL when unset). */
PGX_MUST int ledger_run_unfinished(PGconn *tgt, PGresult **res, char *err, size_t errlen);

/* A new run with SETTINGS (a JSON object): its id in *RUN. */
PGX_MUST int ledger_run_create(PGconn *tgt, const char *settings, int64_t *run, char *err, size_t errlen);

/* RUN resumed: running again, not finished. */
PGX_MUST int ledger_run_resume(PGconn *tgt, int64_t run, char *err, size_t errlen);

/*
 * RUN's mode: recorded as INCREMENTAL, REDRIVE, CATCH_UP (each 0 or 1) if it
 * has none yet; the mode it has, either way, in *WAS_INCREMENTAL,
 * *WAS_REDRIVE and *WAS_CATCH_UP.
 */
PGX_MUST int ledger_run_mode(PGconn *tgt, int64_t run, int incremental, int redrive, int catch_up, int *was_incremental,
			     int *was_redrive, int *was_catch_up, char *err, size_t errlen);

/* RUN's row (0 or 1 rows): status, epoch started (0 = unknown), epoch finished (0 = not yet). */
PGX_MUST int ledger_run_row(PGconn *tgt, int64_t run, PGresult **res, char *err, size_t errlen);

/* Finish RUN with STATUS and SUMMARY (finished now). */
PGX_MUST int ledger_run_finish(PGconn *tgt, int64_t run, const char *status, const char *summary, char *err,
			       size_t errlen);

/* Whether the target has a ledger at all (*PRESENT 1 or 0). */
PGX_MUST int ledger_present(PGconn *tgt, int *present, char *err, size_t errlen);

/* The newest run not complete and its chunks not done (*RUN 0 when every run is complete). */
PGX_MUST int ledger_resumable_run(PGconn *tgt, long long *run, long long *left, char *err, size_t errlen);

/*
 * Reopen RUN's rolled-back phases: their run_phases, chunks and rejects
 * rows deleted, so that the run plans them again. Returns how many, or -1.
 */
PGX_MUST int ledger_reopen_rolled_back(PGconn *tgt, int64_t run, char *err, size_t errlen);

/* --- statements built around their caller's logic --- */

/*
 * mdwctl catch-up's summary of run $1: per phase, status, rows updated,
 * inserted (its done chunks), conflicts left and deletions not applied.
 */
extern const char ledger_sql_catchup_phases[];

/*
 * Rollback's reset of the ledger, in its transaction: the run_phases ($1
 * phase names text[], $2 run or 0 for every run, and the (phase, run_id)
 * rows of temp table rb_runs) and their chunks become rolled_back, recorded
 * in temp table rb_ledger; returns phase, array literal of the runs.
 */
extern const char ledger_sql_rollback_reset[];

/*
 * printf format of the embeddings' validation counts of run $1, to be filled
 * with the sum of the entity counts and the CASE arms that find a link's
 * entity: entities, links, rejected, dangling links, inserted, stored.
 */
extern const char ledger_fmt_embed_counts[];

/*
 * printf format of a relational phase's validation counts (run $1, phase
 * $2), to be filled with the legacy-id column three times and the target
 * table: inserted by the ledger, rows of the run, rejected, merged, migrated
 * rows (within the run's chunk ranges for an incremental run, and of those
 * the rows it listed for a catch-up run).
 */
extern const char ledger_fmt_phase_counts[];

#endif
