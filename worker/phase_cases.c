/*
 * Phase cases: dispatch_project -> cases (the clinical order; the project's
 * files become a projects row in the next phase).
 * Rules: one case per legacy project, keyed by legacy_project_id; never
 * merges. case_number = "C-" and the legacy id on 10 digits (see case_number), derived here
 * from the id alone (never a sequence), so a retried chunk gets the same
 * number. type 0-5 -> case_type, any other code rejected unknown_case_type;
 * status 0-5 -> status, any other code rejected unknown_case_status. title
 * = the trimmed name, a blank name becomes 'Untitled case' (the target
 * requires a title and the order itself is still worth keeping).
 * clinical_notes = notes unchanged (not trimmed: free clinical text), ''
 * -> NULL. patient NULL -> a case without patient and practice; a patient
 * that dangles in the legacy data (no such dispatch_patient row) -> the same,
 * flagged dangling_patient; a patient that exists there but is not in
 * patients (rejected) rejects the case orphan_patient, naming the patient
 * and its root. The practice is the patient's practice.
 */
#include <stdio.h>

#include "phase_ops.h"
#include "transform_util.h"

enum { C_ID, C_PATIENT, C_NAME, C_TYPE, C_STATUS, C_NOTES, C_CREATED, C_UPDATED, C_PATIENT_DANGLES };

/* Legacy type and status codes (0-5), shared with phase_projects and phase_case_states. */
const char *const cases_type_names[6] = {"initial_treatment",    "refinement",     "retainer",
					 "replacement_aligners", "intraoral_scan", "treatment_plan"};
const char *const cases_status_names[6] = {"draft", "submitted", "in_production", "shipped", "delivered", "cancelled"};

static int code(const PGresult *r, int row, int col, long long *v)
{
	return tu_int(r, row, col, v) == 0 && *v >= 0 && *v <= 5 ? 0 : -1;
}

static int reject_code(struct mdw_reject_info *rej, const char *reason, const char *what, const char *v)
{
	rej->reason = reason;
	snprintf(rej->detail, sizeof rej->detail, "%s code %s is not 0-5", what, v ? v : "NULL");
	return MDW_ROW_REJECTED;
}

/*
 * The case number of legacy project ID: "C-" and |ID| on 10 digits, with a
 * "-" before the digits for a negative ID (C-0000000042, C--0000000011,
 * C--2147483648). Unique over every integer; validate.c derives it the same
 * way in SQL.
 */
static void case_number(long long id, char *out, size_t outlen)
{
	if (id < 0)
		snprintf(out, outlen, "C--%010llu", 0ULL - (unsigned long long)id);
	else
		snprintf(out, outlen, "C-%010lld", id);
}

static int transform(const PGresult *r, int row, struct rowbuf *b, struct mdw_reject_info *rej)
{
	const char *name = tu_col(r, row, C_NAME), *notes = tu_col(r, row, C_NOTES);
	long long id, type, status;
	char number[32];
	struct tu_repair rep[1];
	int nrep = 0;
	const char *patient = tu_col(r, row, C_PATIENT);

	if (code(r, row, C_TYPE, &type) < 0)
		return reject_code(rej, "unknown_case_type", "type", tu_col(r, row, C_TYPE));
	if (code(r, row, C_STATUS, &status) < 0)
		return reject_code(rej, "unknown_case_status", "status", tu_col(r, row, C_STATUS));
	if (tu_int(r, row, C_ID, &id) < 0) {
		rej->reason = "invalid_id";
		snprintf(rej->detail, sizeof rej->detail, "project id is not an integer");
		return MDW_ROW_REJECTED;
	}
	case_number(id, number, sizeof number);
	if (tu_bool(r, row, C_PATIENT_DANGLES)) {
		rep[nrep].code = "dangling_patient";
		snprintf(rep[nrep++].detail, sizeof rep[0].detail, "legacy patient %s", patient);
		patient = NULL;
	}
	rb_str(b, tu_col(r, row, C_ID));
	rb_str(b, patient);
	rb_str(b, number);
	rb_str(b, cases_type_names[type]);
	rb_str(b, cases_status_names[status]);
	if (tu_blank(name))
		rb_str(b, "Untitled case");
	else
		tu_stage_trimmed(b, name);
	rb_str(b, notes && notes[0] ? notes : NULL);
	rb_str(b, tu_col(r, row, C_CREATED));
	rb_str(b, tu_col(r, row, C_UPDATED));
	tu_stage_repairs(b, rep, nrep);
	rb_end(b);
	return MDW_ROW_STAGED;
}

const struct phase_ops phase_cases = {
	.source_sql = "SELECT p.id, p.patient_id, p.name, p.type, p.status, p.notes, p.created_at, p.updated_at, "
		      "p.patient_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.dispatch_patient x "
		      "WHERE x.id = p.patient_id) AS mdw_patient_dangles "
		      "FROM public.dispatch_project p WHERE p.id BETWEEN $1 AND $2 ORDER BY p.id",
	.stage_table = "stage_cases",
	.stage_ddl = "CREATE TEMP TABLE IF NOT EXISTS stage_cases (legacy_id integer PRIMARY KEY, patient_id integer, "
		     "case_number text, case_type text, status text, title text, clinical_notes text, "
		     "created_at timestamptz, updated_at timestamptz, repairs text[]) ON COMMIT DELETE ROWS",
	.stage_copy = "COPY stage_cases FROM STDIN",
	.transform = transform,
	.orphans_sql = MDW_ORPHANS("DELETE FROM stage_cases s WHERE s.legacy_id BETWEEN $1 AND $2 "
				   "AND s.patient_id IS NOT NULL "
				   "AND NOT EXISTS (SELECT 1 FROM public.patients p WHERE p.legacy_id = s.patient_id) "
				   "RETURNING s.legacy_id, 'orphan_patient', 'patient', 'patients', s.patient_id"),
	.insert_sql = "INSERT INTO public.cases (legacy_project_id, case_number, patient_id, practice_id, case_type, "
		      "status, title, clinical_notes, created_at, updated_at, mdw_run_id) "
		      "SELECT s.legacy_id, s.case_number, p.id, p.practice_id, s.case_type, s.status, s.title, "
		      "s.clinical_notes, s.created_at, s.updated_at, $3::bigint "
		      "FROM stage_cases s LEFT JOIN public.patients p ON p.legacy_id = s.patient_id "
		      "WHERE s.legacy_id BETWEEN $1 AND $2 ORDER BY s.legacy_id "
		      "ON CONFLICT (legacy_project_id) DO NOTHING",
	.flags_sql = MDW_FLAGS("stage_cases"),
};
