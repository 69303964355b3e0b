/*
 * The row-at-a-time baseline of the benchmarks (tests/bench/run): what a
 * migration script does when it loops over rows. For each relational phase,
 * in the phase table's order, it reads the legacy rows one at a time (libpq
 * single-row mode: a cursor, never the whole table in memory), applies the
 * worker's own transform (mdw_phase_ops[]: same cleaning, same rejects), and
 * sends one INSERT ... SELECT ... ON CONFLICT DO NOTHING per row, its parent
 * ids looked up by subquery, each statement its own transaction (autocommit).
 *
 * It is kinder to itself than a real script: statements are prepared once,
 * rejects and merges are only counted (not recorded), and a parent that does
 * not resolve simply makes the INSERT write nothing. So its rows/s is an
 * upper bound for the row-at-a-time way.
 *
 * Usage: mdw-bench-rowwise [--phases a,b,...]   (MDW_SOURCE_DSN, MDW_TARGET_DSN)
 * The target schema must exist (mdwctl schema). Prints one line per phase
 * and a total line, key=value, for the bench script to parse.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "mdw/pgx.h"
#include "phase_ops.h"
#include "rowbuf.h"

/* The per-row statement of each phase: its parameters are the stage row's fields, in the stage table's order. */
struct rowwise_sql {
	int nparams;
	const char *sql;
};

static const struct rowwise_sql row_sql[MDW_NPHASES] = {
	[MDW_PH_PRACTICES] = {12,
			      "INSERT INTO practices (legacy_id, name, address, apt, city, state, zip, country, phone, "
			      "email, is_active, created_at) VALUES ($1::int, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
			      "$11::boolean, $12::timestamptz) ON CONFLICT (legacy_id) DO NOTHING"},
	/* the profile, then the legacy user's mapping to it (its own or the one holding the email) */
	[MDW_PH_PROFILES] = {8,
			     "WITH ins AS (INSERT INTO profiles (legacy_id, email, first_name, last_name, role, "
			     "is_active, last_login, joined_at) VALUES ($1::int, $2::text, $3, $4, $5, $6::boolean, "
			     "$7::timestamptz, $8::timestamptz) ON CONFLICT (email) DO NOTHING RETURNING id), "
			     "p AS (SELECT id, false AS merged FROM ins UNION ALL SELECT id, legacy_id IS DISTINCT FROM "
			     "$1::int FROM profiles WHERE email = $2::text AND NOT EXISTS (SELECT 1 FROM ins)) "
			     "INSERT INTO profile_legacy_users (legacy_user_id, profile_id, merged) "
			     "SELECT $1::int, id, merged FROM p ON CONFLICT (legacy_user_id) DO NOTHING"},
	[MDW_PH_PATIENTS] =
		{13, "INSERT INTO patients (legacy_id, practice_id, profile_id, first_name, last_name, "
		     "birthdate, sex, status, is_archived, is_suspended, quality_flags, created_at, updated_at) "
		     "SELECT $1::int, k.practice_id, k.profile_id, $4, $5, $6::date, $7, $8, $9::boolean, "
		     "$10::boolean, $11::text[], $12::timestamptz, $13::timestamptz FROM (SELECT "
		     "(SELECT id FROM practices WHERE legacy_id = $2::int) AS practice_id, "
		     "(SELECT profile_id FROM profile_legacy_users WHERE legacy_user_id = $3::int) AS profile_id) k "
		     "WHERE ($2::int IS NULL OR k.practice_id IS NOT NULL) "
		     "AND ($3::int IS NULL OR k.profile_id IS NOT NULL) ON CONFLICT (legacy_id) DO NOTHING"},
	[MDW_PH_CASES] = {9,
			  "INSERT INTO cases (legacy_project_id, case_number, patient_id, practice_id, case_type, "
			  "status, title, clinical_notes, created_at, updated_at) "
			  "SELECT $1::int, $3, k.id, k.practice_id, $4, $5, $6, $7, $8::timestamptz, $9::timestamptz "
			  "FROM (SELECT 1) d LEFT JOIN LATERAL (SELECT id, practice_id FROM patients "
			  "WHERE legacy_id = $2::int) k ON true WHERE $2::int IS NULL OR k.id IS NOT NULL "
			  "ON CONFLICT (legacy_project_id) DO NOTHING"},
	[MDW_PH_PROJECTS] = {9, "INSERT INTO projects (legacy_id, uid, case_id, practice_id, creator_id, name, "
				"asset_type, file_size_bytes, quality_flags, created_at, updated_at) "
				"SELECT $1::int, $2::uuid, c.id, c.practice_id, k.profile_id, $4, $5, $6::bigint, "
				"$7::text[], $8::timestamptz, $9::timestamptz FROM cases c, (SELECT (SELECT profile_id "
				"FROM profile_legacy_users WHERE legacy_user_id = $3::int) AS profile_id) k "
				"WHERE c.legacy_project_id = $1::int AND ($3::int IS NULL OR k.profile_id IS NOT NULL) "
				"ON CONFLICT (legacy_id) DO NOTHING"},
	[MDW_PH_PRACTICE_MEMBERS] = {3,
				     "INSERT INTO practice_members (legacy_id, practice_id, profile_id, role, "
				     "is_active) SELECT $1::int, p.id, u.profile_id, f.role, true "
				     "FROM practices p, profile_legacy_users u, profiles f WHERE p.legacy_id = $2::int "
				     "AND u.legacy_user_id = $3::int AND f.id = u.profile_id "
				     "ON CONFLICT (practice_id, profile_id) DO NOTHING"},
	[MDW_PH_CASE_STATES] = {6,
				"INSERT INTO case_states (legacy_id, case_id, changed_by, state, note, created_at) "
				"SELECT $1::int, c.id, k.profile_id, $4, $6, $5::timestamptz FROM cases c, "
				"(SELECT (SELECT profile_id FROM profile_legacy_users WHERE legacy_user_id = $3::int) "
				"AS profile_id) k WHERE c.legacy_project_id = $2::int "
				"AND ($3::int IS NULL OR k.profile_id IS NOT NULL) "
				"ON CONFLICT (case_id, created_at) DO NOTHING"},
	[MDW_PH_WORKFLOW_TEMPLATES] = {6, "INSERT INTO workflow_templates (legacy_id, practice_id, name, steps, "
					  "is_active, created_at) SELECT $1::int, k.id, $3, $4::jsonb, $5::boolean, "
					  "$6::timestamptz FROM (SELECT (SELECT id FROM practices WHERE legacy_id = "
					  "$2::int) AS id) k WHERE $2::int IS NULL OR k.id IS NOT NULL "
					  "ON CONFLICT (practice_id, name) DO NOTHING"},
};

