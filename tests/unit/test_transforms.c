/*
 * CUnit: the phase transforms, without a server: fake legacy rows built with
 * libpq's PGresult constructors go through each phase's transform(), and the
 * staged COPY line (or the reject reason) is compared exactly. The
 * workflow steps normalizer on its own is test_steps_json.c.
 */
#include <jansson.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "phase_ops.h"

extern const struct phase_ops phase_practices, phase_profiles, phase_patients, phase_cases, phase_projects,
	phase_practice_members, phase_case_states, phase_workflow_templates;

#define TS "2020-01-01 00:00:00+00"
#define TS2 "2020-01-02 00:00:00+00"
#define N NULL /* SQL NULL */

/* The columns of SQL's select list: commas outside parentheses before the first top-level FROM, plus one. */
static int select_columns(const char *sql)
{
	int depth = 0, n = 1;
	for (const char *p = sql; *p; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')')
			depth--;
		else if (depth == 0 && *p == ',')
			n++;
		else if (depth == 0 && strncmp(p, " FROM ", 6) == 0)
			return n;
	}
	return -1;
}

/* The columns of a stage table: commas inside its DDL's outer parentheses, plus one. */
static int stage_columns(const char *ddl)
{
	const char *p = strchr(ddl, '(');
	int depth = 0, n = 1;
	for (; p && *p; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return n;
		else if (depth == 1 && *p == ',')
			n++;
	}
	return -1;
}

static char result[4096];
static char detail[256];

/*
 * Transform one fake row of N text values (NULL: SQL NULL) with OPS. Returns
 * the staged COPY text, or "reject:<reason>" (the detail in `detail`).
 */
/* A result of one row of N text columns (VALS[i] NULL: SQL NULL), as a server would send it. */
static PGresult *fake_row(const char *const *vals, int n)
{
	PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc att[16];
	char names[16][16];

	CU_ASSERT_FATAL(r != NULL && n <= 16);
	for (int i = 0; i < n; i++) {
		snprintf(names[i], sizeof names[i], "c%d", i);
		att[i] = (PGresAttDesc){.name = names[i], .format = 0, .typid = 25, .typlen = -1, .atttypmod = -1};
	}
	CU_ASSERT_FATAL(PQsetResultAttrs(r, n, att));
	for (int i = 0; i < n; i++)
		CU_ASSERT_FATAL(PQsetvalue(r, 0, i, (char *)vals[i], vals[i] ? (int)strlen(vals[i]) : -1));
	return r;
}

static const char *xform(const struct phase_ops *ops, const char *const *vals, int n)
{
	PGresult *r = fake_row(vals, n);
	struct rowbuf b;
	struct mdw_reject_info rej = {0};
	int rc, tabs = 0;

	CU_ASSERT_EQUAL(n, select_columns(ops->source_sql));
	rb_init(&b);
	rc = ops->transform(r, 0, &b, &rej);
	detail[0] = 0;
	if (rc == MDW_ROW_REJECTED) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(rej.reason);
		snprintf(result, sizeof result, "reject:%s", rej.reason);
		snprintf(detail, sizeof detail, "%s", rej.detail);
		CU_ASSERT(detail[0] != 0);
	} else {
		CU_ASSERT_EQUAL(rc, MDW_ROW_STAGED);
		CU_ASSERT_FALSE(b.oom);
		CU_ASSERT_FATAL(b.len < sizeof result);
		memcpy(result, b.p, b.len);
		result[b.len] = 0;
		/* one line, as many fields as the stage table has columns */
		for (size_t i = 0; i < b.len; i++)
			tabs += b.p[i] == '\t';
		CU_ASSERT_EQUAL(tabs + 1, stage_columns(ops->stage_ddl));
		CU_ASSERT(b.len > 0 && b.p[b.len - 1] == '\n' && memchr(b.p, '\n', b.len) == b.p + b.len - 1);
	}
	rb_free(&b);
	PQclear(r);
	return result;
}

/* ROW("a", N, ...): the values and their count, as fake_row() and xform() take them */
#define ROW(...)                                                                                                       \
	((const char *const[]){__VA_ARGS__}), (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))
#define X(ops, ...) xform(&(ops), ROW(__VA_ARGS__))

/* ---------------------------------------------------------------- practices */

