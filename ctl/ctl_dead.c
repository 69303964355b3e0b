/* mdwctl dead and retry-dead (the dead chunks of the ledger and the poison messages: ops/dead.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "dead.h"
#include "mdw/chunk_codec.h"
#include "mdw/ledger.h"

int ctl_dead(struct mdw_config *cfg, int argc, char **argv)
{
	struct dead_ctx x = {0};
	int rc = 1, poison = 0;

	(void)argc, (void)argv;
	if (dead_open(cfg, &x, "dead", ledger_dead_chunks, cfg->phase, cfg->run_id) < 0)
		goto out;
	printf("dead chunks of run %" PRId64 " (ledger): %d\n", x.run, PQntuples(x.l));
	for (int i = 0; i < PQntuples(x.l); i++) {
		struct mdw_chunk ch;
		char desc[160];
		dead_row_chunk(x.l, i, x.run, &ch);
		mdw_chunk_describe(&ch, desc, sizeof desc);
		printf("phase=%s chunk=\"%s\" attempts=%s error=\"%s\"\n", PQgetvalue(x.l, i, 0), desc,
		       PQgetvalue(x.l, i, 5), PQgetvalue(x.l, i, 6));
	}
	rc = 0;
	if (!x.letters) {
		printf("poison messages: unknown (Redis unreachable)\n");
		goto out;
	}
	for (size_t i = 0; i < x.letters->elements; i++) {
		redisReply *f = x.letters->element[i]->element[1];
		if (dead_mirrors(f, x.l, x.run) ||
		    (cfg->phase[0] && strcmp(dead_field(f, "phase", NULL), cfg->phase) != 0))
			continue;
		if (!poison++)
			printf("poison messages (Redis dead letters that name no dead chunk of the ledger):\n");
		printf("%s phase=%s desc=\"%s\" deliveries=%s error=\"%s\"\n", x.letters->element[i]->element[0]->str,
		       dead_field(f, "phase", NULL), dead_field(f, "desc", NULL), dead_field(f, "deliveries", NULL),
		       dead_field(f, "error", NULL));
	}
	if (!poison)
		printf("poison messages: 0\n");
out:
	dead_close(&x);
	return rc;
}

int ctl_retry_dead(struct mdw_config *cfg, int argc, char **argv)
{
	char msg[512];

	(void)argc, (void)argv;
	if (dead_retry(cfg, cfg->phase, cfg->run_id, msg, sizeof msg) < 0)
		return 1;
	printf("%s\n", msg);
	return 0;
}
