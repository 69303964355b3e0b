/* Rollback of a phase (see rollback.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdw/ledger.h"
#include "mdw/pgx.h"
#include "rollback.h"

#define TEXTOID 25
#define INT8OID 20

unsigned rollback_dependents(enum mdw_phase_id phase)
{
	unsigned deps = 0;

	for (int q = 0; q < MDW_NPHASES; q++)
		if (mdw_phase_needs_closure((enum mdw_phase_id)q) & MDW_PH_BIT(phase))
			deps |= MDW_PH_BIT(q);
	return deps;
}

int rollback_order(unsigned mask, enum mdw_phase_id out[MDW_NPHASES])
{
	unsigned left = mask & MDW_PH_ALL;
	int n = 0;

	/* take a phase that no other phase left needs; the phase table's order makes it the last one */
	while (left) {
		int pick = -1;
		for (int p = MDW_NPHASES - 1; p >= 0 && pick < 0; p--) {
			int needed = 0;
			if (!(left & MDW_PH_BIT(p)))
				continue;
			for (int q = 0; q < MDW_NPHASES; q++)
				if (q != p && (left & MDW_PH_BIT(q)) &&
				    (mdw_phase_needs_closure((enum mdw_phase_id)q) & MDW_PH_BIT(p)))
					needed = 1;
			if (!needed)
				pick = p;
		}
		if (pick < 0)
			break; /* a cycle: the phase table forbids it */
		out[n++] = (enum mdw_phase_id)pick;
		left &= ~MDW_PH_BIT(pick);
	}
	return n;
}

/* The rows of the rolled-back run(s): $2 is the run, 0 for every run. */
#define IN_SCOPE(col) "(" col " IS NOT NULL AND ($2::bigint = 0 OR " col " = $2::bigint))"

/*
 * Wrap D, a DELETE ... RETURNING the deleted row's run AS run: count its rows
 * and remember each run it touched, so that the ledger of phase $1 of those
 * runs is reset too (a --run rollback can delete rows of other runs that
 * only describe the deleted rows: merges into them, mappings to them).
 */
#define COUNTED(d)                                                                                                     \
	"WITH d AS (" d "), x AS (INSERT INTO rb_runs SELECT DISTINCT $1::text, run FROM d WHERE run IS NOT NULL "     \
	"ON CONFLICT DO NOTHING) SELECT count(*) FROM d"

struct rb_ctx {
	PGconn *tgt;
	const struct rollback_opts *o;
	char run[24];
	FILE *out;
	char *err;
	size_t errlen;
	int fk_violation;
};

