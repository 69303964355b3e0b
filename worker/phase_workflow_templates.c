/*
 * Phase workflow_templates: dispatch_template -> workflow_templates.
 * Rules: office NULL -> a global template (practice NULL); an office that
 * dangles in the legacy data -> rejected dangling_practice (NULL would make
 * it global); an office not in practices (rejected) -> rejected
 * orphan_practice with its root. name trimmed, blank -> rejected
 * missing_name (the name is the template's key). steps must be a JSON
 * array, stored as compact JSON with its member order kept (steps_json.c);
 * NULL -> []; malformed JSON or any other JSON value -> rejected
 * invalid_steps_json. is_active copied. Conflict target (practice_id, name)
 * with NULLS NOT DISTINCT: a second template of the same practice and name,
 * global templates included, is merged into the first committed one (the
 * lowest id within a chunk) and recorded in mdw.merges.
 */
#include <stdio.h>
#include <stdlib.h>

#include "phase_ops.h"
#include "steps_json.h"
#include "transform_util.h"

enum { C_ID, C_OFFICE, C_NAME, C_STEPS, C_ACTIVE, C_CREATED, C_OFFICE_DANGLES };

static int transform(const PGresult *r, int row, struct rowbuf *b, struct mdw_reject_info *rej)
{
	char *steps;
	int rc;

	if (tu_bool(r, row, C_OFFICE_DANGLES))
		return mdw_reject_dangling(rej, "dangling_practice", "office", tu_col(r, row, C_OFFICE));
	if (tu_blank(tu_col(r, row, C_NAME))) {
		rej->reason = "missing_name";
		snprintf(rej->detail, sizeof rej->detail, "template name is blank");
		return MDW_ROW_REJECTED;
	}
	rc = wt_normalize_steps(tu_col(r, row, C_STEPS), &steps, rej->detail, sizeof rej->detail);
	if (rc == -1) {
		rej->reason = "invalid_steps_json";
		return MDW_ROW_REJECTED;
	}
	if (rc < 0) {
		/* out of memory: fail the chunk (retried), never reject the row */
		b->oom = 1;
		return MDW_ROW_STAGED;
	}
	rb_str(b, tu_col(r, row, C_ID));
	rb_str(b, tu_col(r, row, C_OFFICE));
	tu_stage_trimmed(b, tu_col(r, row, C_NAME));
	rb_str(b, steps);
	rb_bool(b, tu_bool(r, row, C_ACTIVE));
	rb_str(b, tu_col(r, row, C_CREATED));
	rb_end(b);
	free(steps);
	return MDW_ROW_STAGED;
}

#define NO_PRACTICE                                                                                                    \
	"s.office_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.practices p WHERE p.legacy_id = s.office_id)"

const struct phase_ops phase_workflow_templates = {
	.source_sql = "SELECT t.id, t.office_id, t.name, t.steps, t.is_active, t.created_at, "
		      "t.office_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.dispatch_office o "
		      "WHERE o.id = t.office_id) AS mdw_office_dangles "
		      "FROM public.dispatch_template t WHERE t.id BETWEEN $1 AND $2 ORDER BY t.id",
	.stage_table = "stage_workflow_templates",
	.stage_ddl = "CREATE TEMP TABLE IF NOT EXISTS stage_workflow_templates (legacy_id integer PRIMARY KEY, "
		     "office_id integer, name text, steps jsonb, is_active boolean, created_at timestamptz) "
		     "ON COMMIT DELETE ROWS",
	.stage_copy = "COPY stage_workflow_templates FROM STDIN",
	.transform = transform,
	.orphans_sql = MDW_ORPHANS(
		"DELETE FROM stage_workflow_templates s WHERE s.legacy_id BETWEEN $1 AND $2 AND " NO_PRACTICE
		" RETURNING s.legacy_id, 'orphan_practice', 'office', 'practices', "
		"s.office_id"),
	.insert_sql =
		"INSERT INTO public.workflow_templates (legacy_id, practice_id, name, steps, is_active, created_at, "
		"mdw_run_id) "
		"SELECT s.legacy_id, p.id, s.name, s.steps, s.is_active, s.created_at, $3::bigint "
		"FROM stage_workflow_templates s LEFT JOIN public.practices p ON p.legacy_id = s.office_id "
		"WHERE s.legacy_id BETWEEN $1 AND $2 ORDER BY s.legacy_id "
		"ON CONFLICT (practice_id, name) DO NOTHING",
	/* merged: the practice (or none) and name are held by another legacy template, not merged before */
	.merged_sql =
		"WITH m AS (SELECT s.legacy_id, w.id FROM stage_workflow_templates s "
		" LEFT JOIN public.practices p ON p.legacy_id = s.office_id "
		" JOIN public.workflow_templates w ON w.practice_id IS NOT DISTINCT FROM p.id AND w.name = s.name "
		" WHERE s.legacy_id BETWEEN $1 AND $2 AND w.legacy_id IS DISTINCT FROM s.legacy_id "
		" AND NOT EXISTS (SELECT 1 FROM mdw.merges g WHERE g.phase = $4::text AND g.legacy_id = s.legacy_id)), "
		"g AS (INSERT INTO mdw.merges (run_id, phase, legacy_id, target_id) "
		" SELECT $3::bigint, $4::text, legacy_id, id FROM m ON CONFLICT DO NOTHING) "
		"SELECT count(*) FROM m",
};
