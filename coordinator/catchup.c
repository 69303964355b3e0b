/*
 * Catch-up runs before cutover: legacy rows changed or deleted since the
 * migration wrote their target rows, found without change data capture.
 *
 * A catch-up run (mdw-coordinator --catch-up) is an incremental run (its
 * validation keeps to the rows it lists) that plans each relational phase,
 * in dependency order, from mdwctl verify's comparison (ops/verify.c: the
 * legacy rows hashed once, in one query, merged by legacy id with the
 * target's; one description of what a legacy row should become). For a
 * phase whose target rows are its table's own, the target side is the hash
 * the migration recorded for each row (mdw.row_hashes), and only the rows
 * whose expected hash differs from it are read back. The comparisons are
 * computed ahead, while the phases before them load (catchup_ahead.c).
 * What a comparison finds:
 *
 *   missing   a legacy row the target should hold and does not: new, planned
 *             and inserted as in any run ('insert');
 *   differs   the target row is not what its legacy row should become today:
 *             updated in place by the worker, in the chunk transaction, with
 *             the ledger row ('update', rows_updated), if the migration made
 *             that row and nobody changed it since; else left alone and
 *             reported ('conflict', with the reason);
 *   stray     a target row whose legacy row is gone: recorded in
 *             mdw.catchup_deleted (phase, legacy id, since when we know),
 *             never deleted by the run (mdwctl catch-up --deleted --apply).
 *
 * "The migration made it, and nobody changed it since": the target row has
 * mdw_run_id (rows that were there before the migration have none), and its
 * hash, read back in verify's legacy terms, is still the one recorded in
 * mdw.row_hashes when the phase of the run that last inserted or updated it
 * completed. A row without a recorded hash (migrated before the hashes
 * existed) counts as unchanged. The decision is taken when the phase is
 * planned; the worker updates only the rows listed 'update' that the
 * migration made (worker/catchup_update.c).
 *
 * The chunks hold the rows to update or insert only: ranges of chunk_rows
 * listed ids, whose workers read just those ids from the legacy table (1% of
 * the rows changed, spread evenly, is 1% of the rows read, not the whole
 * table between them); the chunk's source rows are its listed ids, and the
 * validation of a catch-up run counts the listed rows (ops/validate.c).
 *
 * Profiles are merged by email: a changed legacy user is reported as a
 * conflict (reason profiles_merge), not updated in place.
 *
 * The embeddings phase of a catch-up run embeds the new entities (as an
 * incremental run does) and those whose rows the run updated: a changed text
 * has a new hash, embedded once and linked; the old embedding stays while
 * another entity links it, and is listed by mdwctl catch-up --orphans
 * (removable with --apply) once none does.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catchup.h"
#include "catchup_ahead.h"
#include "catchup_find.h"
#include "mdw/log.h"
#include "mdw/pgx.h"
#include "mdw/strbuf.h"
#include "redrive.h"
#include "verify.h"

/* Record F for RUN in mdw.catchup_rows and mdw.catchup_deleted, in one transaction. */
static int record_found(struct coord *c, enum mdw_phase_id ph, const struct catchup_found *f, char *err, size_t errlen)
{
	long long n = f->v.ndiffer + f->v.nmissing + f->v.nstray, k = 0, nd = 0;
	long long *ids = malloc(sizeof *ids * (size_t)(n + 1)), *del = malloc(sizeof *del * (size_t)(n + 1));
	size_t cap = (size_t)n * 32 + 8, oa = 1, orr = 1;
	char *acts = malloc(cap), *reasons = malloc(cap), *lit = NULL, *dlit = NULL, *xmins = NULL, run[24];
	struct strbuf xb = STRBUF_INIT; /* the version of each 'update' row that the plan found unchanged */
	int rc = -1;

	if (!ids || !del || !acts || !reasons)
		goto oom;
	acts[0] = reasons[0] = '{';
	strbuf_putc(&xb, '{');
	for (long long i = 0; i < n; i++) {
		const char *a, *why;
		if (i < f->v.ndiffer) {
			ids[k] = f->v.differ[i];
			a = f->action[i] == 'u' ? "update" : "conflict";
			why = f->reason[i];
		} else if (i < f->v.ndiffer + f->v.nmissing) {
			ids[k] = f->v.missing[i - f->v.ndiffer];
			a = "insert";
			why = NULL;
		} else {
			long long s = i - f->v.ndiffer - f->v.nmissing;
			if (f->gone[s]) {
				del[nd++] = f->v.stray[s];
				continue;
			}
			ids[k] = f->v.stray[s];
			a = "conflict";
			why = "stray_not_deleted"; /* the legacy row exists but should no longer become this row */
		}
		strbuf_printf(&xb, "%s%s", k ? "," : "",
			      i < f->v.ndiffer && f->action[i] == 'u' ? f->v.differ_xmin[i] : "NULL");
		oa += (size_t)snprintf(acts + oa, cap - oa, "%s%s", k ? "," : "", a);
		orr += (size_t)snprintf(reasons + orr, cap - orr, "%s%s", k ? "," : "", why ? why : "NULL");
		k++;
	}
	snprintf(acts + oa, cap - oa, "}");
	snprintf(reasons + orr, cap - orr, "}");
	strbuf_putc(&xb, '}');
	if (xb.oom || !(xmins = strbuf_take(&xb)) || !(lit = catchup_ids_literal(ids, k)) ||
	    !(dlit = catchup_ids_literal(del, nd)))
		goto oom;
	snprintf(run, sizeof run, "%" PRId64, c->run);
	{
		char sql[1024];
		const char *p1[2] = {run, mdw_phases[ph].name};
		const char *p2[6] = {run, mdw_phases[ph].name, lit, acts, reasons, xmins};
		const char *p3[3] = {run, mdw_phases[ph].name, dlit};
		snprintf(sql, sizeof sql,
			 "INSERT INTO mdw.catchup_deleted (phase, legacy_id, first_run, last_run, migrated_by) "
			 "SELECT $2, d.id, $1::bigint, $1::bigint, (SELECT t.mdw_run_id FROM public.%s t WHERE t.%s = d.id "
			 "LIMIT 1) FROM unnest($3::bigint[]) AS d(id) "
			 "ON CONFLICT (phase, legacy_id) DO UPDATE SET last_run = EXCLUDED.last_run",
			 row_hash_made_table(ph), row_hash_made_key(ph));
		if (pgx_exec(c->tgt, "BEGIN", 0, NULL, err, errlen, NULL) < 0 ||
		    pgx_exec(c->tgt, "DELETE FROM mdw.catchup_rows WHERE run_id = $1 AND phase = $2", 2, p1, err,
			     errlen, NULL) < 0 ||
		    pgx_exec(c->tgt,
			     "INSERT INTO mdw.catchup_rows (run_id, phase, legacy_id, action, reason, target_xmin) "
			     "SELECT $1, $2, g.id, g.a, g.r, g.x::xid "
			     "FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[]) AS g(id, a, r, x)",
			     6, p2, err, errlen, NULL) < 0 ||
		    pgx_exec(c->tgt, sql, 3, p3, err, errlen, NULL) < 0 ||
		    pgx_exec(c->tgt, "COMMIT", 0, NULL, err, errlen, NULL) < 0) {
			PQclear(PQexec(c->tgt, "ROLLBACK"));
			goto out;
		}
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(ids);
	free(del);
	free(acts);
	free(reasons);
	free(lit);
	free(dlit);
	free(xmins);
	strbuf_free(&xb);
	return rc;
}

int catchup_walk(struct coord *c, enum mdw_phase_id ph, struct plan *plan, char *err, size_t errlen)
{
	struct catchup_found f;
	long long *due = NULL, n = 0, i = 0, j = 0;
	int rc = -1, taken;

	/* the comparison computed ahead (catchup_ahead.c), else now */
	if ((taken = catchup_ahead_take(c->ahead, ph, &f, err, errlen)) < 0 ||
	    (!taken && catchup_find(c->src, c->tgt, ph, &f, err, errlen) < 0) ||
	    record_found(c, ph, &f, err, errlen) < 0)
		goto out;
	/* the rows to update and to insert, ascending: the chunks' ranges */
	if (!(due = malloc(sizeof *due * (size_t)(f.v.ndiffer + f.v.nmissing + 1)))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	while (i < f.v.ndiffer || j < f.v.nmissing) {
		if (i < f.v.ndiffer && f.action[i] != 'u') {
			i++;
			continue;
		}
		if (j >= f.v.nmissing || (i < f.v.ndiffer && f.v.differ[i] < f.v.missing[j]))
			due[n++] = f.v.differ[i++];
		else
			due[n++] = f.v.missing[j++];
	}
	/* the workers read the listed ids of a chunk's range only (worker/catchup_update.c): no gap to bridge */
	if (redrive_plan_listed(c, due, n, plan, err, errlen) < 0)
		goto out;
	mdw_info("run=%" PRId64 " phase=%s msg=\"catch-up plan\" update=%lld insert=%lld conflict=%lld deleted=%lld "
		 "chunks=%d rows=%lld",
		 c->run, mdw_phases[ph].name, f.n_update, f.v.nmissing, f.n_conflict + f.v.nstray - f.n_deleted,
		 f.n_deleted, plan->n, plan->rows);
	rc = 0;
out:
	free(due);
	catchup_found_free(&f);
	return rc;
}

json_t *catchup_plan(const struct mdw_config *cfg, PGconn *src, PGconn *tgt, unsigned sel, int ready, char *err,
		     size_t errlen)
{
	json_t *root = json_object();
	struct catchup_ahead *ahead = NULL;
	static volatile int no_stop; /* a plan is not stopped from outside */
	char why[512];
	PGresult *r;

	if (ready) {
		/* a target whose schema predates the catch-up: its migration is applied by the next coordinator */
		if (!(r = pgx_query(tgt, "SELECT to_regclass('mdw.row_hashes') IS NOT NULL", 0, NULL, err, errlen,
				    NULL)))
			goto fail;
		ready = !strcmp(PQgetvalue(r, 0, 0), "t");
		PQclear(r);
	}
	/* the phases compared at once, on read-only sessions of the threads' own; else one after another here */
	if (ready && !(ahead = catchup_ahead_start(cfg, sel, 0, &no_stop, 1, why, sizeof why)))
		mdw_warn("msg=\"the plan compares one phase after another\" error=\"%s\"", why);
	for (int ph = 0; ph < MDW_NPHASES; ph++) {
		struct catchup_counts n = {0};
		struct catchup_found f = {0};
		int taken = 0;
		json_t *o;
		if (!(sel & MDW_PH_BIT(ph)) || !row_hash_covers((enum mdw_phase_id)ph))
			continue;
		if (ready && (taken = catchup_ahead_take(ahead, (enum mdw_phase_id)ph, &f, err, errlen)) == 1)
			n = catchup_found_counts(&f);
		catchup_found_free(&f);
		if (ready &&
		    (taken < 0 || (!taken && catchup_count(src, tgt, (enum mdw_phase_id)ph, &n, err, errlen) < 0)))
			goto fail;
		o = json_object();
		json_object_set_new(o, "update", ready ? json_integer(n.update) : json_null());
		json_object_set_new(o, "insert", ready ? json_integer(n.insert) : json_null());
		json_object_set_new(o, "conflict", ready ? json_integer(n.conflict) : json_null());
		json_object_set_new(o, "deleted", ready ? json_integer(n.deleted) : json_null());
		json_object_set_new(root, mdw_phases[ph].name, o);
	}
	catchup_ahead_stop(ahead);
	return root;
fail:
	catchup_ahead_stop(ahead);
	json_decref(root);
	return NULL;
}

void catchup_plan_print(json_t *plan)
{
	const char *k;
	json_t *o;

	printf("\ncatch-up (mdw-coordinator --catch-up; verify's hashes, no change data capture): per phase the rows it "
	       "would update in place, insert, leave in conflict, and report deleted\n");
	printf("%-20s %10s %10s %10s %10s\n", "phase", "update", "insert", "conflict", "deleted");
	json_object_foreach(plan, k, o)
	{
		char v[4][24];
		static const char *const f[4] = {"update", "insert", "conflict", "deleted"};
		for (int i = 0; i < 4; i++) {
			json_t *x = json_object_get(o, f[i]);
			if (json_is_integer(x))
				snprintf(v[i], sizeof v[i], "%lld", (long long)json_integer_value(x));
			else
				snprintf(v[i], sizeof v[i], "-");
		}
		printf("%-20s %10s %10s %10s %10s\n", k, v[0], v[1], v[2], v[3]);
	}
	printf("embeddings: the new entities, and those updated whose text changed\n");
}

long long catchup_record_written(PGconn *tgt, enum mdw_phase_id ph, int64_t run, char *err, size_t errlen)
{
	char sql[16384], id[24];
	const char *p[2] = {id, mdw_phases[ph].name};
	PGresult *r;
	long long n;

	if (!row_hash_covers(ph))
		return 0;
	snprintf(id, sizeof id, "%" PRId64, run);
	/* the workers recorded them chunk by chunk (mdw/row_hash.h), unless a chunk says it did not */
	if (!(r = pgx_query(tgt,
			    "SELECT count(*) FILTER (WHERE rows_hashed IS NULL), coalesce(sum(rows_hashed), 0) "
			    "FROM mdw.chunks WHERE run_id = $1::bigint AND phase = $2 AND status = 'done'",
			    2, p, err, errlen, NULL)))
		return -1;
	n = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	if (!strcmp(PQgetvalue(r, 0, 0), "0")) {
		PQclear(r);
		return n;
	}
	PQclear(r);
	mdw_info("run=%" PRId64 " phase=%s msg=\"chunks done without row hashes (an older worker): recording the "
		 "phase's\"",
		 run, mdw_phases[ph].name);
	/*
	 * A join, not IN (...) OR IN (...): with every row of a full run written
	 * that would be a subplan per row. The md5 is taken before DISTINCT ON,
	 * so that the sort carries ids and hashes, not the rows' text.
	 */
	snprintf(sql, sizeof sql,
		 "WITH w (id) AS (SELECT t.%s::bigint FROM public.%s t WHERE t.mdw_run_id = $1::bigint "
		 "UNION SELECT u.legacy_id FROM mdw.catchup_rows u WHERE u.run_id = $1::bigint AND u.phase = $2 "
		 "AND u.action = 'update') "
		 "INSERT INTO mdw.row_hashes (phase, legacy_id, hash, run_id) "
		 "SELECT DISTINCT ON (y.id) $2::text, y.id, y.h, $1::bigint FROM "
		 "(SELECT x.id, md5(x::text) AS h FROM (%s) x) y JOIN w ON w.id = y.id "
		 "ORDER BY y.id ON CONFLICT (phase, legacy_id) DO UPDATE SET hash = EXCLUDED.hash, run_id = EXCLUDED.run_id",
		 row_hash_made_key(ph), row_hash_made_table(ph), verify_target_sql(ph));
	if (!(r = pgx_query(tgt, sql, 2, p, err, errlen, NULL)))
		return -1;
	n = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return n;
}

void catchup_embed_filter(enum mdw_part part, int64_t run, const char *base, char *out, size_t outlen)
{
	size_t o;

	if (part <= MDW_PART_NONE || part >= MDW_NPARTS) {
		snprintf(out, outlen, "%s", base);
		return;
	}
	o = (size_t)snprintf(out, outlen,
			     "(%s) OR EXISTS (SELECT 1 FROM mdw.catchup_rows u WHERE u.run_id = %" PRId64
			     " AND u.phase = '%s' AND u.action = 'update' AND u.legacy_id = t.%s)",
			     base, run, mdw_phases[mdw_parts[part].phase].name,
			     mdw_phases[mdw_parts[part].phase].legacy_col);
	/* a patient's text holds its cases' */
	if (part == MDW_PART_PATIENT && o < outlen)
		snprintf(out + o, outlen - o,
			 " OR EXISTS (SELECT 1 FROM public.cases x JOIN mdw.catchup_rows u ON u.run_id = %" PRId64
			 " AND u.phase = 'cases' AND u.action = 'update' AND u.legacy_id = x.legacy_project_id "
			 "WHERE x.patient_id = t.id)",
			 run);
}
