/*
 * Backups before a phase writes (mdw-coordinator --backup-dir DIR): just
 * before the coordinator plans a phase (nothing of the phase is queued yet,
 * so no worker has written), pg_dump in custom format dumps the tables the
 * phase writes into DIR/RUN/NN-PHASE.dump (NN: the phase's place in the
 * phase table), first under a .partial name, renamed when pg_dump succeeded.
 * Each dump is recorded in mdw.backups. A failed dump stops the phase before
 * it writes: the run ends failed, and resumes (dumping again) on the next
 * start.
 *
 * pg_dump runs by fork and exec, without a shell. The target DSN never goes
 * on its command line (where ps would show a password): each setting of the
 * DSN is passed as its libpq environment variable (host as PGHOST, password
 * as PGPASSWORD...) in pg_dump's environment only.
 */
#ifndef MDW_BACKUP_H
#define MDW_BACKUP_H

#include <stddef.h>

#include "coord_state.h"

/* Dump PHASE's tables for C's run when --backup-dir is set (else nothing). 0, or -1 with ERR. */
__attribute__((warn_unused_result)) int backup_phase(struct coord *c, enum mdw_phase_id phase, char *err,
						     size_t errlen);

/*
 * The environment pg_dump runs with: ENVP, with each setting of DSN (a libpq
 * conninfo or URI; "" adds nothing) as its PG* variable, replacing any that
 * ENVP has. NULL-terminated; free with backup_env_free. NULL with ERR on a
 * DSN that does not parse (the message never quotes the DSN).
 */
char **backup_env(const char *dsn, char *const *envp, char *err, size_t errlen);

/* Free what backup_env returned (accepts NULL). */
void backup_env_free(char **env);

/* The dump's file name for PHASE: "NN-PHASE.dump". */
void backup_file_name(enum mdw_phase_id phase, char *buf, size_t len);

#endif
