/*
 * mdwctl dashboard: the coordinator's web page (web.h) without a
 * coordinator, for a run that is over or watched from elsewhere: it reads
 * the ledger and Redis on each request (the retry button runs retry-dead).
 * Serves until SIGINT or SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "ctl.h"
#include "web.h"

static volatile sig_atomic_t dash_stop;

static void on_stop(int sig)
{
	(void)sig;
	dash_stop = 1;
}

int ctl_dashboard(struct mdw_config *cfg, int argc, char **argv)
{
	char err[512];

	(void)argc, (void)argv;
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	signal(SIGPIPE, SIG_IGN);
	if (web_start(cfg->dashboard_addr, cfg, 0, 1, err, sizeof err) < 0) {
		fprintf(stderr, "mdwctl dashboard: %s\n", err);
		return 1;
	}
	printf("dashboard: http://%s%s/%s\n", cfg->dashboard_addr[0] == ':' ? "127.0.0.1" : "", cfg->dashboard_addr,
	       cfg->metrics_token[0] ? " (open /?token=... once)" : "");
	fflush(stdout);
	while (!dash_stop)
		pause();
	web_stop();
	return 0;
}