#define MAXF 32

struct counts {
	long long read, written, skipped, rejected, errors;
};

static double now_s(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/*
 * Split one COPY text row (without its newline) of LEN bytes at P into
 * fields, unescaping in place: F[i] points into P, NULL for \N. Returns the
 * field count, -1 if over MAXF.
 */
static int split_row(char *p, size_t len, char **f)
{
	size_t i = 0;
	int n = 0;

	for (;;) {
		char *start = p + i, *w = start;

		if (n == MAXF)
			return -1;
		if (i + 2 <= len && p[i] == '\\' && p[i + 1] == 'N' && (i + 2 == len || p[i + 2] == '\t')) {
			f[n++] = NULL;
			i += 2;
		} else {
			while (i < len && p[i] != '\t') {
				if (p[i] == '\\' && i + 1 < len) {
					switch (p[i + 1]) {
					case 't':
						*w++ = '\t';
						break;
					case 'n':
						*w++ = '\n';
						break;
					case 'r':
						*w++ = '\r';
						break;
					case 'b':
						*w++ = '\b';
						break;
					case 'f':
						*w++ = '\f';
						break;
					case 'v':
						*w++ = '\v';
						break;
					default:
						*w++ = p[i + 1];
						break;
					}
					i += 2;
				} else {
					*w++ = p[i++];
				}
			}
			f[n++] = start;
		}
		if (i == len) {
			*w = 0;
			return n;
		}
		*w = 0; /* overwrites the tab (or an already consumed byte): the field ends here */
		i++;
	}
}

/* Run phase PH row by row. 0, or -1 with a message on stderr. */
static int run_phase(PGconn *src, PGconn *tgt, enum mdw_phase_id ph, struct counts *n, double *secs)
{
	const struct phase_ops *ops = mdw_phase_ops[ph];
	const struct rowwise_sql *rs = &row_sql[ph];
	char lo[24], hi[24], stmt[32];
	const char *p[2] = {lo, hi};
	struct rowbuf b;
	PGresult *r;
	double t0 = now_s();
	int rc = -1;

	rb_init(&b);
	snprintf(lo, sizeof lo, "%d", INT_MIN);
	snprintf(hi, sizeof hi, "%d", INT_MAX);
	snprintf(stmt, sizeof stmt, "row_%s", mdw_phases[ph].name);
	r = PQprepare(tgt, stmt, rs->sql, rs->nparams, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "rowwise: phase %s: cannot prepare: %s", mdw_phases[ph].name, PQerrorMessage(tgt));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	if (!PQsendQueryParams(src, ops->source_sql, 2, NULL, p, NULL, NULL, 0) || !PQsetSingleRowMode(src)) {
		fprintf(stderr, "rowwise: phase %s: cannot read the source: %s", mdw_phases[ph].name,
			PQerrorMessage(src));
		return -1;
	}
	while ((r = PQgetResult(src))) {
		ExecStatusType st = PQresultStatus(r);
		struct mdw_reject_info rej = {0};
		char *f[MAXF];
		int nf;

		if (st == PGRES_TUPLES_OK) { /* the end of the rows */
			PQclear(r);
			continue;
		}
		if (st != PGRES_SINGLE_TUPLE) {
			fprintf(stderr, "rowwise: phase %s: source: %s", mdw_phases[ph].name, PQresultErrorMessage(r));
			PQclear(r);
			goto drain;
		}
		n->read++;
		rb_reset(&b);
		if (ops->transform(r, 0, &b, &rej) != MDW_ROW_STAGED) {
			n->rejected++;
			PQclear(r);
			continue;
		}
		if (b.oom || b.len == 0) {
			fprintf(stderr, "rowwise: phase %s: out of memory\n", mdw_phases[ph].name);
			PQclear(r);
			goto drain;
		}
		nf = split_row(b.p, b.len - 1, f);
		if (nf != rs->nparams) {
			fprintf(stderr,
				"rowwise: phase %s: the transform staged %d fields, this program expects %d: update "
				"tests/bench/rowwise.c to the phase's stage table\n",
				mdw_phases[ph].name, nf, rs->nparams);
			PQclear(r);
			goto drain;
		}
		PQclear(r);
		r = PQexecPrepared(tgt, stmt, nf, (const char *const *)f, NULL, NULL, 0);
		if (PQresultStatus(r) == PGRES_COMMAND_OK && atoi(PQcmdTuples(r)) > 0)
			n->written++;
		else if (PQresultStatus(r) == PGRES_COMMAND_OK)
			n->skipped++;
		else
			n->errors++; /* a CHECK or unique violation the transform missed: the row is lost */
		PQclear(r);
		if (PQstatus(tgt) != CONNECTION_OK) {
			fprintf(stderr, "rowwise: target connection lost: %s", PQerrorMessage(tgt));
			goto drain;
		}
	}
	rc = 0;
	goto out;
drain:
	while ((r = PQgetResult(src)))
		PQclear(r);
out:
	rb_free(&b);
	*secs = now_s() - t0;
	return rc;
}

int main(int argc, char **argv)
{
	const char *sdsn = getenv("MDW_SOURCE_DSN"), *tdsn = getenv("MDW_TARGET_DSN");
	unsigned mask = 0;
	char err[512];
	PGconn *src = NULL, *tgt = NULL;
	struct counts total = {0};
	double t0 = now_s(), secs;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--phases") && i + 1 < argc) {
			if (mdw_phase_parse_list(argv[++i], &mask, err, sizeof err) < 0) {
				fprintf(stderr, "rowwise: %s\n", err);
				return 2;
			}
		} else {
			fprintf(stderr, "usage: %s [--phases a,b,...]  (MDW_SOURCE_DSN, MDW_TARGET_DSN)\n", argv[0]);
			return 2;
		}
	}
	if (!mask)
		mask = MDW_PH_ALL & ~MDW_PH_BIT(MDW_PH_EMBEDDINGS);
	if (!sdsn || !tdsn) {
		fprintf(stderr, "rowwise: set MDW_SOURCE_DSN and MDW_TARGET_DSN\n");
		return 2;
	}
	if (!(src = pgx_connect(sdsn, "mdw-bench-rowwise", err, sizeof err)) ||
	    !(tgt = pgx_connect(tdsn, "mdw-bench-rowwise", err, sizeof err))) {
		fprintf(stderr, "rowwise: cannot connect: %s\n", err);
		goto out;
	}
	for (int ph = 0; ph < MDW_NPHASES; ph++) {
		struct counts n = {0};
		if (!(mask & MDW_PH_BIT(ph)) || !mdw_phase_ops[ph])
			continue;
		if (run_phase(src, tgt, (enum mdw_phase_id)ph, &n, &secs) < 0)
			goto out;
		printf("phase=%s read=%lld written=%lld skipped=%lld rejected=%lld errors=%lld s=%.3f rows_per_s=%.0f\n",
		       mdw_phases[ph].name, n.read, n.written, n.skipped, n.rejected, n.errors, secs,
		       secs > 0 ? n.read / secs : 0);
		fflush(stdout);
		total.read += n.read;
		total.written += n.written;
		total.skipped += n.skipped;
		total.rejected += n.rejected;
		total.errors += n.errors;
	}
	secs = now_s() - t0;
	printf("total read=%lld written=%lld skipped=%lld rejected=%lld errors=%lld s=%.3f rows_per_s=%.0f\n",
	       total.read, total.written, total.skipped, total.rejected, total.errors, secs,
	       secs > 0 ? total.read / secs : 0);
	rc = 0;
out:
	if (src)
		PQfinish(src);
	if (tgt)
		PQfinish(tgt);
	return rc;
}
