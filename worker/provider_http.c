/*
 * HTTP embedding providers (bedrock, openai). This build does not have them
 * yet: opening one fails with a clear message, so that a misconfiguration
 * is never mistaken for a working migration.
 */
#include <stdio.h>

#include "provider_http.h"

struct http_provider {
	int unused;
};

struct http_provider *http_provider_open(const struct mdw_config *cfg, struct ev_loop *loop, struct rds *r,
					 int64_t run, char *err, size_t errlen)
{
	(void)loop, (void)r, (void)run;
	snprintf(err, errlen, "MDW_EMBED_PROVIDER=%s is not available in this build: use local", cfg->embed_provider);
	return NULL;
}

const char *http_provider_model(const struct http_provider *h)
{
	(void)h;
	return "";
}

int http_provider_embed(struct http_provider *h, struct embed_item *items, int n, char *err, size_t errlen)
{
	(void)h, (void)items, (void)n;
	snprintf(err, errlen, "HTTP providers are not available in this build");
	return PROVIDER_FATAL;
}

void http_provider_counts(const struct http_provider *h, long long *ok, long long *throttled, long long *failed)
{
	(void)h;
	*ok = *throttled = *failed = 0;
}

void http_provider_close(struct http_provider *h)
{
	(void)h;
}
