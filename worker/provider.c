/*
 * The provider dispatcher and the local provider (see provider.h). The
 * HTTP providers live in provider_http.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdw/embed_local.h"
#include "provider.h"
#include "provider_http.h"

struct provider {
	int local;
	struct http_provider *http;
	long long ok;
};

struct provider *provider_open(const struct mdw_config *cfg, struct ev_loop *loop, struct rds *r, int64_t run,
			       char *err, size_t errlen)
{
	struct provider *p = calloc(1, sizeof *p);

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (strcmp(cfg->embed_provider, "local") == 0) {
		p->local = 1;
		return p;
	}
	p->http = http_provider_open(cfg, loop, r, run, err, errlen);
	if (!p->http) {
		free(p);
		return NULL;
	}
	return p;
}

const char *provider_model(const struct provider *p)
{
	return p->local ? EMBED_LOCAL_MODEL : http_provider_model(p->http);
}

int provider_embed(struct provider *p, struct embed_item *items, int n, char *err, size_t errlen)
{
	if (!p->local)
		return http_provider_embed(p->http, items, n, err, errlen);
	for (int i = 0; i < n; i++) {
		if (embed_local(items[i].text, items[i].len, items[i].vec, &items[i].tokens) < 0) {
			snprintf(err, errlen, "local embedding failed");
			return PROVIDER_FATAL;
		}
		p->ok++;
	}
	return PROVIDER_OK;
}

void provider_counts(const struct provider *p, long long *ok, long long *throttled, long long *failed, long long *waits)
{
	if (!p->local) {
		http_provider_counts(p->http, ok, throttled, failed, waits);
		return;
	}
	*ok = p->ok;
	*throttled = *failed = *waits = 0;
}

void provider_close(struct provider *p)
{
	if (!p)
		return;
	http_provider_close(p->http);
	free(p);
}