#define OFFICE(name, country, email) X(phase_practices, "1", name, N, "", " City ", N, N, country, N, email, "t", TS)

static void test_practices(void)
{
	CU_ASSERT_STRING_EQUAL(OFFICE("  Main  ", "us", " Info@X.COM "),
			       "1\tMain\t\\N\t\\N\tCity\t\\N\t\\N\tUS\t\\N\tinfo@x.com\tt\t" TS "\n");
	CU_ASSERT_STRING_EQUAL(OFFICE("Main", "USA", "nope"),
			       "1\tMain\t\\N\t\\N\tCity\t\\N\t\\N\t\\N\t\\N\t\\N\tt\t" TS "\n");
	CU_ASSERT_STRING_EQUAL(OFFICE(" \t ", "us", N), "reject:missing_name");
	CU_ASSERT_STRING_EQUAL(OFFICE("", "us", N), "reject:missing_name");
}

static void test_copy_escaping(void)
{
	CU_ASSERT_STRING_EQUAL(OFFICE("a\tb\nc\\d\re", N, N),
			       "1\ta\\tb\\nc\\\\d\\re\t\\N\t\\N\tCity\t\\N\t\\N\t\\N\t\\N\t\\N\tt\t" TS "\n");
	CU_ASSERT_STRING_EQUAL(X(phase_cases, "7", N, "x\\N", "0", "0", "line1\nline2\ttab", TS, TS2, "f"),
			       "7\t\\N\tC-0000000007\tinitial_treatment\tdraft\tx\\\\N\tline1\\nline2\\ttab\t" TS
			       "\t" TS2 "\t{}\n");
}

/* ---------------------------------------------------------------- profiles */

#define USER(email, super, staff, member) X(phase_profiles, "10", email, " Ann ", "", super, staff, "t", N, TS, member)

static void test_profiles(void)
{
	CU_ASSERT_STRING_EQUAL(USER("a@x.com", "f", "f", "f"), "10\ta@x.com\tAnn\t\tuser\tt\t\\N\t" TS "\n");
	CU_ASSERT_STRING_EQUAL(USER("  John.Doe@Example.COM \t", "f", "f", "f"),
			       "10\tjohn.doe@example.com\tAnn\t\tuser\tt\t\\N\t" TS "\n");
	CU_ASSERT_STRING_EQUAL(USER("", "f", "f", "f"), "reject:missing_email");
	CU_ASSERT_STRING_EQUAL(USER("   ", "f", "f", "f"), "reject:missing_email");
	CU_ASSERT_STRING_EQUAL(USER(N, "f", "f", "f"), "reject:missing_email");
	CU_ASSERT_STRING_EQUAL(USER("nope", "f", "f", "f"), "reject:invalid_email");
	CU_ASSERT_STRING_EQUAL(USER("a@b", "f", "f", "f"), "reject:invalid_email");
	CU_ASSERT_STRING_EQUAL(USER("a b@x.com", "f", "f", "f"), "reject:invalid_email");
	CU_ASSERT_STRING_EQUAL(USER("a@@x.com", "f", "f", "f"), "reject:invalid_email");
	CU_ASSERT_PTR_NULL(strstr(detail, "a@@x.com"));
}

