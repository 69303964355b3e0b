/*
 * Embedding providers behind one interface (MDW_EMBED_PROVIDER): local
 * (in-process feature hashing, no network), bedrock (InvokeModel, SigV4) and
 * openai (any OpenAI-compatible /v1/embeddings). A provider embeds a batch of
 * texts; per text it either fills the vector or rejects the text with a
 * reason (the provider refused that input), and a failure of the whole call
 * is reported as transient (retry the chunk later) or fatal (stop).
 */
#ifndef MDW_PROVIDER_H
#define MDW_PROVIDER_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "mdw/config.h"
#include "mdw/rds.h"
#include "embed_item.h"

struct provider;

/* Open the configured provider; R and RUN key the shared rate limiter. NULL with ERR. */
struct provider *provider_open(const struct mdw_config *cfg, struct ev_loop *loop, struct rds *r, int64_t run,
			       char *err, size_t errlen);

/* The model id that the hashes are computed over. */
const char *provider_model(const struct provider *p);

/* Embed ITEMS[0..N). Returns PROVIDER_OK, or a failure with ERR (then no item counts as done). */
int provider_embed(struct provider *p, struct embed_item *items, int n, char *err, size_t errlen);

/* Requests made, by outcome, and rate-limiter waits, since open (for logs and metrics). */
void provider_counts(const struct provider *p, long long *ok, long long *throttled, long long *failed,
		     long long *waits);

void provider_close(struct provider *p);

#endif
