/*
 * Phase patients: dispatch_patient -> patients.
 * Rules: office and doctor resolved through practices.legacy_id and
 * profile_legacy_users (merged users included); NULL stays NULL. A doctor
 * or office that dangles in the legacy data (no such auth_user or
 * dispatch_office row) is repaired: the patient is inserted with it NULL
 * and flagged dangling_doctor / dangling_office; an office that dangles
 * while the doctor belongs to exactly one (existing) office gets that
 * office, flagged practice_from_doctor. A doctor or office that exists in
 * the legacy data but is not in the target (rejected) rejects the patient
 * (orphan_doctor, orphan_practice) naming the parent and its root.
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

enum {
	C_ID,
	C_DOCTOR,
	C_OFFICE,
	C_FIRST,
	C_LAST,
	C_BIRTH,
	C_SEX,
	C_STATUS,
	C_ARCHIVED,
	C_SUSPENDED,
	C_CREATED,
	C_UPDATED,
	C_DOCTOR_DANGLES,
	C_OFFICE_DANGLES,
	C_DOCTOR_OFFICE
};

static const char *const statuses[] = {"new", "in_treatment", "retention", "completed", "archived"};

static int transform(const PGresult *r, int row, struct rowbuf *b, struct mdw_reject_info *rej)
{
	const char *sex = tu_col(r, row, C_SEX), *birth = tu_col(r, row, C_BIRTH);
	const char *created = tu_col(r, row, C_CREATED);
	const char *flags[2];
	int nflags = 0;
	long long status;
	char flagbuf[64];
	struct tu_repair rep[2];
	int nrep = 0, inferred = 0;
	const char *office = tu_col(r, row, C_OFFICE), *doctor = tu_col(r, row, C_DOCTOR);

	if (tu_int(r, row, C_STATUS, &status) < 0 || status < 0 || status > 4) {
		rej->reason = "unknown_patient_status";
		snprintf(rej->detail, sizeof rej->detail, "status code %s is not 0-4",
			 tu_col(r, row, C_STATUS) ? tu_col(r, row, C_STATUS) : "NULL");
		return MDW_ROW_REJECTED;
	}
	if (tu_bool(r, row, C_DOCTOR_DANGLES)) {
		rep[nrep].code = "dangling_doctor";
		snprintf(rep[nrep++].detail, sizeof rep[0].detail, "legacy user %s", doctor);
		doctor = NULL;
	}
	if (tu_bool(r, row, C_OFFICE_DANGLES)) {
		const char *inf = doctor ? tu_col(r, row, C_DOCTOR_OFFICE) : NULL;
		rep[nrep].code = inf ? "practice_from_doctor" : "dangling_office";
		if (inf)
			snprintf(rep[nrep++].detail, sizeof rep[0].detail, "legacy office %s; office %s of doctor %s",
				 office, inf, doctor);
		else
			snprintf(rep[nrep++].detail, sizeof rep[0].detail, "legacy office %s", office);
		office = inf;
		inferred = inf != NULL;
	}
	rb_str(b, tu_col(r, row, C_ID));
	rb_str(b, office);
	rb_bool(b, inferred);
	rb_str(b, doctor);
	tu_stage_trimmed_nonnull(b, tu_col(r, row, C_FIRST));
	tu_stage_trimmed_nonnull(b, tu_col(r, row, C_LAST));
	/* dates are ISO (YYYY-MM-DD...), so they compare as strings */
	if (birth &&
	    (strcmp(birth, "1900-01-01") < 0 || (created && strncmp(birth, created, 10) > 0) || strlen(birth) != 10)) {
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
	tu_stage_repairs(b, rep, nrep);
	rb_end(b);
	return MDW_ROW_STAGED;
}

#define NO_PRACTICE                                                                                                    \
	"(s.office_id IS NOT NULL AND NOT s.office_inferred AND "                                                      \
	"NOT EXISTS (SELECT 1 FROM public.practices p WHERE p.legacy_id = s.office_id))"

const struct phase_ops phase_patients = {
	.source_sql =
		"SELECT p.id, p.doctor_id, p.office_id, p.first_name, p.last_name, p.birthdate, p.sex, p.status, "
		"p.archived, p.suspended, p.created_at, p.updated_at, "
		"p.doctor_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.auth_user u WHERE u.id = p.doctor_id) "
		"AS mdw_doctor_dangles, "
		"p.office_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.dispatch_office o "
		"WHERE o.id = p.office_id) AS mdw_office_dangles, "
		"(SELECT min(d.office_id) FROM public.dispatch_office_doctors d JOIN public.dispatch_office o "
		"ON o.id = d.office_id WHERE d.user_id = p.doctor_id HAVING count(DISTINCT d.office_id) = 1) "
		"AS mdw_doctor_office "
		"FROM public.dispatch_patient p WHERE p.id BETWEEN $1 AND $2 ORDER BY p.id",
	.stage_table = "stage_patients",
	.stage_ddl =
		"CREATE TEMP TABLE IF NOT EXISTS stage_patients (legacy_id integer PRIMARY KEY, office_id integer, "
		"office_inferred boolean, doctor_id integer, first_name text, last_name text, birthdate date, "
		"sex text, status text, is_archived boolean, is_suspended boolean, quality_flags text[], "
		"created_at timestamptz, updated_at timestamptz, repairs text[]) ON COMMIT DELETE ROWS",
	.stage_copy = "COPY stage_patients FROM STDIN",
	.transform = transform,
	.orphans_sql =
		MDW_ORPHANS("DELETE FROM stage_patients s WHERE s.legacy_id BETWEEN $1 AND $2 AND (" NO_PRACTICE " OR"
			    " (s.doctor_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.profile_legacy_users u "
			    "   WHERE u.legacy_user_id = s.doctor_id))) "
			    "RETURNING s.legacy_id, "
			    " CASE WHEN " NO_PRACTICE " THEN 'orphan_practice' ELSE 'orphan_doctor' END, "
			    " CASE WHEN " NO_PRACTICE " THEN 'office' ELSE 'doctor' END, "
			    " CASE WHEN " NO_PRACTICE " THEN 'practices' ELSE 'profiles' END, "
			    " CASE WHEN " NO_PRACTICE " THEN s.office_id ELSE s.doctor_id END"),
	.insert_sql =
		"INSERT INTO public.patients (legacy_id, practice_id, profile_id, first_name, last_name, birthdate, "
		"sex, status, is_archived, is_suspended, quality_flags, created_at, updated_at, mdw_run_id) "
		"SELECT s.legacy_id, p.id, u.profile_id, s.first_name, s.last_name, s.birthdate, s.sex, s.status, "
		"s.is_archived, s.is_suspended, s.quality_flags, s.created_at, s.updated_at, $3::bigint "
		"FROM stage_patients s LEFT JOIN public.practices p ON p.legacy_id = s.office_id "
		"LEFT JOIN public.profile_legacy_users u ON u.legacy_user_id = s.doctor_id "
		"WHERE s.legacy_id BETWEEN $1 AND $2 ORDER BY s.legacy_id ON CONFLICT (legacy_id) DO NOTHING",
	.flags_sql = MDW_FLAGS("stage_patients"),
};
