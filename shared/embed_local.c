/* The offline embedding provider: feature hashing of word unigrams and bigrams (see embed_local.h). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "mdw/embed_local.h"

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

static int word_byte(unsigned char b)
{
	return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b >= 0x80;
}

static uint64_t fnv_byte(uint64_t h, unsigned char b)
{
	return (h ^ b) * FNV_PRIME;
}

static void add_feature(double *acc, uint64_t h)
{
	acc[h & (EMBED_LOCAL_DIMS - 1)] += (h >> 63) ? -1.0 : 1.0;
}

int embed_local(const char *text, size_t len, float out[EMBED_LOCAL_DIMS], int *token_count)
{
	const unsigned char *s = (const unsigned char *)text;
	double acc[EMBED_LOCAL_DIMS] = {0}, norm = 0;
	uint64_t prev = 0; /* hash of the previous word, the start of its bigram */
	int have_prev = 0;
	long words = 0;
	size_t i = 0;

	if (token_count)
		*token_count = 0;
	if (!out || (!text && len))
		return -1;
	while (i < len) {
		uint64_t uni = FNV_OFFSET, bi = 0;
		if (!word_byte(s[i])) {
			i++;
			continue;
		}
		if (have_prev)
			bi = fnv_byte(prev, ' ');
		for (; i < len && word_byte(s[i]); i++) {
			unsigned char b = s[i];
			if (b >= 'A' && b <= 'Z')
				b = (unsigned char)(b - 'A' + 'a');
			uni = fnv_byte(uni, b);
			if (have_prev)
				bi = fnv_byte(bi, b);
		}
		add_feature(acc, uni);
		if (have_prev)
			add_feature(acc, bi);
		prev = uni;
		have_prev = 1;
		words++;
	}
	for (int d = 0; d < EMBED_LOCAL_DIMS; d++)
		norm += acc[d] * acc[d];
	norm = sqrt(norm);
	if (norm > 0)
		for (int d = 0; d < EMBED_LOCAL_DIMS; d++)
			out[d] = (float)(acc[d] / norm);
	else {
		memset(out, 0, EMBED_LOCAL_DIMS * sizeof *out);
		out[0] = 1.0f;
	}
	if (token_count)
		*token_count = words > 0x7fffffff ? 0x7fffffff : (int)words;
	return 0;
}
