/*
 * The config table and its loader. Every setting of every program is one
 * row below; --help, validation and the docs read this table.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdw/config.h"

enum cfg_type { CFG_STR, CFG_SECRET, CFG_INT, CFG_BOOL, CFG_ENUM, CFG_REAL };

struct cfg_entry {
	const char *env;  /* environment variable, or NULL (flag only) */
	const char *flag; /* long flag without the dashes */
	enum cfg_type type;
	const char *def;     /* default, as text; NULL = unset */
	long long min, max;  /* bounds of CFG_INT and CFG_REAL */
	const char *choices; /* CFG_ENUM: "a|b|c" */
	size_t off;
	unsigned progs;
	const char *help;
};

#define OFF(f) offsetof(struct mdw_config, f)
#define C MDW_PROG_COORD
#define W MDW_PROG_WORKER
#define K MDW_PROG_CTL

static const struct cfg_entry cfg_table[] = {
	{"MDW_SOURCE_DSN", "source-dsn", CFG_SECRET, "", 0, 0, NULL, OFF(source_dsn), C | W | K,
	 "libpq connection string of the legacy database (PG* variables apply when empty)"},
	{"MDW_SOURCE_STATEMENT_TIMEOUT_MS", "source-statement-timeout-ms", CFG_INT, "300000", 0, 86400000, NULL,
	 OFF(source_statement_timeout_ms), C | W,
	 "statement_timeout of every session on the legacy database (which is also read-only); 0 = none"},
	{"MDW_TARGET_DSN", "target-dsn", CFG_SECRET, "", 0, 0, NULL, OFF(target_dsn), C | W | K,
	 "libpq connection string of the target warehouse"},
	{"MDW_REDIS_URL", "redis-url", CFG_SECRET, "redis://127.0.0.1:6379/0", 0, 0, NULL, OFF(redis_url), C | W | K,
	 "Redis URL: redis://[user[:password]@]host[:port][/db]"},
	{"MDW_CHUNK_ROWS", "chunk-rows", CFG_INT, "5000", 1, 1000000, NULL, OFF(chunk_rows), C | K,
	 "source rows per chunk"},
	{"MDW_LEASE_MS", "lease-ms", CFG_INT, "30000", 1000, 3600000, NULL, OFF(lease_ms), C | W | K,
	 "a chunk idle this long in another worker's hands is taken over"},
	{"MDW_MAX_ATTEMPTS", "max-attempts", CFG_INT, "5", 1, 100, NULL, OFF(max_attempts), W,
	 "deliveries of a chunk before it goes to the dead-letter queue (a retry in place after a transient error "
	 "counts as one; a lost connection does not)"},
	{"MDW_LOCK_TIMEOUT_MS", "lock-timeout-ms", CFG_INT, "1000", 10, 600000, NULL, OFF(lock_timeout_ms), W,
	 "a ledger row locked this long by another session (a stalled worker) is left to it: the entry waits for a "
	 "later takeover, and the attempt is not counted as a delivery"},
	{"MDW_CHUNK_MAX_BYTES", "chunk-max-bytes", CFG_INT, "67108864", 65536, 1073741824, NULL, OFF(chunk_max_bytes),
	 W, "a chunk's source rows are read, staged and COPYed in parts of about this many bytes (memory per worker)"},
	{"MDW_PG_DEAD_PEER_S", "pg-dead-peer-s", CFG_INT, "30", 2, 3600, NULL, OFF(pg_dead_peer_s), C | W | K,
	 "a Postgres connection whose peer stays silent this long is dropped on both ends (TCP keepalives, "
	 "tcp_user_timeout), so that a lost worker's transaction and its locks go away"},
	{"MDW_PHASES", "phases", CFG_STR, "", 0, 0, NULL, OFF(phases), C | K,
	 "comma-separated phases to run (default: all); their needs must be complete or listed"},
	{NULL, "new-run", CFG_BOOL, "0", 0, 1, NULL, OFF(new_run), C | K,
	 "start a new run even if an unfinished one exists"},
	{"MDW_EXIT_WHEN_DONE", "exit-when-done", CFG_BOOL, "0", 0, 1, NULL, OFF(exit_when_done), W,
	 "exit once the run this worker joined is complete"},
	{"MDW_WORKER_ID", "worker-id", CFG_STR, "", 0, 0, NULL, OFF(worker_id), W,
	 "consumer name in Redis (default: hostname-pid)"},
	{"MDW_LOG_LEVEL", "log-level", CFG_ENUM, "info", 0, 0, "debug|info|warn|error", OFF(log_level), C | W | K,
	 "least severe level logged"},
	{"MDW_LOG_FORMAT", "log-format", CFG_ENUM, "logfmt", 0, 0, "logfmt|json", OFF(log_format), C | W | K,
	 "log line format"},
	{"MDW_EMBED_PROVIDER", "embed-provider", CFG_ENUM, "local", 0, 0, "local|bedrock|openai", OFF(embed_provider),
	 C | W | K, "embedding provider"},
	{"MDW_EMBED_MODEL", "embed-model", CFG_STR, "amazon.titan-embed-text-v2:0", 0, 0, NULL, OFF(embed_model),
	 C | W | K, "embedding model id"},
	{"MDW_EMBED_BATCH", "embed-batch", CFG_INT, "100", 1, 10000, NULL, OFF(embed_batch), C | K,
	 "entities per embedding chunk"},
	{"MDW_EMBED_CONCURRENCY", "embed-concurrency", CFG_INT, "16", 1, 1024, NULL, OFF(embed_concurrency), W,
	 "embedding requests in flight per worker"},
	{"MDW_EMBED_IDENTIFIERS", "embed-identifiers", CFG_BOOL, "0", 0, 1, NULL, OFF(embed_identifiers), C | W | K,
	 "add the patient's name and birth year to patient texts (off: clinical content only, the minimum necessary)"},
	{"MDW_RATE_RPM", "rate-rpm", CFG_INT, "6000", 1, 100000000, NULL, OFF(rate_rpm), C | W | K,
	 "cluster-wide embedding requests per minute"},
	{"MDW_RATE_TPM", "rate-tpm", CFG_INT, "300000", 1, 1000000000, NULL, OFF(rate_tpm), C | W | K,
	 "cluster-wide embedding input tokens per minute"},
	{"MDW_BEDROCK_ENDPOINT", "bedrock-endpoint", CFG_STR, "", 0, 0, NULL, OFF(bedrock_endpoint), C | W,
	 "Bedrock runtime endpoint URL (default: https://bedrock-runtime.REGION.amazonaws.com)"},
	{"AWS_REGION", "aws-region", CFG_STR, "us-east-1", 0, 0, NULL, OFF(aws_region), C | W, "AWS region of Bedrock"},
	{"MDW_CA_FILE", "ca-file", CFG_STR, "", 0, 0, NULL, OFF(ca_file), W,
	 "PEM file of the CA certificates that the embedding endpoint's certificate must chain to (default: the "
	 "system's); verification is never turned off"},
	{"MDW_REPORT_PATH", "report", CFG_STR, "migration_progress_report.md", 0, 0, NULL, OFF(report_path), C | K,
	 "progress report path (a .json twin is written beside it)"},
	{"MDW_POLL_MS", "poll-ms", CFG_INT, "500", 10, 60000, NULL, OFF(poll_ms), C | W,
	 "longest wait between the coordinator's ledger checks and an idle worker's polls (queue events wake both at once)"},
	{"MDW_FK_CHECKS", "fk-checks", CFG_ENUM, "phase", 0, 0, "phase|row", OFF(fk_checks), W,
	 "phase: load with Postgres' per-row foreign-key triggers off (needs SET on session_replication_role; "
	 "validation then checks every foreign key of the phase set-based); row: Postgres checks each row"},
	{"MDW_METRICS_ADDR", "metrics-addr", CFG_STR, "", 0, 0, NULL, OFF(metrics_addr), C,
	 "serve Prometheus /metrics, the dashboard (/) and its JSON (/api/status) on [address]:port (off when empty; "
	 "address defaults to 127.0.0.1)"},
	{"MDW_HTTP_ADDR", "http-addr", CFG_STR, NULL, 0, 0, NULL, OFF(metrics_addr), C,
	 "the same as --metrics-addr (the dashboard's name for it)"},
	{"MDW_METRICS_TOKEN", "metrics-token", CFG_SECRET, "", 0, 0, NULL, OFF(metrics_token), C | K,
	 "bearer token that /metrics, the dashboard and its JSON require (none when empty; required off loopback)"},
	{NULL, "addr", CFG_STR, "127.0.0.1:9465", 0, 0, NULL, OFF(dashboard_addr), C | K,
	 "dashboard: serve the page of the run on [address]:port (off loopback MDW_METRICS_TOKEN is required)"},
	{NULL, "dashboard", CFG_BOOL, "0", 0, 1, NULL, OFF(dashboard), C,
	 "serve the dashboard of the newest run (or --run R) on --addr without running a migration, until interrupted "
	 "(what mdwctl dashboard runs)"},
	{"MDW_BACKUP_DIR", "backup-dir", CFG_STR, "", 0, 0, NULL, OFF(backup_dir), C,
	 "before a phase writes, pg_dump its target tables into DIR/RUN/NN-PHASE.dump (off when empty)"},
	{"MDW_PG_DUMP", "pg-dump", CFG_STR, "pg_dump", 0, 0, NULL, OFF(pg_dump), C,
	 "the pg_dump program used by --backup-dir (searched in PATH unless it contains a /)"},
	{"MDW_INCREMENTAL", "incremental", CFG_BOOL, "0", 0, 1, NULL, OFF(incremental), C | K,
	 "plan only source rows that earlier complete runs did not cover, and rows updated since"},
	{"MDW_VERIFY", "verify", CFG_BOOL, "0", 0, 1, NULL, OFF(verify), C,
	 "after a phase validates, verify its rows against the legacy data (mdwctl verify); a difference fails the phase"},
	{NULL, "redrive", CFG_BOOL, "0", 0, 1, NULL, OFF(redrive), C,
	 "plan exactly the rows that earlier complete runs rejected, and every row rejected through them, read fresh "
	 "from the legacy database (docs/operations.md)"},
	{NULL, "catch-up", CFG_BOOL, "0", 0, 1, NULL, OFF(catch_up), C | K,
	 "a mode of --incremental: update the target rows whose legacy rows changed since the migration wrote them, "
	 "insert new rows, report deleted rows and conflicts (docs/operations.md, \"Catch-up and cutover\"); plan: "
	 "what a catch-up would do"},
	{NULL, "plan", CFG_BOOL, "0", 0, 1, NULL, OFF(plan), C,
	 "print what a run would do (per phase: rows, chunks, already migrated; embeddings: texts, tokens, time at "
	 "quota, cost) and exit, writing nothing (no run, no ledger rows, no Redis keys); with --json as JSON"},
	{"MDW_EMBED_PRICE_PER_1K", "embed-price-per-1k", CFG_REAL, "0.00002", 0, 1000, NULL, OFF(embed_price_per_1k),
	 C | K,
	 "embedding price in USD per 1,000 input tokens, for the plan's cost (default: Amazon Titan Text Embeddings V2 "
	 "on-demand, see docs/operations.md)"},
	{"MDW_SOURCE_MAX_CONNECTIONS", "source-max-connections", CFG_INT, "0", 0, 100000, NULL,
	 OFF(source_max_connections), C | W | K,
	 "fleet-wide limit of concurrent source reads (a worker holds a slot in Redis while its source statement runs; "
	 "a killed worker's slot comes back after MDW_LEASE_MS); 0 = unlimited"},
	{"MDW_SOURCE_ROWS_PER_S", "source-rows-per-s", CFG_INT, "0", 0, 1000000000, NULL, OFF(source_rows_per_s),
	 C | W | K, "fleet-wide rate of legacy rows read per second (a token bucket in Redis); 0 = unlimited"},
	{NULL, "scale", CFG_INT, "1", 1, 1000, NULL, OFF(scale), K,
	 "legacy-demo: scale factor (1 = the production snapshot's row counts)"},
	{NULL, "seed", CFG_INT, "42", 0, 2147483647, NULL, OFF(seed), K,
	 "legacy-demo: seed of the deterministic generator"},
	{NULL, "dirty", CFG_BOOL, "0", 0, 1, NULL, OFF(dirty), K,
	 "legacy-demo: raise every dirt kind to a high rate and add extreme rows (sql/legacy/dirty.sql)"},
	{NULL, "phase", CFG_STR, "", 0, 0, NULL, OFF(phase), K, "limit a command to one phase"},
	{NULL, "json", CFG_BOOL, "0", 0, 1, NULL, OFF(json), C | K, "machine-readable output"},
	{NULL, "watch", CFG_BOOL, "0", 0, 1, NULL, OFF(watch), K, "status: redraw until interrupted"},
	{NULL, "run", CFG_INT, "0", 0, 1000000000000000000LL, NULL, OFF(run_id), C | K,
	 "limit to run N: rollback, backups (0: every run); status, report, validate, dashboard (0: the latest run)"},
	{NULL, "cascade", CFG_BOOL, "0", 0, 1, NULL, OFF(cascade), K,
	 "rollback: roll back the phases that depend on the phase first; catch-up --deleted --apply: delete the "
	 "target rows that reference the deleted rows too"},
	{NULL, "dry-run", CFG_BOOL, "0", 0, 1, NULL, OFF(dry_run), K,
	 "rollback, catch-up --apply: print the rows it would delete and change nothing"},
	{NULL, "deleted", CFG_BOOL, "0", 0, 1, NULL, OFF(deleted), K,
	 "catch-up: the legacy rows deleted since they were migrated (phase, legacy id, since when)"},
	{NULL, "orphans", CFG_BOOL, "0", 0, 1, NULL, OFF(orphans), K,
	 "catch-up: the embeddings no entity links to any more"},
	{NULL, "apply", CFG_BOOL, "0", 0, 1, NULL, OFF(apply), K,
	 "catch-up: with --deleted, delete the target rows the migration made for them (--cascade, --dry-run); "
	 "with --orphans, delete the orphaned embeddings"},
	{NULL, "reason", CFG_STR, "", 0, 0, NULL, OFF(reason), K,
	 "rejects: only this reason code; flags: only this flag code"},
	{NULL, "root", CFG_STR, "", 0, 0, NULL, OFF(root), K,
	 "rejects: only the row PHASE:ID and the rows rejected through it (e.g. profiles:6301)"},
	{NULL, "list", CFG_BOOL, "0", 0, 1, NULL, OFF(list), K,
	 "rejects, flags: one line per row (ids, reasons, details) instead of the summary"},
	{NULL, "export", CFG_STR, "", 0, 0, NULL, OFF(export_path), K,
	 "rejects, flags: write the rows to this new file, mode 0600 (rejects hold the legacy rows: patient data)"},
	{NULL, "format", CFG_ENUM, "csv", 0, 0, "csv|jsonl", OFF(export_format), K,
	 "rejects, flags: format of --export"},
	{NULL, "show-values", CFG_BOOL, "0", 0, 1, NULL, OFF(show_values), K,
	 "verify: print the expected and the target value of each differing column (patient data)"},
	{NULL, "full", CFG_BOOL, "0", 0, 1, NULL, OFF(full), K, "verify: compare every row (the default)"},
	{NULL, "sample", CFG_INT, "0", 0, 1000000000, NULL, OFF(sample), K,
	 "verify: compare only N buckets of 4096 legacy ids per phase, drawn at random and named in the output (0: every row)"},
	{NULL, "help", CFG_BOOL, "0", 0, 1, NULL, OFF(help), C | W | K, "print this help and exit"},
};

