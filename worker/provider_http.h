/*
 * The HTTP embedding providers (bedrock, openai): many requests in flight on
 * the worker's one libev loop through libcurl's multi interface, each
 * released by the cluster-wide rate limiter in Redis.
 */
#ifndef MDW_PROVIDER_HTTP_H
#define MDW_PROVIDER_HTTP_H

#include <ev.h>
#include <stdint.h>

#include "embed_item.h"
#include "mdw/config.h"
#include "mdw/rds.h"

struct http_provider;

struct http_provider *http_provider_open(const struct mdw_config *cfg, struct ev_loop *loop, struct rds *r, int64_t run,
					 char *err, size_t errlen);
const char *http_provider_model(const struct http_provider *h);
int http_provider_embed(struct http_provider *h, struct embed_item *items, int n, char *err, size_t errlen);
void http_provider_counts(const struct http_provider *h, long long *ok, long long *throttled, long long *failed,
			  long long *waits);
void http_provider_close(struct http_provider *h);

#endif
