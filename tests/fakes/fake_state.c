/*
 * bedrock-fake's shared state, one mutex over all of it: the quota window
 * (every admitted request of the last 60 s with its tokens, a ring buffer
 * pruned on each admission), the fault draw (splitmix64 over --seed and the
 * draw number), the /stats counters and the set of texts embedded so far
 * (SHA-256 of model, dimensions and text in an open-addressing table, so
 * /stats can tell a duplicate payment). Also the deterministic vectors.
 */
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bedrock_fake.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* Quota window. */
struct win_entry {
	double t;
	long tokens;
};
static struct win_entry *win;
static size_t win_cap, win_head, win_len;
static long win_tokens;

/* Fault draws and throttle draws (two sequences, so --throttle-rate leaves the faults' order as it was). */
static unsigned long long draws, throttle_draws;

/* Counters. */
static unsigned long long counts[BF_NOUTCOMES];
static unsigned long long ok_texts, distinct_texts, duplicate_texts, ok_tokens;
static long inflight, max_inflight;
static unsigned long long connections, model_connections; /* accepted since the start (or the last reset) */
static long open_connections;
static char user_agent[128]; /* of the last model request; '"', '\\' and controls as '?' */

/* Embedded texts: 32-byte keys, all-zero = empty slot. */
static unsigned char (*seen)[32];
static size_t seen_cap, seen_len;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int bf_state_init(void)
{
	win_cap = 1024;
	win = calloc(win_cap, sizeof *win);
	seen_cap = 4096;
	seen = calloc(seen_cap, sizeof *seen);
	return win && seen ? 0 : -1;
}

long bf_tokens(size_t len)
{
	long t = (long)((len + 3) / 4);
	return t ? t : 1;
}

static int win_push(double t, long tokens)
{
	if (win_len == win_cap) {
		struct win_entry *n = calloc(win_cap * 2, sizeof *n);
		if (!n)
			return -1;
		for (size_t i = 0; i < win_len; i++)
			n[i] = win[(win_head + i) % win_cap];
		free(win);
		win = n;
		win_head = 0;
		win_cap *= 2;
	}
	win[(win_head + win_len) % win_cap] = (struct win_entry){t, tokens};
	win_len++;
	win_tokens += tokens;
	return 0;
}

int bf_quota_admit(long tokens)
{
	double t = now_s();
	int rc = 0;

	if (!bf_cfg.rpm && !bf_cfg.tpm)
		return 0;
	pthread_mutex_lock(&mu);
	while (win_len && win[win_head].t <= t - 60.0) {
		win_tokens -= win[win_head].tokens;
		win_head = (win_head + 1) % win_cap;
		win_len--;
	}
	if ((bf_cfg.rpm && (long)win_len + 1 > bf_cfg.rpm) || (bf_cfg.tpm && win_tokens + tokens > bf_cfg.tpm))
		rc = -1;
	else
		(void)win_push(t, tokens); /* out of memory: admitted but not remembered */
	pthread_mutex_unlock(&mu);
	return rc;
}