#define NCFG (sizeof(cfg_table) / sizeof(cfg_table[0]))

static char **str_at(struct mdw_config *c, const struct cfg_entry *e)
{
	return (char **)((char *)c + e->off);
}

static long long *int_at(struct mdw_config *c, const struct cfg_entry *e)
{
	return (long long *)((char *)c + e->off);
}

static double *real_at(struct mdw_config *c, const struct cfg_entry *e)
{
	return (double *)((char *)c + e->off);
}

static int *bool_at(struct mdw_config *c, const struct cfg_entry *e)
{
	return (int *)((char *)c + e->off);
}

static void describe(const struct cfg_entry *e, char *buf, size_t len)
{
	switch (e->type) {
	case CFG_INT:
		snprintf(buf, len, "an integer from %lld to %lld", e->min, e->max);
		break;
	case CFG_REAL:
		snprintf(buf, len, "a number from %lld to %lld", e->min, e->max);
		break;
	case CFG_BOOL:
		snprintf(buf, len, "one of 1, 0, true, false, yes, no");
		break;
	case CFG_ENUM:
		snprintf(buf, len, "one of %s", e->choices);
		break;
	default:
		snprintf(buf, len, "a string");
	}
}

/* Set entry E from text V; SRC names where V came from (for the message). */
static int set_value(struct mdw_config *c, const struct cfg_entry *e, const char *v, const char *src, char *err,
		     size_t errlen)
{
	char want[128];
	char shown[64];

	describe(e, want, sizeof want);
	/* Never echo a secret back, even in an error. */
	snprintf(shown, sizeof shown, "%s", e->type == CFG_SECRET ? "***" : v);
	if (strlen(v) > 40 && e->type != CFG_SECRET)
		strcpy(shown + 37, "...");

	switch (e->type) {
	case CFG_INT: {
		char *end;
		errno = 0;
		long long n = strtoll(v, &end, 10);
		if (errno || end == v || *end || n < e->min || n > e->max) {
			snprintf(err, errlen, "invalid %s \"%s\": expected %s", src, shown, want);
			return -1;
		}
		*int_at(c, e) = n;
		return 0;
	}
	case CFG_REAL: {
		char *end;
		errno = 0;
		double x = strtod(v, &end);
		if (errno || end == v || *end || !(x >= (double)e->min && x <= (double)e->max)) {
			snprintf(err, errlen, "invalid %s \"%s\": expected %s", src, shown, want);
			return -1;
		}
		*real_at(c, e) = x;
		return 0;
	}
	case CFG_BOOL:
		if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes"))
			*bool_at(c, e) = 1;
		else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") || !*v)
			*bool_at(c, e) = 0;
		else {
			snprintf(err, errlen, "invalid %s \"%s\": expected %s", src, shown, want);
			return -1;
		}
		return 0;
	case CFG_ENUM: {
		size_t n = strlen(v);
		const char *p = e->choices;
		int ok = 0;
		while (*p && !ok) {
			const char *bar = strchr(p, '|');
			size_t l = bar ? (size_t)(bar - p) : strlen(p);
			ok = (l == n && strncmp(p, v, n) == 0);
			p += l + (bar ? 1 : 0);
		}
		if (!ok) {
			snprintf(err, errlen, "invalid %s \"%s\": expected %s", src, shown, want);
			return -1;
		}
	}
		/* fall through */
	case CFG_STR:
	case CFG_SECRET: {
		char *dup = strdup(v);
		if (!dup) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		free(*str_at(c, e));
		*str_at(c, e) = dup;
		return 0;
	}
	}
	return -1;
}