/* Run SQL with $1 = PHASE (text) and $2 = the run (bigint); typed, so either may go unused. */
static PGresult *rbq(struct rb_ctx *x, const char *sql, const char *phase)
{
	static const Oid types[2] = {TEXTOID, INT8OID};
	const char *p[2] = {phase, x->run};
	PGresult *r = PQexecParams(x->tgt, sql, 2, types, p, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	{
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		x->fk_violation = state && !strcmp(state, "23503");
	}
	pgx_error(x->tgt, r, x->err, x->errlen);
	PQclear(r);
	return NULL;
}

static int rbexec(struct rb_ctx *x, const char *sql, const char *phase)
{
	PGresult *r = rbq(x, sql, phase);
	PQclear(r);
	return r ? 0 : -1;
}

/* One counted delete; adds "table": n to JSON and prints the line. */
static int rb_step(struct rb_ctx *x, enum mdw_phase_id ph, const char *label, const char *ledger_phase, const char *sql,
		   char *json, size_t jsonlen)
{
	PGresult *r = rbq(x, sql, ledger_phase);
	long long n;
	size_t o = strlen(json);

	if (!r)
		return -1;
	n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	snprintf(json + o, jsonlen - o, "%s\"%s\": %lld", o > 1 ? ", " : "", label, n);
	fprintf(x->out, "  %-19s %-22s %10lld\n", mdw_phases[ph].name, label, n);
	return 0;
}

/* Delete the rows of one phase (its dependents are gone already). JSON receives the counts. */
static int rb_one(struct rb_ctx *x, enum mdw_phase_id ph, char *json, size_t jsonlen)
{
	const struct mdw_phase *s = &mdw_phases[ph];
	const char *name = s->name, *t = s->writes[0], *link = mdw_parts[s->part].name;
	char sql[1024];

	snprintf(json, jsonlen, "{");
	if (ph == MDW_PH_EMBEDDINGS) {
		/* links first; then the embeddings of the run(s) that no remaining link uses */
		if (rb_step(x, ph, "ai_embedding_sources", name,
			    COUNTED("DELETE FROM public.ai_embedding_sources WHERE " IN_SCOPE(
				    "mdw_run_id") " RETURNING mdw_run_id AS run"),
			    json, jsonlen) < 0 ||
		    rb_step(x, ph, "ai_embeddings", name,
			    COUNTED("DELETE FROM public.ai_embeddings e WHERE " IN_SCOPE(
				    "e.mdw_run_id") " AND NOT EXISTS "
						    "(SELECT 1 FROM public.ai_embedding_sources s WHERE s.sha256_hash = e.sha256_hash) "
						    "RETURNING e.mdw_run_id AS run"),
			    json, jsonlen) < 0)
			return -1;
		goto done;
	}
	/* table names come from the phase tables, never from input */
	snprintf(sql, sizeof sql, "INSERT INTO rb_del SELECT id FROM public.%s WHERE " IN_SCOPE("mdw_run_id"), t);
	if (rbexec(x, "TRUNCATE rb_del", name) < 0 || rbexec(x, sql, name) < 0)
		return -1;
	if (link) {
		/* links of the deleted entities, whichever run made them (a link must name an entity) */
		snprintf(sql, sizeof sql,
			 COUNTED("DELETE FROM public.ai_embedding_sources s USING rb_del d WHERE s.content_type = '%s' "
				 "AND s.content_id = d.id RETURNING s.mdw_run_id AS run"),
			 link);
		if (rb_step(x, ph, "ai_embedding_sources", mdw_phases[MDW_PH_EMBEDDINGS].name, sql, json, jsonlen) < 0)
			return -1;
	}
	if (s->mapping) {
		snprintf(sql, sizeof sql,
			 COUNTED("DELETE FROM public.%s u WHERE " IN_SCOPE(
				 "u.mdw_run_id") " OR u.profile_id IN (SELECT id FROM "
						 "rb_del) RETURNING u.mdw_run_id AS run"),
			 s->mapping);
		if (rb_step(x, ph, s->mapping, name, sql, json, jsonlen) < 0)
			return -1;
	}
	if (rb_step(x, ph, "mdw.merges", name,
		    COUNTED("DELETE FROM mdw.merges m WHERE m.phase = $1 AND ($2::bigint = 0 OR m.run_id = $2::bigint "
			    "OR m.target_id IN (SELECT id FROM rb_del)) RETURNING m.run_id AS run"),
		    json, jsonlen) < 0)
		return -1;
	/* the repairs of the rows removed: flags are written by the run that placed the row */
	if (rb_step(x, ph, "mdw.flags", name,
		    COUNTED("DELETE FROM mdw.flags f WHERE f.phase = $1 AND ($2::bigint = 0 OR f.run_id = $2::bigint) "
			    "RETURNING f.run_id AS run"),
		    json, jsonlen) < 0)
		return -1;
	snprintf(sql, sizeof sql,
		 COUNTED("DELETE FROM public.%s t USING rb_del d WHERE t.id = d.id RETURNING t.mdw_run_id AS run"), t);
	if (rb_step(x, ph, t, name, sql, json, jsonlen) < 0)
		return -1;
done : {
	size_t o = strlen(json);
	snprintf(json + o, jsonlen - o, "}");
}
	return 0;
}

/* A '{a,b}' text[] literal of the names of the phases in MASK. */
static void names_array(unsigned mask, char *buf, size_t len)
{
	size_t o = (size_t)snprintf(buf, len, "{");
	for (int p = 0; p < MDW_NPHASES && o < len; p++)
		if (mask & MDW_PH_BIT(p))
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o > 1 ? "," : "", mdw_phases[p].name);
	if (o < len)
		snprintf(buf + o, len - o, "}");
}

/* Refuse while a dependent has rows from the migration (unless cascading), or it or the phase is in flight. */
static int rb_refusals(struct rb_ctx *x, enum mdw_phase_id phase, unsigned *set)
{
	unsigned deps = rollback_dependents(phase);
	enum mdw_phase_id order[MDW_NPHASES];
	char sql[512], names[256], why[512] = "";
	size_t w = 0;
	int n = rollback_order(deps, order), found;
	PGresult *r;

	if (x->o->run) {
		if (!(r = rbq(x, "SELECT 1 FROM mdw.runs WHERE id = $2", "")))
			return RB_ERROR;
		found = PQntuples(r);
		PQclear(r);
		if (!found) {
			snprintf(x->err, x->errlen, "there is no run %s in mdw.runs", x->run);
			return RB_REFUSED;
		}
	}
	for (int i = 0; i < n && !x->o->cascade; i++) {
		enum mdw_phase_id q = order[i];
		long long rows;
		if (q == MDW_PH_EMBEDDINGS)
			snprintf(sql, sizeof sql,
				 "SELECT (SELECT count(*) FROM public.ai_embedding_sources WHERE " IN_SCOPE(
					 "mdw_run_id") ") + "
						       "(SELECT count(*) FROM public.ai_embeddings WHERE " IN_SCOPE(
							       "mdw_run_id") ")");
		else
			snprintf(sql, sizeof sql, "SELECT count(*) FROM public.%s WHERE " IN_SCOPE("mdw_run_id"),
				 mdw_phases[q].writes[0]);
		if (!(r = rbq(x, sql, "")))
			return RB_ERROR;
		rows = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
		if (rows > 0 && w < sizeof why)
			w += (size_t)snprintf(why + w, sizeof why - w, "%s%s has %lld", w ? ", " : "",
					      mdw_phases[q].name, rows);
	}
	if (w) {
		snprintf(x->err, x->errlen,
			 "cannot roll back %s: phases that depend on it still have rows from the migration (%s) "
			 "(hint: roll those back first, or add --cascade to roll them back with it)",
			 mdw_phases[phase].name, why);
		return RB_REFUSED;
	}
	if (x->o->cascade)
		*set |= deps;
	/* a dependent in flight could reference the rows meanwhile, cascading or not */
	names_array(*set | deps, names, sizeof names);
	if (!(r = rbq(x,
		      "SELECT rp.phase, rp.run_id, rp.status FROM mdw.run_phases rp JOIN mdw.runs r ON r.id = rp.run_id "
		      "WHERE rp.phase = ANY($1::text[]) AND rp.status IN ('planning', 'running', 'validating') "
		      "AND r.status = 'running' ORDER BY rp.run_id DESC LIMIT 1",
		      names)))
		return RB_ERROR;
	if (PQntuples(r)) {
		snprintf(x->err, x->errlen,
			 "cannot roll back %s: phase %s is %s in run %s (hint: let the run finish, or fail, then roll back)",
			 mdw_phases[phase].name, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 1));
		PQclear(r);
		return RB_REFUSED;
	}
	PQclear(r);
	return RB_DONE;
}

