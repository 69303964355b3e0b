/*
 * mdwctl: the operator's tool. One table of commands below; each command is
 * a function in its own file (ctl_*.c) or here when it is a few lines.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "mdw/log.h"
#include "mdw/pgx.h"

static const struct ctl_command commands[] = {
	{"legacy-demo", ctl_legacy_demo,
	 "(re)create the legacy schema in MDW_SOURCE_DSN and fill it (--scale, --seed)"},
	{"plan", ctl_plan,
	 "what a run would do, writing nothing: per phase rows, chunks, already migrated, time; embeddings: texts, "
	 "tokens, time at quota, cost (--json, --phases, --incremental); --catch-up: what a catch-up would update, "
	 "insert, leave in conflict, report deleted"},
	{"schema", ctl_schema, "apply the target schema to MDW_TARGET_DSN"},
	{"status", ctl_status, "phases of the current run: state, chunks, rows by outcome (--json)"},
	{"report", ctl_report, "write the progress report of the newest run (--report PATH)"},
	{"validate", ctl_validate, "validate the phases of the current run (--phase P, --json); non-zero on failure"},
	{"queue", ctl_queue, "per phase stream: length, pending, consumers, oldest idle"},
	{"dead", ctl_dead,
	 "list the dead chunks of the ledger with their last errors, and poison messages (--run R, --phase P)"},
	{"retry-dead", ctl_retry_dead,
	 "set the dead chunks of the ledger pending and re-enqueue them (--run R, --phase P)"},
	{"rollback", ctl_rollback,
	 "remove the rows that runs inserted for a phase and reset its ledger (--phase P, --run R, --cascade, --dry-run)"},
	{"rejects", ctl_rejects,
	 "rejected rows by phase and reason, cascaded and roots (--run N, --phase P, --reason R, --root PHASE:ID, "
	 "--list, --export FILE --format csv|jsonl)"},
	{"flags", ctl_flags,
	 "repaired references by phase and code (--run N, --phase P, --reason CODE, --list, --export FILE)"},
	{"verify", ctl_verify,
	 "compare every target row with what its legacy row should have become, set-based (--phase P, --full | --sample N, "
	 "--show-values); "
	 "non-zero on a difference"},
	{"catch-up", ctl_catch_up,
	 "what the newest catch-up run updated, inserted and left in conflict (--run N); --deleted: the legacy rows "
	 "deleted since they were migrated (--apply [--cascade] [--dry-run] deletes their target rows); --orphans: "
	 "embeddings no entity links (--list, --apply)"},
	{"backups", ctl_backups, "list the dumps taken before each phase wrote (--run R, --phase P)"},
	{"dashboard", ctl_dashboard,
	 "serve the web page of the newest run (or --run R) on --addr, read from the ledger and Redis, until interrupted"},
};

#define NCMD (sizeof commands / sizeof commands[0])

static void usage(void)
{
	mdw_config_usage(MDW_PROG_CTL, "mdwctl", "[options] COMMAND");
	printf("\ncommands:\n");
	for (size_t i = 0; i < NCMD; i++)
		printf("  %-14s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	struct mdw_config cfg;
	struct mdw_args args;
	char err[512];
	int rc = 2;

	signal(SIGPIPE, SIG_IGN); /* a closed pipe or socket is a write error, not a death */
	if (mdw_config_load(&cfg, MDW_PROG_CTL, argc, argv, &args, err, sizeof err) < 0) {
		fprintf(stderr, "mdwctl: %s\n", err);
		return 2;
	}
	ctl_set_argv(argc, argv);
	mdw_log_init("mdwctl", cfg.log_level, cfg.log_format);
	pgx_set_dead_peer((int)cfg.pg_dead_peer_s);
	if (cfg.help || args.n == 0) {
		usage();
		rc = cfg.help ? 0 : 2;
		goto out;
	}
	for (size_t i = 0; i < NCMD; i++)
		if (strcmp(args.v[0], commands[i].name) == 0) {
			rc = commands[i].fn(&cfg, args.n - 1, args.v + 1);
			goto out;
		}
	fprintf(stderr, "mdwctl: unknown command \"%s\" (see mdwctl --help)\n", args.v[0]);
out:
	mdw_config_free(&cfg);
	return rc;
}
