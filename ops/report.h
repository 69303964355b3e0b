/*
 * The progress report: migration_progress_report.md and its .json twin,
 * rewritten by the coordinator when a phase changes state (at most every 5
 * s while the run goes on) and at the end of a run,
 * and by `mdwctl report`. Counts and ids only, never row content.
 */
#ifndef MDW_REPORT_H
#define MDW_REPORT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The report of RUN as JSON (caller owns it), or NULL with ERR. Per phase it
 * shows where the migration stands (expectedCount: the source rows now, from
 * SRC; currentCount: the target rows now; rejects still outstanding and rows
 * flagged) beside what this run did. SRC NULL: expectedCount is the count
 * taken when the run planned the phase.
 */
json_t *report_build(PGconn *tgt, PGconn *src, int64_t run, char *err, size_t errlen);

/* Write the report of RUN to PATH (Markdown) and PATH's .json twin, atomically. 0 or -1 with ERR. */
__attribute__((warn_unused_result)) int report_write(PGconn *tgt, PGconn *src, int64_t run, const char *path, char *err,
						     size_t errlen);

#endif
