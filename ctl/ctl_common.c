/*
 * The commands that are the coordinator's own work (plan, dashboard): mdwctl
 * runs mdw-coordinator for them, so that mdwctl links neither the planner's
 * walk nor the web server. The coordinator is the one beside mdwctl (the
 * same folder), else the one in PATH; it gets mdwctl's arguments, the command
 * word replaced by the coordinator's flag of that mode.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

static int ctl_argc;
static char **ctl_argv;

void ctl_set_argv(int argc, char **argv)
{
	ctl_argc = argc;
	ctl_argv = argv;
}

/* FLAG for mdwctl's command word WORD (a pointer into argv: another argument with its text stays). */
static int exec_coordinator(const char *flag, const char *word)
{
	char self[PATH_MAX], path[PATH_MAX + 32], *av[ctl_argc + 2];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	int k = 0;

	av[k++] = "mdw-coordinator";
	av[k++] = (char *)flag;
	for (int i = 1; i < ctl_argc; i++)
		if (ctl_argv[i] != word)
			av[k++] = ctl_argv[i];
	av[k] = NULL;
	fflush(stdout);
	if (n > 0) {
		char *slash;
		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			*slash = '\0';
			snprintf(path, sizeof path, "%s/mdw-coordinator", self);
			if (access(path, X_OK) == 0)
				execv(path, av);
		}
	}
	execvp("mdw-coordinator", av);
	fprintf(stderr, "mdwctl: cannot run mdw-coordinator %s (beside mdwctl or in PATH): %s\n", flag,
		strerror(errno));
	return 2;
}

/* mdwctl CMD (no positional argument) as mdw-coordinator FLAG. */
static int as_coordinator(const char *cmd, const char *flag, int argc, char **argv)
{
	if (argc > 0) {
		fprintf(stderr, "mdwctl %s: unexpected argument \"%s\"\n", cmd, argv[0]);
		return 2;
	}
	return exec_coordinator(flag, argv[-1]);
}

int ctl_plan(struct mdw_config *cfg, int argc, char **argv)
{
	(void)cfg;
	return as_coordinator("plan", "--plan", argc, argv);
}

int ctl_dashboard(struct mdw_config *cfg, int argc, char **argv)
{
	(void)cfg;
	return as_coordinator("dashboard", "--dashboard", argc, argv);
}
