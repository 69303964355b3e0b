/*
 * Configuration: one table (config.c) lists every setting with its
 * environment variable, flag, type, default, bounds and help. Environment
 * first (docker-compose and Kubernetes set it), flags override. Secrets may
 * come from a file named by VAR_FILE. Every bad value is refused with a
 * message that names the variable and what it accepts.
 */
#ifndef MDW_CONFIG_H
#define MDW_CONFIG_H

#include <stddef.h>

#define MDW_MUST __attribute__((warn_unused_result))

/* Which programs a setting belongs to. */
enum {
	MDW_PROG_COORD = 1,
	MDW_PROG_WORKER = 2,
	MDW_PROG_CTL = 4,
	MDW_PROG_ALL = 7,
};

struct mdw_config {
	char *source_dsn;
	long long source_statement_timeout_ms;
	char *target_dsn;
	char *redis_url;
	long long chunk_rows;
	long long lease_ms;
	long long max_attempts;
	long long lock_timeout_ms;
	long long pg_dead_peer_s;
	long long chunk_max_bytes;
	char *phases;
	int new_run;
	int exit_when_done;
	char *worker_id;
	char *log_level;
	char *log_format;
	char *embed_provider;
	char *embed_model;
	long long embed_batch;
	long long embed_concurrency;
	int embed_identifiers;
	long long rate_rpm;
	long long rate_tpm;
	char *bedrock_endpoint;
	char *aws_region;
	char *ca_file;
	char *report_path;
	long long poll_ms;
	char *fk_checks;
	char *metrics_addr;
	char *metrics_token;
	char *dashboard_addr;
	char *backup_dir;
	char *pg_dump;
	int incremental;
	int redrive;
	int catch_up;
	int verify;
	int plan;
	int dashboard; /* coordinator: --dashboard, serve the web page only */
	double embed_price_per_1k;
	long long source_max_connections;
	long long source_rows_per_s;
	/* mdwctl only */
	long long scale;
	long long seed;
	int dirty;
	char *phase;
	int json;
	int watch;
	long long run_id;
	int cascade;
	int dry_run;
	int deleted;
	int orphans;
	int apply;
	char *reason;
	char *root;
	int list;
	char *export_path;
	char *export_format;
	int show_values;
	int full;
	long long sample;
	int help;
};

/* Number of positional arguments kept by mdw_config_load. */
#define MDW_MAX_ARGS 16

struct mdw_args {
	int n;
	char *v[MDW_MAX_ARGS];
};

/*
 * Fill CFG with defaults, then the environment, then ARGV (flags of PROG
 * only). Positional arguments go to ARGS (may be NULL: then none allowed).
 * On failure returns -1 with the message in ERR. Free with mdw_config_free.
 */
MDW_MUST int mdw_config_load(struct mdw_config *cfg, unsigned prog, int argc, char **argv, struct mdw_args *args,
			     char *err, size_t errlen);

/* Release the strings of CFG (accepts a zeroed config). */
void mdw_config_free(struct mdw_config *cfg);

/* Print usage of PROG's settings, generated from the table. */
void mdw_config_usage(unsigned prog, const char *progname, const char *synopsis);

/* Copy S into OUT with any password (DSN password=..., URL user:pass@) masked. */
void mdw_mask_secret(const char *s, char *out, size_t outlen);

#endif
