/* The text to embed: its cache hash and its truncation to the model's limits (see embed_text.h). */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "mdw/embed_text.h"

/* How far back from the limit a cut looks for whitespace before cutting inside a word. */
#define WORD_WINDOW 1024

int embed_hash(const char *model_id, int dimensions, const char *text, size_t len, char out_hex[65])
{
	static const char hex[] = "0123456789abcdef";
	EVP_MD_CTX *ctx = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char head[64];
	size_t idlen;
	int n;

	out_hex[0] = 0;
	if (!model_id || !*model_id || dimensions < 1 || dimensions > 65536 || (!text && len))
		return -1;
	idlen = strlen(model_id);
	n = snprintf(head, sizeof head, "%zu:", idlen);
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(ctx, head, (size_t)n) != 1 ||
	    EVP_DigestUpdate(ctx, model_id, idlen) != 1)
		goto fail;
	n = snprintf(head, sizeof head, "\n%d\n", dimensions);
	if (EVP_DigestUpdate(ctx, head, (size_t)n) != 1 || (len && EVP_DigestUpdate(ctx, text, len) != 1) ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto fail;
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < 32; i++) {
		out_hex[2 * i] = hex[md[i] >> 4];
		out_hex[2 * i + 1] = hex[md[i] & 15];
	}
	out_hex[64] = 0;
	return 0;
fail:
	EVP_MD_CTX_free(ctx);
	return -1;
}

static int is_cont(unsigned char b)
{
	return (b & 0xC0) == 0x80;
}

static int is_space(unsigned char b)
{
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v';
}

size_t embed_tokens_est(const char *text, size_t len)
{
	size_t ascii = 0, other = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char b = (unsigned char)text[i];
		if (b < 0x80)
			ascii++;
		else if (!is_cont(b))
			other++;
	}
	return (ascii + 3) / 4 + other;
}

size_t embed_truncate(const char *text, size_t len, size_t max_chars, size_t max_tokens_est, int *cut)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t chars = 0, ascii = 0, other = 0, limit = len, end, floor;

	if (cut)
		*cut = 0;
	for (size_t i = 0; i < len; i++) {
		if (is_cont(s[i]))
			continue;
		/* i is a character boundary: would the character starting here still fit? */
		if (s[i] < 0x80)
			ascii++;
		else
			other++;
		chars++;
		if ((max_chars && chars > max_chars) || (max_tokens_est && (ascii + 3) / 4 + other > max_tokens_est)) {
			limit = i;
			break;
		}
	}
	if (limit == len)
		return len;
	if (cut)
		*cut = 1;
	/* Prefer the last whitespace in the window; the character at LIMIT is already excluded. */
	floor = limit > WORD_WINDOW ? limit - WORD_WINDOW : 0;
	end = limit;
	while (end > floor && !is_space(s[end]) && !is_space(s[end - 1]))
		end--;
	if (end == floor && !is_space(s[end]) && (end == 0 || !is_space(s[end - 1])))
		end = limit; /* one long word: cut at the character boundary */
	while (end > 0 && is_space(s[end - 1]))
		end--;
	if (end == 0)
		end = limit; /* only whitespace before the word: keep what fits */
	/* END is either LIMIT (a boundary) or next to ASCII whitespace: never inside a sequence. */
	return end;
}

const char *embed_text_sql(enum mdw_part part, int identifiers)
{
	if (part <= MDW_PART_NONE || part >= MDW_NPARTS)
		return NULL;
	return identifiers && mdw_parts[part].identified_sql ? mdw_parts[part].identified_sql
							     : mdw_parts[part].text_sql;
}