static unsigned long long splitmix64(unsigned long long x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

enum bf_fault bf_fault_draw(void)
{
	unsigned long long n, x, y;
	double u;

	if (bf_cfg.error_rate <= 0 && bf_cfg.malformed_rate <= 0)
		return BF_FAULT_NONE;
	pthread_mutex_lock(&mu);
	n = draws++;
	pthread_mutex_unlock(&mu);
	x = splitmix64(bf_cfg.seed * 0x100000001b3ULL + n);
	y = splitmix64(x);
	u = (double)(x >> 11) / 9007199254740992.0;
	if (u < bf_cfg.error_rate)
		return (y & 1) ? BF_FAULT_503 : BF_FAULT_500;
	if (u < bf_cfg.error_rate + bf_cfg.malformed_rate)
		return (enum bf_fault)(BF_FAULT_TRUNCATED + (int)(y % 3));
	return BF_FAULT_NONE;
}

int bf_throttle_draw(void)
{
	unsigned long long n;

	if (bf_cfg.throttle_rate <= 0)
		return 0;
	pthread_mutex_lock(&mu);
	n = throttle_draws++;
	pthread_mutex_unlock(&mu);
	/* another stream than bf_fault_draw's: an odd constant mixed into the seed */
	return (double)(splitmix64((bf_cfg.seed ^ 0x5bd1e9955bd1e995ULL) * 0x100000001b3ULL + n) >> 11) /
		       9007199254740992.0 <
	       bf_cfg.throttle_rate;
}

void bf_connection(int delta)
{
	pthread_mutex_lock(&mu);
	if (delta > 0)
		connections++;
	open_connections += delta;
	pthread_mutex_unlock(&mu);
}

void bf_model_connection(void)
{
	pthread_mutex_lock(&mu);
	model_connections++;
	pthread_mutex_unlock(&mu);
}

void bf_stats_user_agent(const char *ua)
{
	size_t i;
	pthread_mutex_lock(&mu);
	for (i = 0; ua && ua[i] && i + 1 < sizeof user_agent; i++)
		user_agent[i] =
			(unsigned char)ua[i] < ' ' || ua[i] == '"' || ua[i] == '\\' || ua[i] == 0x7f ? '?' : ua[i];
	user_agent[i] = 0;
	pthread_mutex_unlock(&mu);
}

void bf_stats_count(enum bf_outcome o)
{
	pthread_mutex_lock(&mu);
	counts[o]++;
	pthread_mutex_unlock(&mu);
}

void bf_inflight(int delta)
{
	pthread_mutex_lock(&mu);
	inflight += delta;
	if (inflight > max_inflight)
		max_inflight = inflight;
	pthread_mutex_unlock(&mu);
}

static size_t seen_slot(unsigned char (*tab)[32], size_t cap, const unsigned char key[32])
{
	static const unsigned char zero[32];
	size_t i;
	memcpy(&i, key, sizeof i);
	for (i &= cap - 1;; i = (i + 1) & (cap - 1))
		if (!memcmp(tab[i], key, 32) || !memcmp(tab[i], zero, 32))
			return i;
}

/* Insert KEY; 1 when new, 0 when already there (or when the table cannot grow). */
static int seen_add(const unsigned char key[32])
{
	static const unsigned char zero[32];
	size_t i;

	if (2 * (seen_len + 1) > seen_cap) {
		unsigned char(*n)[32] = calloc(seen_cap * 2, sizeof *n);
		if (n) {
			for (size_t j = 0; j < seen_cap; j++)
				if (memcmp(seen[j], zero, 32))
					memcpy(n[seen_slot(n, seen_cap * 2, seen[j])], seen[j], 32);
			free(seen);
			seen = n;
			seen_cap *= 2;
		} else if (seen_len + 1 >= seen_cap) {
			return 0;
		}
	}
	i = seen_slot(seen, seen_cap, key);
	if (memcmp(seen[i], zero, 32))
		return 0;
	memcpy(seen[i], key, 32);
	seen_len++;
	return 1;
}

void bf_stats_ok_text(const char *model, int dims, const char *text, size_t len, long tokens)
{
	unsigned char key[32];
	char d[16];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int fresh;

	snprintf(d, sizeof d, "%d", dims);
	if (!c || !EVP_DigestInit_ex(c, EVP_sha256(), NULL) || !EVP_DigestUpdate(c, model, strlen(model) + 1) ||
	    !EVP_DigestUpdate(c, d, strlen(d) + 1) || !EVP_DigestUpdate(c, text, len) ||
	    !EVP_DigestFinal_ex(c, key, NULL))
		memset(key, 0xff, sizeof key);
	EVP_MD_CTX_free(c);
	key[31] |= 1; /* never the all-zero empty slot */
	pthread_mutex_lock(&mu);
	fresh = seen_add(key);
	ok_texts++;
	ok_tokens += (unsigned long long)tokens;
	if (fresh)
		distinct_texts++;
	else
		duplicate_texts++;
	pthread_mutex_unlock(&mu);
}

char *bf_stats_json(void)
{
	char *s = malloc(1536);
	unsigned long long req = 0;

	if (!s)
		return NULL;
	pthread_mutex_lock(&mu);
	for (int i = 0; i < BF_NOUTCOMES; i++)
		req += counts[i];
	snprintf(s, 1536,
		 "{\"requests\":%llu,\"ok\":%llu,\"throttled\":%llu,\"throttled_random\":%llu,\"bad_signature\":%llu,"
		 "\"unrecognized_key\":%llu,\"validation\":%llu,\"injected_5xx\":%llu,\"malformed\":%llu,"
		 "\"other\":%llu,\"ok_texts\":%llu,\"distinct_ok_texts\":%llu,\"duplicate_ok_texts\":%llu,"
		 "\"ok_tokens\":%llu,\"in_flight\":%ld,\"max_in_flight\":%ld,\"window_requests\":%zu,"
		 "\"window_tokens\":%ld,\"expired_token\":%llu,\"connections\":%llu,\"model_connections\":%llu,\"open_connections\":%ld,"
		 "\"user_agent\":\"%s\"}\n",
		 req, counts[BF_OK], counts[BF_THROTTLED] + counts[BF_THROTTLED_RANDOM], counts[BF_THROTTLED_RANDOM],
		 counts[BF_BAD_SIGNATURE], counts[BF_UNRECOGNIZED_KEY], counts[BF_VALIDATION], counts[BF_INJECTED_5XX],
		 counts[BF_MALFORMED], counts[BF_OTHER], ok_texts, distinct_texts, duplicate_texts, ok_tokens, inflight,
		 max_inflight, win_len, win_tokens, counts[BF_EXPIRED_TOKEN], connections, model_connections,
		 open_connections, user_agent);
	pthread_mutex_unlock(&mu);
	return s;
}

void bf_stats_reset(void)
{
	pthread_mutex_lock(&mu);
	memset(counts, 0, sizeof counts);
	ok_texts = distinct_texts = duplicate_texts = ok_tokens = 0;
	connections = model_connections = 0;
	max_inflight = inflight;
	memset(seen, 0, seen_cap * sizeof *seen);
	seen_len = 0;
	pthread_mutex_unlock(&mu);
}

void bf_vector(const char *text, size_t len, int dims, int normalize, float *out)
{
	unsigned char seed[36], block[32];
	double sum = 0;

	if (!EVP_Digest(text, len, seed, NULL, EVP_sha256(), NULL))
		memset(seed, 0, 32);
	for (int i = 0; i < dims; i++) {
		unsigned int u;
		if (i % 8 == 0) {
			unsigned int b = (unsigned int)i / 8;
			seed[32] = (unsigned char)(b >> 24);
			seed[33] = (unsigned char)(b >> 16);
			seed[34] = (unsigned char)(b >> 8);
			seed[35] = (unsigned char)b;
			if (!EVP_Digest(seed, sizeof seed, block, NULL, EVP_sha256(), NULL))
				memset(block, 0x5a, sizeof block);
		}
		u = (unsigned int)block[4 * (i % 8)] << 24 | (unsigned int)block[4 * (i % 8) + 1] << 16 |
		    (unsigned int)block[4 * (i % 8) + 2] << 8 | block[4 * (i % 8) + 3];
		out[i] = (float)((double)u / 2147483648.0 - 1.0);
		sum += (double)out[i] * out[i];
	}
	if (normalize && sum > 0) {
		double n = sqrt(sum);
		for (int i = 0; i < dims; i++)
			out[i] = (float)(out[i] / n);
	}
}
