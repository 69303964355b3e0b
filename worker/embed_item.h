/*
 * What an embedding provider is asked and answers: the items of one call and
 * how a call failed. Types only, shared by the provider interface
 * (provider.h) and its implementations (provider_http.h), so that neither
 * includes the other.
 */
#ifndef MDW_EMBED_ITEM_H
#define MDW_EMBED_ITEM_H

#include <stddef.h>

#include "mdw/embed_text.h" /* MDW_EMBED_DIMS */

struct embed_item {
	const char *text;
	size_t len;
	float vec[MDW_EMBED_DIMS];
	int tokens;
	int rejected;  /* the provider refused this input */
	char why[256]; /* the reason, when rejected (no text content) */
};

enum provider_failure { PROVIDER_OK = 0, PROVIDER_TRANSIENT = -1, PROVIDER_FATAL = -2 };

#endif
