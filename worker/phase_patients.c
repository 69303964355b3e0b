/*
 * Phase patients: dispatch_patient -> patients.
 * Rules: office and doctor resolved through practices.legacy_id and
 * profile_legacy_users (merged users included); NULL stays NULL; a reference
 * that does not resolve rejects the patient (orphan_practice, orphan_doctor)
 * with a detail saying whether the parent was rejected or never existed.
 * Unknown status codes are rejected (unknown_patient_status). Demographic
 * dirt does not cost the patient record: sex 'm'/'f' -> male/female, ''
 * or NULL -> NULL, any other code -> NULL with quality flag invalid_sex;
 * a birth date in the future (after the record's creation) or before 1900
 * -> NULL with quality flag invalid_birthdate.
 */
#include <stdio.h>
#include <string.h>

#include "phase_ops.h"
#include "transform_util.h"

enum { C_ID, C_DOCTOR, C_OFFICE, C_FIRST, C_LAST, C_BIRTH, C_SEX, C_STATUS, C_ARCHIVED, C_SUSPENDED, C_CREATED,
       C_UPDATED };

static const char *const statuses[] = {"new", "in_treatment", "retention", "completed", "archived"};

static int transform(const PGresult *r, int row, struct rowbuf *b, struct mdw_reject_info *rej)
{
	const char *sex = tu_col(r, row, C_SEX), *birth = tu_col(r, row, C_BIRTH);
	const char *created = tu_col(r, row, C_CREATED);
	const char *flags[2];
	int nflags = 0;
	long long status;
	char flagbuf[64];

	if (tu_int(r, row, C_STATUS, &status) < 0 || status < 0 || status > 4) {
		rej->reason = "unknown_patient_status";
		snprintf(rej->detail, sizeof rej->detail, "status code %s is not 0-4",
			 tu_col(r, row, C_STATUS) ? tu_col(r, row, C_STATUS) : "NULL");
		return MDW_ROW_REJECTED;
	}
	rb_str(b, tu_col(r, row, C_ID));
	rb_str(b, tu_col(r, row, C_OFFICE));
	rb_str(b, tu_col(r, row, C_DOCTOR));
	tu_stage_trimmed_nonnull(b, tu_col(r, row, C_FIRST));
	tu_stage_trimmed_nonnull(b, tu_col(r, row, C_LAST));
	/* dates are ISO (YYYY-MM-DD...), so they compare as strings */
	if (birth && (strcmp(birth, "1900-01-01") < 0 || (created && strncmp(birth, created, 10) > 0) ||
		      strlen(birth) != 10)) {
		rb_null(b);
		flags[nflags++] = "invalid_birthdate";
	} else {
		rb_str(b, birth);
	}
	if (!sex || !sex[0])
		rb_null(b);
	else if (!strcmp(sex, "m") || !strcmp(sex, "f"))
		rb_str(b, sex[0] == 'm' ? "male" : "female");
	else {
		rb_null(b);
		flags[nflags++] = "invalid_sex";
	}
	rb_str(b, statuses[status]);
	rb_bool(b, tu_bool(r, row, C_ARCHIVED));
	rb_bool(b, tu_bool(r, row, C_SUSPENDED));
	snprintf(flagbuf, sizeof flagbuf, "{%s%s%s}", nflags > 0 ? flags[0] : "", nflags > 1 ? "," : "",
		 nflags > 1 ? flags[1] : "");
	rb_str(b, flagbuf);
	rb_str(b, created);
	rb_str(b, tu_col(r, row, C_UPDATED));
	rb_end(b);
	return MDW_ROW_STAGED;
}

const struct phase_ops phase_patients = {
	.source_sql = "SELECT id, doctor_id, office_id, first_name, last_name, birthdate, sex, status, archived, "
		      "suspended, created_at, updated_at "
		      "FROM public.dispatch_patient WHERE id BETWEEN $1 AND $2 ORDER BY id",
	.stage_table = "stage_patients",
	.stage_ddl = "CREATE TEMP TABLE IF NOT EXISTS stage_patients (legacy_id integer PRIMARY KEY, office_id integer, "
		     "doctor_id integer, first_name text, last_name text, birthdate date, sex text, status text, "
		     "is_archived boolean, is_suspended boolean, quality_flags text[], created_at timestamptz, "
		     "updated_at timestamptz) ON COMMIT DELETE ROWS",
	.stage_copy = "COPY stage_patients FROM STDIN",
	.transform = transform,
	.orphans_sql =
		"DELETE FROM stage_patients s WHERE s.legacy_id BETWEEN $1 AND $2 AND ("
		" (s.office_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.practices p WHERE p.legacy_id = s.office_id)) OR"
		" (s.doctor_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.profile_legacy_users u "
		"   WHERE u.legacy_user_id = s.doctor_id))) "
		"RETURNING s.legacy_id, "
		" CASE WHEN s.office_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.practices p WHERE p.legacy_id = s.office_id)"
		"  THEN 'orphan_practice' ELSE 'orphan_doctor' END, "
		" CASE WHEN s.office_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.practices p WHERE p.legacy_id = s.office_id)"
		"  THEN mdw.parent_detail('office', 'practices', s.office_id)"
		"  ELSE mdw.parent_detail('doctor', 'profiles', s.doctor_id) END",
	.insert_sql = "INSERT INTO public.patients (legacy_id, practice_id, profile_id, first_name, last_name, birthdate, sex, "
		      "status, is_archived, is_suspended, quality_flags, created_at, updated_at, mdw_run_id) "
		      "SELECT s.legacy_id, p.id, u.profile_id, s.first_name, s.last_name, s.birthdate, s.sex, s.status, "
		      "s.is_archived, s.is_suspended, s.quality_flags, s.created_at, s.updated_at, $3::bigint "
		      "FROM stage_patients s LEFT JOIN public.practices p ON p.legacy_id = s.office_id "
		      "LEFT JOIN public.profile_legacy_users u ON u.legacy_user_id = s.doctor_id "
		      "WHERE s.legacy_id BETWEEN $1 AND $2 ORDER BY s.legacy_id ON CONFLICT (legacy_id) DO NOTHING",
};
