/*
 * Phase practices: dispatch_office -> practices.
 * Rules: blank name -> rejected missing_name; country upper-cased, kept only
 * when it is two letters (else NULL); email trimmed and lower-cased, kept
 * only when well-formed (else NULL: a contact field, not a key); other text
 * trimmed, blank -> NULL. Conflict target (legacy_id): never merges.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "phase_ops.h"
#include "transform_util.h"

enum { C_ID, C_NAME, C_ADDRESS, C_APT, C_CITY, C_STATE, C_ZIP, C_COUNTRY, C_PHONE, C_EMAIL, C_ACTIVE, C_CREATED };

static int transform(const PGresult *r, int row, struct rowbuf *b, struct mdw_reject_info *rej)
{
	const char *country = tu_col(r, row, C_COUNTRY);
	char email[256], cc[3] = {0};

	if (tu_blank(tu_col(r, row, C_NAME))) {
		rej->reason = "missing_name";
		snprintf(rej->detail, sizeof rej->detail, "office name is blank");
		return MDW_ROW_REJECTED;
	}
	rb_str(b, tu_col(r, row, C_ID));
	tu_stage_trimmed(b, tu_col(r, row, C_NAME));
	tu_stage_trimmed(b, tu_col(r, row, C_ADDRESS));
	tu_stage_trimmed(b, tu_col(r, row, C_APT));
	tu_stage_trimmed(b, tu_col(r, row, C_CITY));
	tu_stage_trimmed(b, tu_col(r, row, C_STATE));
	tu_stage_trimmed(b, tu_col(r, row, C_ZIP));
	if (country && isalpha((unsigned char)country[0]) && isalpha((unsigned char)country[1]) && !country[2]) {
		cc[0] = (char)toupper((unsigned char)country[0]);
		cc[1] = (char)toupper((unsigned char)country[1]);
		rb_str(b, cc);
	} else {
		rb_null(b);
	}
	tu_stage_trimmed(b, tu_col(r, row, C_PHONE));
	rb_str(b, tu_email(tu_col(r, row, C_EMAIL), email, sizeof email) ? NULL : email);
	rb_bool(b, tu_bool(r, row, C_ACTIVE));
	rb_str(b, tu_col(r, row, C_CREATED));
	rb_end(b);
	return MDW_ROW_STAGED;
}

const struct phase_ops phase_practices = {
	.source_sql = "SELECT id, name, address, apt, city, state, zip, country, phone, email, is_active, created_at "
		      "FROM public.dispatch_office WHERE id BETWEEN $1 AND $2 ORDER BY id",
	.stage_table = "stage_practices",
	.stage_ddl = "CREATE TEMP TABLE IF NOT EXISTS stage_practices (legacy_id integer PRIMARY KEY, name text, "
		     "address text, apt text, city text, state text, zip text, country text, phone text, email text, "
		     "is_active boolean, created_at timestamptz) ON COMMIT DELETE ROWS",
	.stage_copy = "COPY stage_practices FROM STDIN",
	.transform = transform,
	.insert_sql =
		"INSERT INTO public.practices (legacy_id, name, address, apt, city, state, zip, country, phone, email, "
		"is_active, created_at, mdw_run_id) "
		"SELECT legacy_id, name, address, apt, city, state, zip, country, phone, email, is_active, "
		"created_at, $3::bigint FROM stage_practices s WHERE s.legacy_id BETWEEN $1 AND $2 "
		"ORDER BY s.legacy_id ON CONFLICT (legacy_id) DO NOTHING",
};