/* Read a secret from the file named by NAME_FILE; trailing newlines dropped. */
static int read_secret_file(const char *var, const char *path, char **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char buf[4096];
	size_t n;

	if (!f) {
		snprintf(err, errlen, "cannot read %s_FILE \"%s\": %s", var, path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof buf - 1, f);
	if (!feof(f)) {
		fclose(f);
		snprintf(err, errlen, "invalid %s_FILE \"%s\": longer than %zu bytes", var, path, sizeof buf - 1);
		return -1;
	}
	fclose(f);
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = 0;
	*out = strdup(buf);
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static const struct cfg_entry *find_flag(const char *name, size_t len, unsigned prog)
{
	for (size_t i = 0; i < NCFG; i++)
		if ((cfg_table[i].progs & prog) && strlen(cfg_table[i].flag) == len &&
		    strncmp(cfg_table[i].flag, name, len) == 0)
			return &cfg_table[i];
	return NULL;
}

/* Every setting's default into CFG. */
static int load_defaults(struct mdw_config *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < NCFG; i++) {
		const struct cfg_entry *e = &cfg_table[i];
		if (e->def && set_value(cfg, e, e->def, e->flag, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* PROG's settings from the environment into CFG (a secret also from its *_FILE, never both). */
static int load_env(struct mdw_config *cfg, unsigned prog, char *err, size_t errlen)
{
	for (size_t i = 0; i < NCFG; i++) {
		const struct cfg_entry *e = &cfg_table[i];
		const char *v;
		char fvar[96];

		if (!e->env || !(e->progs & prog))
			continue;
		v = getenv(e->env);
		snprintf(fvar, sizeof fvar, "%s_FILE", e->env);
		if (e->type == CFG_SECRET && getenv(fvar) && *getenv(fvar)) {
			char *secret = NULL;
			if (v && *v) {
				snprintf(err, errlen, "both %s and %s are set: use one", e->env, fvar);
				return -1;
			}
			if (read_secret_file(e->env, getenv(fvar), &secret, err, errlen) < 0)
				return -1;
			free(*str_at(cfg, e));
			*str_at(cfg, e) = secret;
			continue;
		}
		if (!v)
			continue;
		if (set_value(cfg, e, v, e->env, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* Positional argument A into ARGS (NULL: the program takes none). */
static int add_positional(struct mdw_args *args, char *a, const char *hint, char *err, size_t errlen)
{
	if (!args || args->n >= MDW_MAX_ARGS) {
		snprintf(err, errlen, "unexpected argument \"%s\"%s", a, hint);
		return -1;
	}
	args->v[args->n++] = a;
	return 0;
}

/* The flag at ARGV[*I] (--name, --name=value, --name value) into CFG; *I moves past its value. */
static int load_flag(struct mdw_config *cfg, unsigned prog, int argc, char **argv, int *i, char *err, size_t errlen)
{
	const char *a = argv[*i] + 2, *eq = strchr(a, '='), *val;
	size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
	const struct cfg_entry *e = find_flag(a, nlen, prog);
	char src[96];

	if (!e) {
		snprintf(err, errlen, "unknown option \"--%.*s\" (see --help)", (int)nlen, a);
		return -1;
	}
	if (e->type == CFG_BOOL && !eq) {
		val = "1";
	} else if (eq) {
		val = eq + 1;
	} else if (*i + 1 < argc) {
		val = argv[++*i];
	} else {
		snprintf(err, errlen, "option --%s needs a value: %s", e->flag,
			 e->type == CFG_INT ? "an integer" : "a string");
		return -1;
	}
	snprintf(src, sizeof src, "--%s", e->flag);
	return set_value(cfg, e, val, src, err, errlen);
}

/* The command line into CFG (flags) and ARGS (positional arguments, all of them after "--"). */
static int load_args(struct mdw_config *cfg, unsigned prog, int argc, char **argv, struct mdw_args *args, char *err,
		     size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			for (i++; i < argc; i++)
				if (add_positional(args, argv[i], "", err, errlen) < 0)
					return -1;
			break;
		}
		if (strcmp(a, "-h") == 0) {
			cfg->help = 1;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			if (add_positional(args, argv[i], " (see --help)", err, errlen) < 0)
				return -1;
			continue;
		}
		if (load_flag(cfg, prog, argc, argv, &i, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int mdw_config_load(struct mdw_config *cfg, unsigned prog, int argc, char **argv, struct mdw_args *args, char *err,
		    size_t errlen)
{
	memset(cfg, 0, sizeof *cfg);
	if (args)
		args->n = 0;
	if (load_defaults(cfg, err, errlen) < 0 || load_env(cfg, prog, err, errlen) < 0 ||
	    load_args(cfg, prog, argc, argv, args, err, errlen) < 0)
		goto fail;
	if (prog & (MDW_PROG_COORD | MDW_PROG_WORKER)) {
		if (cfg->source_dsn && cfg->target_dsn && *cfg->source_dsn &&
		    strcmp(cfg->source_dsn, cfg->target_dsn) == 0) {
			snprintf(err, errlen,
				 "MDW_SOURCE_DSN and MDW_TARGET_DSN are the same: the legacy and target databases must differ");
			goto fail;
		}
	}
	return 0;
fail:
	mdw_config_free(cfg);
	return -1;
}

void mdw_config_free(struct mdw_config *cfg)
{
	for (size_t i = 0; i < NCFG; i++) {
		const struct cfg_entry *e = &cfg_table[i];
		if (e->type == CFG_STR || e->type == CFG_SECRET || e->type == CFG_ENUM) {
			free(*str_at(cfg, e));
			*str_at(cfg, e) = NULL;
		}
	}
}

void mdw_config_usage(unsigned prog, const char *progname, const char *synopsis)
{
	printf("usage: %s %s\n\noptions (environment variable in brackets; flags override it):\n", progname, synopsis);
	for (size_t i = 0; i < NCFG; i++) {
		const struct cfg_entry *e = &cfg_table[i];
		char flag[64], want[128], line[256] = "";
		size_t o = 0;

		if (!(e->progs & prog))
			continue;
		describe(e, want, sizeof want);
		if (e->type == CFG_BOOL)
			snprintf(flag, sizeof flag, "--%s", e->flag);
		else
			snprintf(flag, sizeof flag, "--%s %s", e->flag,
				 e->type == CFG_INT || e->type == CFG_REAL ? "N" : "VALUE");
		printf("  %-28s %s\n", flag, e->help);
		if (e->env)
			o += (size_t)snprintf(line + o, sizeof line - o, "[%s%s%s] ", e->env,
					      e->type == CFG_SECRET ? " or " : "", e->type == CFG_SECRET ? e->env : "");
		if (e->env && e->type == CFG_SECRET)
			o -= 2, o += (size_t)snprintf(line + o, sizeof line - o, "_FILE] ");
		if (e->type == CFG_INT || e->type == CFG_ENUM || e->type == CFG_REAL)
			o += (size_t)snprintf(line + o, sizeof line - o, "%s; default %s", want, e->def);
		else if (e->type == CFG_STR && e->def && *e->def)
			o += (size_t)snprintf(line + o, sizeof line - o, "default %s", e->def);
		if (o)
			printf("  %-28s %s\n", "", line);
	}
}

void mdw_mask_secret(const char *s, char *out, size_t outlen)
{
	size_t o = 0;
	const char *p = s ? s : "";

	if (!outlen)
		return;
	while (*p && o + 1 < outlen) {
		/* key=value DSN form: password=... up to whitespace (or quoted) */
		if ((p == s || isspace((unsigned char)p[-1])) && strncmp(p, "password", 8) == 0) {
			const char *q = p + 8;
			while (*q == ' ')
				q++;
			if (*q == '=') {
				q++;
				while (*q == ' ')
					q++;
				o += snprintf(out + o, outlen - o, "password=***");
				if (*q == '\'') {
					for (q++; *q && *q != '\''; q++)
						if (*q == '\\' && q[1])
							q++;
					if (*q)
						q++;
				} else {
					while (*q && !isspace((unsigned char)*q))
						q++;
				}
				p = q;
				continue;
			}
		}
		/* URL form: scheme://user:password@host */
		if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
			const char *auth = p + 3, *at = strchr(auth, '@'), *slash = strchr(auth, '/');
			if (at && (!slash || at < slash)) {
				const char *colon = memchr(auth, ':', (size_t)(at - auth));
				if (colon) {
					o += snprintf(out + o, outlen - o, "://%.*s:***", (int)(colon - auth), auth);
					p = at;
					continue;
				}
			}
		}
		if (o + 1 < outlen)
			out[o++] = *p;
		p++;
	}
	if (o >= outlen)
		o = outlen - 1;
	out[o] = 0;
}