static void test_profile_roles(void)
{
	CU_ASSERT_PTR_NOT_NULL(strstr(USER("a@x.com", "t", "t", "t"), "\tadmin\t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(USER("a@x.com", "f", "t", "t"), "\tstaff\t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(USER("a@x.com", "f", "f", "t"), "\tdoctor\t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(USER("a@x.com", "f", "f", "f"), "\tuser\t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(USER("a@x.com", N, N, N), "\tuser\t"));
}

/* ---------------------------------------------------------------- patients */

#define PATIENT(birth, sex, status)                                                                                    \
	X(phase_patients, "20", "10", "1", " Pat ", "Doe", birth, sex, status, "f", "t", TS, TS2, "f", "f", N)

static void test_patients(void)
{
	CU_ASSERT_STRING_EQUAL(PATIENT("1990-05-01", "f", "1"),
			       "20\t1\tf\t10\tPat\tDoe\t1990-05-01\tfemale\tin_treatment\tf\tt\t{}\t" TS "\t" TS2
			       "\t{}\n");
	CU_ASSERT_STRING_EQUAL(PATIENT(N, "m", "0"),
			       "20\t1\tf\t10\tPat\tDoe\t\\N\tmale\tnew\tf\tt\t{}\t" TS "\t" TS2 "\t{}\n");
	CU_ASSERT_STRING_EQUAL(PATIENT(N, "", "4"),
			       "20\t1\tf\t10\tPat\tDoe\t\\N\t\\N\tarchived\tf\tt\t{}\t" TS "\t" TS2 "\t{}\n");
	CU_ASSERT_STRING_EQUAL(PATIENT(N, N, "5"), "reject:unknown_patient_status");
	CU_ASSERT_STRING_EQUAL(PATIENT(N, N, "-1"), "reject:unknown_patient_status");
	CU_ASSERT_STRING_EQUAL(detail, "status code -1 is not 0-4");
	CU_ASSERT_STRING_EQUAL(PATIENT(N, N, N), "reject:unknown_patient_status");
}

static void test_patient_flags(void)
{
	CU_ASSERT_STRING_EQUAL(PATIENT("1990-05-01", "x", "2"),
			       "20\t1\tf\t10\tPat\tDoe\t1990-05-01\t\\N\tretention\tf\tt\t{invalid_sex}\t" TS "\t" TS2
			       "\t{}\n");
	CU_ASSERT_STRING_EQUAL(PATIENT("1850-01-01", "m", "3"),
			       "20\t1\tf\t10\tPat\tDoe\t\\N\tmale\tcompleted\tf\tt\t{invalid_birthdate}\t" TS "\t" TS2
			       "\t{}\n");
	/* after the record's creation */
	CU_ASSERT_STRING_EQUAL(PATIENT("2030-01-01", "?", "3"),
			       "20\t1\tf\t10\tPat\tDoe\t\\N\t\\N\tcompleted\tf\tt\t"
			       "{invalid_birthdate,invalid_sex}\t" TS "\t" TS2 "\t{}\n");
}

static void test_patient_repairs(void)
{
	/* a doctor and an office that dangle in the legacy data: NULL, flagged with the legacy values */
	CU_ASSERT_STRING_EQUAL(X(phase_patients, "20", "424242424", "7", "P", "D", N, N, "0", "f", "f", TS, TS2, "t",
				 "t", N),
			       "20\t\\N\tf\t\\N\tP\tD\t\\N\t\\N\tnew\tf\tf\t{}\t" TS "\t" TS2
			       "\t{\"dangling_doctor|legacy user 424242424\",\"dangling_office|legacy office 7\"}\n");
	/* the office dangles, the doctor's only office is 9: that practice */
	CU_ASSERT_STRING_EQUAL(X(phase_patients, "21", "10", "7", "P", "D", N, N, "0", "f", "f", TS, TS2, "f", "t",
				 "9"),
			       "21\t9\tt\t10\tP\tD\t\\N\t\\N\tnew\tf\tf\t{}\t" TS "\t" TS2
			       "\t{\"practice_from_doctor|legacy office 7; office 9 of doctor 10\"}\n");
	/* a NULL office is no repair, and is not inferred */
	CU_ASSERT_STRING_EQUAL(X(phase_patients, "22", "10", N, "P", "D", N, N, "0", "f", "f", TS, TS2, "f", "f", "9"),
			       "22\t\\N\tf\t10\tP\tD\t\\N\t\\N\tnew\tf\tf\t{}\t" TS "\t" TS2 "\t{}\n");
}

/* ---------------------------------------------------------------- cases */

#define CASE(id, patient, name, type, status, notes)                                                                   \
	X(phase_cases, id, patient, name, type, status, notes, TS, TS2, "f")

static void test_cases(void)
{
	CU_ASSERT_STRING_EQUAL(CASE("30", "20", "  Aligners ", "0", "1", " keep as is "),
			       "30\t20\tC-0000000030\tinitial_treatment\tsubmitted\tAligners\t keep as is \t" TS
			       "\t" TS2 "\t{}\n");
	CU_ASSERT_STRING_EQUAL(CASE("31", N, "   ", "5", "5", ""),
			       "31\t\\N\tC-0000000031\ttreatment_plan\tcancelled\tUntitled case\t\\N\t" TS "\t" TS2
			       "\t{}\n");
	CU_ASSERT_STRING_EQUAL(CASE("32", N, "n", "1", "2", N),
			       "32\t\\N\tC-0000000032\trefinement\tin_production\tn\t\\N\t" TS "\t" TS2 "\t{}\n");
	CU_ASSERT_PTR_NOT_NULL(strstr(CASE("33", N, "n", "2", "3", N), "\tretainer\tshipped\t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(CASE("33", N, "n", "3", "4", N), "\treplacement_aligners\tdelivered\t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(CASE("33", N, "n", "4", "0", N), "\tintraoral_scan\tdraft\t"));
}

static void test_case_number(void)
{
	CU_ASSERT_PTR_NOT_NULL(strstr(CASE("1", N, "n", "0", "0", N), "\tC-0000000001\t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(CASE("123456789", N, "n", "0", "0", N), "\tC-0123456789\t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(CASE("2147483647", N, "n", "0", "0", N), "\tC-2147483647\t"));
	/* deterministic: the same project, the same number */
	CU_ASSERT_STRING_EQUAL(CASE("77", N, "n", "0", "0", N),
			       "77\t\\N\tC-0000000077\tinitial_treatment\tdraft\tn\t\\N\t" TS "\t" TS2 "\t{}\n");
}

static void test_case_rejects(void)
{
	CU_ASSERT_STRING_EQUAL(CASE("30", "20", "n", "6", "1", N), "reject:unknown_case_type");
	CU_ASSERT_STRING_EQUAL(detail, "type code 6 is not 0-5");
	CU_ASSERT_STRING_EQUAL(CASE("30", "20", "n", "-1", "1", N), "reject:unknown_case_type");
	CU_ASSERT_STRING_EQUAL(CASE("30", "20", "n", N, "1", N), "reject:unknown_case_type");
	CU_ASSERT_STRING_EQUAL(CASE("30", "20", "n", "1", "6", N), "reject:unknown_case_status");
	CU_ASSERT_STRING_EQUAL(detail, "status code 6 is not 0-5");
	CU_ASSERT_STRING_EQUAL(CASE("30", "20", "n", "1", "32767", N), "reject:unknown_case_status");
}

static void test_case_repairs(void)
{
	CU_ASSERT_STRING_EQUAL(X(phase_cases, "30", "99", "n", "0", "0", N, TS, TS2, "t"),
			       "30\t\\N\tC-0000000030\tinitial_treatment\tdraft\tn\t\\N\t" TS "\t" TS2
			       "\t{\"dangling_patient|legacy patient 99\"}\n");
}

/* ---------------------------------------------------------------- projects */

#define UID "6f1c2a4e-0b7d-4c1e-9a55-0d3e8b7f1a20"
#define PROJECT(name, type, size) X(phase_projects, "30", UID, "10", name, type, size, TS, TS2, "f")

static void test_projects(void)
{
	CU_ASSERT_STRING_EQUAL(PROJECT(" Scan ", "4", "123"),
			       "30\t" UID "\t10\tScan\tintraoral_scan\t123\t{}\t" TS "\t" TS2 "\t{}\n");
	CU_ASSERT_STRING_EQUAL(PROJECT(" ", "0", N),
			       "30\t" UID "\t10\tUntitled project\tinitial_treatment\t\\N\t{}\t" TS "\t" TS2 "\t{}\n");
	CU_ASSERT_STRING_EQUAL(PROJECT("p", "1", "0"), "30\t" UID "\t10\tp\trefinement\t0\t{}\t" TS "\t" TS2 "\t{}\n");
	CU_ASSERT_STRING_EQUAL(X(phase_projects, "31", UID, N, "p", "5", N, TS, TS2, "f"),
			       "31\t" UID "\t\\N\tp\ttreatment_plan\t\\N\t{}\t" TS "\t" TS2 "\t{}\n");
	/* an unknown type rejected the case: staged without asset type, orphans_sql rejects it through its case */
	CU_ASSERT_STRING_EQUAL(PROJECT("p", "7", "1"), "30\t" UID "\t10\tp\t\\N\t1\t{}\t" TS "\t" TS2 "\t{}\n");
	CU_ASSERT_STRING_EQUAL(X(phase_projects, "32", UID, "424242424", "p", "5", N, TS, TS2, "t"),
			       "32\t" UID "\t\\N\tp\ttreatment_plan\t\\N\t{}\t" TS "\t" TS2
			       "\t{\"dangling_creator|legacy user 424242424\"}\n");
}

static void test_project_sizes(void)
{
	CU_ASSERT_STRING_EQUAL(PROJECT("p", "2", "-5"),
			       "30\t" UID "\t10\tp\tretainer\t\\N\t{negative_size}\t" TS "\t" TS2 "\t{}\n");
	CU_ASSERT_STRING_EQUAL(PROJECT("p", "2", "-9223372036854775808"),
			       "30\t" UID "\t10\tp\tretainer\t\\N\t{negative_size}\t" TS "\t" TS2 "\t{}\n");
	CU_ASSERT_STRING_EQUAL(PROJECT("p", "2", "9223372036854775807"),
			       "30\t" UID "\t10\tp\tretainer\t9223372036854775807\t{}\t" TS "\t" TS2 "\t{}\n");
	CU_ASSERT_STRING_EQUAL(PROJECT("p", "2", "9007199254740993"), /* 2^53 + 1: no double on the way */
			       "30\t" UID "\t10\tp\tretainer\t9007199254740993\t{}\t" TS "\t" TS2 "\t{}\n");
}

/* ---------------------------------------------------------------- practice_members, case_states */

static void test_practice_members(void)
{
	CU_ASSERT_STRING_EQUAL(X(phase_practice_members, "100", "1", "10", "f", "f"), "100\t1\t10\n");
	CU_ASSERT_STRING_EQUAL(X(phase_practice_members, "101", N, N, "f", "f"), "101\t\\N\t\\N\n");
	CU_ASSERT_STRING_EQUAL(X(phase_practice_members, "102", "7", "10", "t", "f"), "reject:dangling_practice");
	CU_ASSERT_STRING_EQUAL(detail, "legacy office 7 does not exist");
	CU_ASSERT_STRING_EQUAL(X(phase_practice_members, "102", "7", "10", "f", "t"), "reject:dangling_profile");
}

#define STATE(status, actor, note) X(phase_case_states, "40", "30", status, actor, TS, note, "f", "f")

static void test_case_states(void)
{
	CU_ASSERT_STRING_EQUAL(STATE("3", N, "n\to"), "40\t30\t\\N\tshipped\t" TS "\tn\\to\t{}\n");
	CU_ASSERT_STRING_EQUAL(STATE("0", "10", N), "40\t30\t10\tdraft\t" TS "\t\\N\t{}\n");
	CU_ASSERT_STRING_EQUAL(STATE("5", "10", ""), "40\t30\t10\tcancelled\t" TS "\t\t{}\n");
	CU_ASSERT_STRING_EQUAL(X(phase_case_states, "40", "30", "0", "10", TS, N, "f", "t"),
			       "40\t30\t\\N\tdraft\t" TS "\t\\N\t{\"dangling_actor|legacy user 10\"}\n");
	CU_ASSERT_STRING_EQUAL(X(phase_case_states, "40", "30", "0", "10", TS, N, "t", "f"), "reject:dangling_case");
	CU_ASSERT_STRING_EQUAL(STATE("6", N, N), "reject:unknown_state");
	CU_ASSERT_STRING_EQUAL(detail, "status code 6 is not 0-5");
	CU_ASSERT_STRING_EQUAL(STATE("-3", N, N), "reject:unknown_state");
	CU_ASSERT_STRING_EQUAL(STATE(N, N, N), "reject:unknown_state");
}

/* ---------------------------------------------------------------- workflow_templates */

#define TEMPLATE(office, name, steps) X(phase_workflow_templates, "50", office, name, steps, "t", TS, "f")

static void test_templates(void)
{
	CU_ASSERT_STRING_EQUAL(TEMPLATE(N, " Standard ",
					"[ {\"name\": \"Scan\", \"days\": 3},\n {\"name\": \"Print\"} ]"),
			       "50\t\\N\tStandard\t[{\"name\":\"Scan\",\"days\":3},{\"name\":\"Print\"}]\tt\t" TS "\n");
	CU_ASSERT_STRING_EQUAL(TEMPLATE("1", "Standard", N), "50\t1\tStandard\t[]\tt\t" TS "\n");
	CU_ASSERT_STRING_EQUAL(TEMPLATE("1", "S", "[\"a\\\\b\"]"), "50\t1\tS\t[\"a\\\\\\\\b\"]\tt\t" TS "\n");
	CU_ASSERT_STRING_EQUAL(X(phase_workflow_templates, "51", N, "S", "[]", "f", TS, "f"),
			       "51\t\\N\tS\t[]\tf\t" TS "\n");
	CU_ASSERT_STRING_EQUAL(TEMPLATE("1", "   ", "[]"), "reject:missing_name");
	CU_ASSERT_STRING_EQUAL(TEMPLATE("1", N, "[]"), "reject:missing_name");
	CU_ASSERT_STRING_EQUAL(X(phase_workflow_templates, "52", "7", "S", "[]", "t", TS, "t"),
			       "reject:dangling_practice");
}

static void test_template_bad_steps(void)
{
	CU_ASSERT_STRING_EQUAL(TEMPLATE("1", "S", "[{\"name\": \"secret\""), "reject:invalid_steps_json");
	CU_ASSERT_PTR_NOT_NULL(strstr(detail, "not valid JSON"));
	CU_ASSERT_PTR_NULL(strstr(detail, "secret"));
	CU_ASSERT_STRING_EQUAL(TEMPLATE("1", "S", "{\"name\": \"secret\"}"), "reject:invalid_steps_json");
	CU_ASSERT_STRING_EQUAL(detail, "steps is a JSON object, not an array");
	CU_ASSERT_STRING_EQUAL(TEMPLATE("1", "S", "42"), "reject:invalid_steps_json");
	CU_ASSERT_STRING_EQUAL(detail, "steps is a JSON number, not an array");
	CU_ASSERT_STRING_EQUAL(TEMPLATE("1", "S", "secret"), "reject:invalid_steps_json");
	CU_ASSERT_PTR_NULL(strstr(detail, "secret"));
	CU_ASSERT_STRING_EQUAL(TEMPLATE("1", "S", ""), "reject:invalid_steps_json");
	/* the name is checked first */
	CU_ASSERT_STRING_EQUAL(TEMPLATE("1", "", "{}"), "reject:missing_name");
}

static int alloc_budget;

static void *failing_malloc(size_t n)
{
	return alloc_budget-- > 0 ? malloc(n) : NULL;
}

static void test_template_oom(void)
{
	PGresult *r = fake_row(ROW("50", "1", "S", "[1, 2]", "t", TS, "f"));
	struct rowbuf b;
	struct mdw_reject_info rej = {0};

	/* out of memory is not the row's fault: no reject, the buffer marked so that the chunk fails and is retried */
	rb_init(&b);
	alloc_budget = 0;
	json_set_alloc_funcs(failing_malloc, free);
	CU_ASSERT_EQUAL(phase_workflow_templates.transform(r, 0, &b, &rej), MDW_ROW_STAGED);
	json_set_alloc_funcs(malloc, free);
	CU_ASSERT_TRUE(b.oom);
	CU_ASSERT_PTR_NULL(rej.reason);
	rb_free(&b);
	PQclear(r);
}

static const struct unit_test tests[] = {
	{"practices: trim, country, email, missing_name", test_practices},
	{"COPY escaping of tab, newline, backslash", test_copy_escaping},
	{"profiles: email normalized, missing_email, invalid_email", test_profiles},
	{"profiles: roles admin, staff, doctor, user", test_profile_roles},
	{"patients: mapping, unknown_patient_status", test_patients},
	{"patients: invalid_sex and invalid_birthdate flags", test_patient_flags},
	{"patients: dangling doctor and office repaired, practice from the doctor", test_patient_repairs},
	{"cases: mapping, Untitled case, notes", test_cases},
	{"cases: case_number C-%010d", test_case_number},
	{"cases: unknown_case_type, unknown_case_status", test_case_rejects},
	{"cases: a dangling patient repaired", test_case_repairs},
	{"projects: mapping, Untitled project, unknown_case_type", test_projects},
	{"projects: negative_size flag, huge sizes exact", test_project_sizes},
	{"practice_members: ids staged", test_practice_members},
	{"case_states: mapping, unknown_state", test_case_states},
	{"workflow_templates: steps normalized, NULL steps, missing_name", test_templates},
	{"workflow_templates: invalid_steps_json", test_template_bad_steps},
	{"workflow_templates: out of memory fails the chunk, rejects nothing", test_template_oom},
	{NULL, NULL},
};

int main(void)
{
	return run_suite("transforms", tests);
}