int rollback_phase(PGconn *tgt, enum mdw_phase_id phase, const struct rollback_opts *o, FILE *out, char *err,
		   size_t errlen)
{
	struct rb_ctx x = {tgt, o, "", out, err, errlen, 0};
	unsigned set = MDW_PH_BIT(phase);
	enum mdw_phase_id order[MDW_NPHASES];
	char json[MDW_NPHASES][512], names[256];
	int n, rc;
	PGresult *r;

	snprintf(x.run, sizeof x.run, "%" PRId64, o->run);
	if (rbexec(&x, "BEGIN", "") < 0)
		return RB_ERROR;
	if (rbexec(&x, "CREATE TEMP TABLE rb_del (id bigint PRIMARY KEY) ON COMMIT DROP", "") < 0 ||
	    rbexec(&x,
		   "CREATE TEMP TABLE rb_runs (phase text, run_id bigint, PRIMARY KEY (phase, run_id)) ON COMMIT DROP",
		   "") < 0 ||
	    rbexec(&x, "CREATE TEMP TABLE rb_ledger (phase text, run_id bigint) ON COMMIT DROP", "") < 0) {
		rc = RB_ERROR;
		goto fail;
	}
	if ((rc = rb_refusals(&x, phase, &set)) != RB_DONE)
		goto fail;
	rc = RB_ERROR;
	n = rollback_order(set, order);
	fprintf(out, "rollback of %s, %s%s%s\n  %-19s %-22s %10s\n", mdw_phases[phase].name,
		o->run ? "run " : "every run", o->run ? x.run : "", n > 1 ? ", dependents first" : "", "phase", "table",
		"rows");
	for (int i = 0; i < n; i++)
		if (rb_one(&x, order[i], json[order[i]], sizeof json[0]) < 0) {
			if (x.fk_violation) {
				size_t l = strlen(err);
				snprintf(err + l, errlen - l,
					 " (hint: rows that this rollback does not remove still reference them: rows of "
					 "other runs (roll back without --run), of a dependent phase (--cascade), or added "
					 "after the migration)");
				rc = RB_REFUSED;
			}
			goto fail;
		}
	/* the ledger: the phases' run_phases and chunks of the runs rolled back, and of the runs touched */
	names_array(set, names, sizeof names);
	if (!(r = rbq(&x, ledger_sql_rollback_reset, names)))
		goto fail;
	for (int i = 0; i < PQntuples(r); i++)
		fprintf(out, "ledger of %s reset in runs %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
	if (!PQntuples(r))
		fprintf(out, "no ledger to reset\n");
	PQclear(r);
	for (int i = 0; i < n; i++) {
		const char *p[4] = {mdw_phases[order[i]].name, json[order[i]],
				    order[i] == phase ? NULL : mdw_phases[phase].name, x.run};
		if (pgx_exec(tgt,
			     "INSERT INTO mdw.rollbacks (phase, run_id, cascade_of, deleted, ledger_runs) "
			     "SELECT $1, nullif($4::bigint, 0), $3, $2::jsonb, "
			     "coalesce((SELECT array_agg(run_id ORDER BY run_id) FROM rb_ledger WHERE phase = $1), '{}')",
			     4, p, err, errlen, NULL) < 0)
			goto fail;
	}
	if (o->dry_run) {
		PQclear(PQexec(tgt, "ROLLBACK"));
		fprintf(out, "dry run: nothing was changed\n");
		return RB_DONE;
	}
	if (rbexec(&x, "COMMIT", "") < 0)
		return RB_ERROR;
	fprintf(out, "rolled back\n");
	return RB_DONE;
fail:
	PQclear(PQexec(tgt, "ROLLBACK"));
	return rc;
}
