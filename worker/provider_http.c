/*
 * HTTP embedding providers (see provider_http.h): bedrock (InvokeModel, one
 * text per request, SigV4 signed) and openai (POST {base}/v1/embeddings, up
 * to OPENAI_BATCH texts per request).
 *
 * Up to MDW_EMBED_CONCURRENCY requests are in flight on the worker's libev
 * loop through curl_multi_socket_action (ev_io per socket, one ev_timer for
 * curl's timeout). Each request is first released by the cluster-wide
 * limiter (ratelimit.h): when it says wait, a libev timer waits; nothing
 * spins. Answers:
 *   200        parsed as hostile input; the token estimate is corrected
 *   429 / ThrottlingException   counted by the limiter (which cuts the
 *              shared rate only when throttling is sustained); that request
 *              alone goes again after the provider's hint (x-amz-retry-after,
 *              Retry-After) or a short jittered backoff (retry_hint.h), the
 *              others keep going
 *   5xx, timeouts, connection errors, malformed 200 bodies
 *              retried with exponential backoff and full jitter, up to
 *              MAX_TRIES; then the batch fails as transient
 *   400, 404   that text is rejected with the provider's reason; the same
 *              answer CONFIG_ERROR_AFTER times in a row (unknown model, wrong
 *              endpoint) is a configuration error: fatal, naming the setting
 *   401 / 403  fatal: the credentials are wrong; no retry storm (the first
 *              request of a provider goes alone: one refused call per worker)
 *   403 ExpiredTokenException  the credential chain is read again; renewed
 *              ones are used at once, else waited for (MAX_TRIES waves)
 *
 * Connections are kept: curl's cache holds one per request in flight
 * (CURLMOPT_MAXCONNECTS; by default it would shrink to 4 per transfer left
 * whenever the requests in flight drain, closing the others), so a phase
 * opens at most MDW_EMBED_CONCURRENCY connections per worker (and keeps
 * an idle one for CONN_MAX_IDLE_S, not curl's 118 s).
 */
#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mdw/aws_creds.h"
#include "mdw/backoff.h"
#include "mdw/embed_parse.h"
#include "mdw/embed_text.h"
#include "mdw/log.h"
#include "mdw/queue.h"
#include "mdw/ratelimit.h"
#include "mdw/sigv4.h"
#include "provider_http.h"
#include "retry_hint.h"

#define MAX_TRIES 8
#define OPENAI_BATCH 16
#define CONFIG_ERROR_AFTER 3 /* identical refusals in a row that make a configuration error */
#define MAX_BODY (16u * 1024 * 1024)
/* a kept connection idle this long is closed (an hour: a phase that waits longer has stalled) */
#define CONN_MAX_IDLE_S 3600

enum kind { K_BEDROCK, K_OPENAI };

struct request {
	struct http_provider *h;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	char *resp;
	size_t resp_len, resp_cap;
	int too_big;
	int no_fd;     /* its socket could not be opened: the process is out of file descriptors */
	int creds_gen; /* the provider's creds_gen when it was signed */
	char error_type[64];
	long hint_ms, amz_hint_ms; /* Retry-After and x-amz-retry-after of the answer in ms, -1 when absent */
	int idx[OPENAI_BATCH];     /* items carried */
	int nidx;
	long est_tokens;
};

struct sockw {
	ev_io io;
	struct http_provider *h;
	curl_socket_t fd;
};

struct http_provider {
	enum kind kind;
	const struct mdw_config *cfg;
	struct ev_loop *loop;
	struct rds *r;
	char prefix[64];
	char model[256];
	char url_base[512]; /* scheme://host[:port] */
	char host[256];     /* Host header value */
	char region[64];
	struct sigv4_creds creds;
	CURLM *multi;
	ev_timer curl_timer, wait_timer;
	int waiting;
	int in_run; /* inside our nested ev_run: only then may pump() break it */
	/* the batch being embedded */
	struct embed_item *items;
	int n;
	int *queue; /* item indexes still to send */
	int qhead, qtail;
	int *tries;
	int *throttles;       /* per item: its throttled answers, for its own retry delay */
	double *due;          /* per item: not sent again before this (monotonic ms; 0: now) */
	ev_timer retry_timer; /* the earliest due item not yet sent */
	unsigned seed;
	int inflight, finished;
	/*
	 * Requests allowed in flight: 1 until an answer succeeds (refused credentials or a wrong model
	 * cost one call, not a window), then doubled per success up to MDW_EMBED_CONCURRENCY; cut to
	 * what is in flight when the process runs out of file descriptors.
	 */
	int creds_gen, expired_waves; /* credentials renewed this many times; waves of expired answers since */
	char last_refusal[400];       /* the last 4xx answer, and how many in a row were the same */
	int same_refusals;
	int window, fd_cap; /* fd_cap: 0, or the window that the file descriptors allowed */
	int failure;        /* PROVIDER_* of the batch */
	char err[512];
	struct mdw_backoff bo;
	long long ok, throttled, failed, waits;
};

static void pump(struct http_provider *h);

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct request *q = arg;
	size_t len = size * n;

	if (q->resp_len + len > MAX_BODY) {
		q->too_big = 1;
		return 0;
	}
	if (q->resp_len + len + 1 > q->resp_cap) {
		size_t cap = q->resp_cap ? q->resp_cap * 2 : 16384;
		char *np;
		while (cap < q->resp_len + len + 1)
			cap *= 2;
		if (!(np = realloc(q->resp, cap)))
			return 0;
		q->resp = np;
		q->resp_cap = cap;
	}
	memcpy(q->resp + q->resp_len, p, len);
	q->resp_len += len;
	q->resp[q->resp_len] = 0;
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct request *q = arg;
	size_t len = size * n;
	static const char name[] = "x-amzn-errortype:";
	long ms;
	enum retry_hint hint = retry_hint_parse(p, len, &ms);

	if (hint == RETRY_HINT_AMZ_MS)
		q->amz_hint_ms = ms;
	else if (hint == RETRY_HINT_SECONDS)
		q->hint_ms = ms;
	if (len > sizeof name && strncasecmp(p, name, sizeof name - 1) == 0) {
		size_t s = sizeof name - 1, e = len;
		while (s < e && (p[s] == ' ' || p[s] == '\t'))
			s++;
		while (e > s && (p[e - 1] == '\r' || p[e - 1] == '\n' || p[e - 1] == ' '))
			e--;
		snprintf(q->error_type, sizeof q->error_type, "%.*s", (int)(e - s), p + s);
		/* "ThrottlingException:http://internal..." keeps the part before ':' */
		q->error_type[strcspn(q->error_type, ":")] = 0;
	}
	return len;
}

static void request_free(struct request *q)
{
	if (!q)
		return;
	if (q->easy)
		curl_easy_cleanup(q->easy);
	curl_slist_free_all(q->headers);
	free(q->body);
	free(q->resp);
	free(q);
}

/* ---- libcurl multi on libev ---- */

static void check_done(struct http_provider *h);

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sockw *s = (struct sockw *)w;
	struct http_provider *h = s->h; /* S may be freed by curl's socket callback below */
	int running, action = (revents & EV_READ ? CURL_CSELECT_IN : 0) | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
	(void)loop;
	curl_multi_socket_action(h->multi, s->fd, action, &running);
	check_done(h);
}

static void on_curl_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct http_provider *h = t->data;
	int running;
	(void)loop, (void)revents;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

static int sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct http_provider *h = userp;
	struct sockw *s = sockp;
	(void)e;

	if (what == CURL_POLL_REMOVE) {
		if (s) {
			ev_io_stop(h->loop, &s->io);
			free(s);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	if (!s) {
		if (!(s = calloc(1, sizeof *s)))
			return -1;
		s->h = h;
		s->fd = fd;
		curl_multi_assign(h->multi, fd, s);
	} else {
		ev_io_stop(h->loop, &s->io);
	}
	ev_io_init(&s->io, on_io, fd, (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0));
	ev_io_start(h->loop, &s->io);
	return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct http_provider *h = userp;
	(void)m;
	ev_timer_stop(h->loop, &h->curl_timer);
	if (timeout_ms >= 0) {
		ev_timer_set(&h->curl_timer, timeout_ms / 1000.0, 0.);
		ev_timer_start(h->loop, &h->curl_timer);
	}
	return 0;
}

/* ---- requests ---- */

static void requeue(struct http_provider *h, struct request *q)
{
	for (int k = 0; k < q->nidx; k++)
		h->queue[h->qtail++ % (h->n + 1)] = q->idx[k];
}

static void fail_batch(struct http_provider *h, int failure, const char *fmt, const char *detail)
{
	if (h->failure == PROVIDER_OK || failure == PROVIDER_FATAL) {
		h->failure = failure;
		snprintf(h->err, sizeof h->err, fmt, detail);
	}
}

/* After a success: twice as many requests in flight, up to MDW_EMBED_CONCURRENCY and the descriptors left. */
static void grow_window(struct http_provider *h)
{
	int max = h->fd_cap ? h->fd_cap : (int)h->cfg->embed_concurrency;
	h->window = h->window * 2 < max ? h->window * 2 : max;
}

/* Open the socket of a request (CURLOPT_OPENSOCKETFUNCTION), noting when the process has no descriptor left. */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct request *q = arg;
	curl_socket_t fd;
	(void)purpose;

	fd = socket(a->family, a->socktype, a->protocol);
	if (fd == CURL_SOCKET_BAD && (errno == EMFILE || errno == ENFILE))
		q->no_fd = 1;
	return fd;
}

/*
 * A transfer that failed for want of a file descriptor: from now on at most
 * what is in flight now. 1 when that lowered the window (the try is not
 * counted: the provider did not fail), else 0.
 */
static int out_of_fds(struct http_provider *h, struct request *q)
{
	int cap = h->inflight > 1 ? h->inflight : 1;

	if (!q->no_fd || cap >= h->window)
		return 0;
	if (!h->fd_cap)
		mdw_warn("msg=\"out of file descriptors: fewer embedding requests in flight\" in_flight=%d "
			 "MDW_EMBED_CONCURRENCY=%lld hint=\"raise ulimit -n\"",
			 cap, h->cfg->embed_concurrency);
	h->window = h->fd_cap = cap;
	return 1;
}

/* Wait before the next request: once per wave of failures (the backoff grows once per wave). */
static void back_off(struct http_provider *h, long status, CURLcode rc)
{
	long ms;

	if (h->waiting)
		return;
	ms = mdw_backoff_next(&h->bo);
	mdw_debug("msg=\"provider error: backing off\" status=%ld curl=%d wait_ms=%ld", status, (int)rc, ms);
	h->waiting = 1;
	ev_timer_set(&h->wait_timer, ms / 1000.0, 0.);
	ev_timer_start(h->loop, &h->wait_timer);
}

/*
 * The session token expired: read the credential chain again (a renewed
 * AWS_SESSION_TOKEN in the credentials file, rotated keys). New ones: the
 * request goes again at once. The same ones: wait and read again, MAX_TRIES
 * waves, then fatal.
 */
static void creds_expired(struct http_provider *h, struct request *q, const char *type, const char *msg)
{
	struct sigv4_creds c;
	char e[512];

	requeue(h, q);
	if (q->creds_gen != h->creds_gen)
		return; /* signed before the credentials were renewed */
	if (aws_creds_load(&c, e, sizeof e) == 0 && memcmp(&c, &h->creds, sizeof c) != 0) {
		aws_creds_clear(&h->creds);
		h->creds = c;
		h->creds_gen++;
		h->expired_waves = 0;
		mdw_info("msg=\"credentials expired: renewed ones read\" error_type=%s", type);
		aws_creds_clear(&c);
		return;
	}
	aws_creds_clear(&c);
	if (!h->waiting && ++h->expired_waves >= MAX_TRIES) {
		char d[300];
		snprintf(d, sizeof d, "HTTP 403 %s: %s", type, msg);
		fail_batch(h, PROVIDER_FATAL,
			   "the credentials expired (%s) and no renewed ones appeared (AWS_SESSION_TOKEN, the credentials file); "
			   "renew them and retry-dead",
			   d);
		return;
	}
	back_off(h, 403, CURLE_OK);
}

/*
 * Count a refusal (4xx); 1 when it is the CONFIG_ERROR_AFTER-th identical
 * one in a row: an answer that every text gets (unknown model, wrong
 * endpoint) is a configuration error, and the batch fails as fatal.
 */
static int same_refusal(struct http_provider *h, long status, const char *type, const char *msg)
{
	char d[sizeof h->last_refusal];

	snprintf(d, sizeof d, "HTTP %ld %s: %s", status, type[0] ? type : "error", msg);
	if (strcmp(d, h->last_refusal) != 0) {
		snprintf(h->last_refusal, sizeof h->last_refusal, "%s", d);
		h->same_refusals = 0;
	}
	if (++h->same_refusals < CONFIG_ERROR_AFTER)
		return 0;
	snprintf(d, sizeof d, "%d requests in a row answered %s; check MDW_EMBED_MODEL (%s) and %s (%s)",
		 h->same_refusals, h->last_refusal, h->model,
		 h->cfg->bedrock_endpoint[0] ? "MDW_BEDROCK_ENDPOINT" : "AWS_REGION", h->url_base);
	fail_batch(h, PROVIDER_FATAL, "a configuration error: %s", d);
	return 1;
}

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/*
 * A throttled answer: the limiter counts it (and cuts the fleet's rate when
 * throttling is sustained); the request's texts go back in line, due after
 * the provider's hint or their own backoff; nothing else waits.
 */
static void throttled(struct http_provider *h, struct request *q)
{
	double factor = 1, due;
	int cut = 0, most = 0;
	long hint = q->amz_hint_ms >= 0 ? q->amz_hint_ms : q->hint_ms, ms;
	char e[128];

	h->throttled++;
	if (rl_throttled(h->r, h->prefix, h->cfg->rate_rpm, h->cfg->rate_tpm, &factor, &cut, e, sizeof e) < 0)
		mdw_debug("msg=\"limiter throttle report failed\" error=\"%s\"", e);
	else if (cut)
		mdw_info("msg=\"provider throttled: sustained, shared rate cut\" factor=%.2f", factor);
	for (int k = 0; k < q->nidx; k++)
		if (++h->throttles[q->idx[k]] > most)
			most = h->throttles[q->idx[k]];
	ms = retry_throttled_ms(hint, most, &h->seed);
	due = mono_ms() + (double)ms;
	for (int k = 0; k < q->nidx; k++)
		h->due[q->idx[k]] = due;
	mdw_debug("msg=\"throttled: request goes again\" retry_ms=%ld hint=%s throttles=%d", ms,
		  q->amz_hint_ms >= 0 ? "x-amz-retry-after"
		  : q->hint_ms >= 0   ? "Retry-After"
				      : "none",
		  most);
	requeue(h, q);
}

/* Correct the limiter's token estimate of Q by what the answer counted (DELTA). */
static void correct_tokens(struct http_provider *h, long delta)
{
	char e[128];

	if (rl_correct(h->r, h->prefix, h->cfg->rate_rpm, h->cfg->rate_tpm, delta, e, sizeof e) < 0)
		mdw_debug("msg=\"limiter correction failed\" error=\"%s\"", e);
}

/* A 200 answer of Bedrock (one text): its vector and tokens into the item. -1 with WHY if malformed. */
static int parse_bedrock_answer(struct http_provider *h, struct request *q, char *why, size_t whylen)
{
	struct embed_item *it = &h->items[q->idx[0]];

	if (embed_parse_bedrock(q->resp ? q->resp : "", q->resp_len, MDW_EMBED_DIMS, it->vec, &it->tokens, why,
				whylen) < 0)
		return -1;
	correct_tokens(h, it->tokens - q->est_tokens);
	return 0;
}

/* A 200 answer of an OpenAI-style API (a batch): the vectors and tokens into the items. -1 with WHY if malformed. */
static int parse_openai_answer(struct http_provider *h, struct request *q, char *why, size_t whylen)
{
	float *vecs = malloc(sizeof *vecs * MDW_EMBED_DIMS * (size_t)q->nidx);
	int total = 0, bad;

	bad = !vecs || embed_parse_openai(q->resp ? q->resp : "", q->resp_len, MDW_EMBED_DIMS, q->nidx, vecs, &total,
					  why, whylen) < 0;
	for (int k = 0; !bad && k < q->nidx; k++) {
		memcpy(h->items[q->idx[k]].vec, vecs + (size_t)k * MDW_EMBED_DIMS, sizeof(float) * MDW_EMBED_DIMS);
		h->items[q->idx[k]].tokens = total >= 0 ? total / q->nidx : -1;
	}
	free(vecs);
	if (bad)
		return -1;
	correct_tokens(h, total >= 0 ? total - q->est_tokens : 0);
	return 0;
}

/* The provider refuses the input of Q (a 4xx): reject its text(s), the rest goes on. */
static void refused(struct http_provider *h, struct request *q, long status, const char *type, const char *msg)
{
	h->failed++;
	if (same_refusal(h, status, type, msg))
		return;
	for (int k = 0; k < q->nidx; k++) {
		struct embed_item *it = &h->items[q->idx[k]];
		it->rejected = 1;
		snprintf(it->why, sizeof it->why, "HTTP %ld %s: %s", status, type[0] ? type : "error", msg);
	}
	h->finished += q->nidx;
}

/* 5xx, timeouts, connection errors: back off and retry Q, unless one of its items has had MAX_TRIES. */
static void failed_retry(struct http_provider *h, struct request *q, long status, CURLcode rc, const char *type)
{
	h->failed++;
	if (!out_of_fds(h, q))
		for (int k = 0; k < q->nidx; k++)
			if (++h->tries[q->idx[k]] >= MAX_TRIES) {
				char d[300];
				snprintf(d, sizeof d, "%s%s",
					 q->no_fd         ? "out of file descriptors (raise ulimit -n or lower "
							    "MDW_EMBED_CONCURRENCY)"
					 : rc != CURLE_OK ? curl_easy_strerror(rc)
							  : "HTTP error ",
					 rc != CURLE_OK ? "" : type);
				fail_batch(h, PROVIDER_TRANSIENT, "the provider kept failing after retries: %s", d);
				return;
			}
	requeue(h, q);
	back_off(h, status, rc);
}

/* A 200 answer: 0 when its items are done; -1 when it is malformed (with WHY), to be treated as a 5xx. */
static int answer_ok(struct http_provider *h, struct request *q, char *why, size_t whylen)
{
	if ((h->kind == K_BEDROCK ? parse_bedrock_answer : parse_openai_answer)(h, q, why, whylen) < 0)
		return -1;
	h->ok++;
	h->same_refusals = h->expired_waves = 0;
	grow_window(h);
	h->finished += q->nidx;
	mdw_backoff_reset(&h->bo);
	return 0;
}

static void on_answer(struct http_provider *h, struct request *q, CURLcode rc)
{
	long status = 0;
	char why[256], type[64] = "", msg[EMBED_ERR_MSG_MAX + 1] = "";

	curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_OK && status == 200) {
		if (answer_ok(h, q, why, sizeof why) == 0)
			return;
		/* a malformed answer: like a 5xx, retried */
		mdw_warn("msg=\"malformed provider answer: retrying\" error=\"%s\"", why);
		status = 502;
	}
	if (rc == CURLE_OK && status > 0 && status != 200)
		embed_parse_error(q->resp ? q->resp : "", q->resp_len, type, sizeof type, msg, sizeof msg);
	if (q->error_type[0])
		snprintf(type, sizeof type, "%s", q->error_type);
	if (rc == CURLE_OK && (status == 429 || strstr(type, "Throttling"))) {
		throttled(h, q);
		return;
	}
	if (rc == CURLE_OK && status == 403 && strstr(type, "ExpiredToken")) {
		h->failed++;
		creds_expired(h, q, type, msg);
		return;
	}
	if (rc == CURLE_OK && (status == 401 || status == 403)) {
		char d[300];
		h->failed++;
		snprintf(d, sizeof d, "HTTP %ld %s: %s", status, type[0] ? type : "Forbidden", msg);
		fail_batch(h, PROVIDER_FATAL, "the provider refused the credentials (%s); fix them and retry-dead", d);
		return;
	}
	if (rc == CURLE_OK && status >= 400 && status < 500 && status != 408)
		refused(h, q, status, type, msg);
	else
		failed_retry(h, q, status, rc, type);
}

/* Handle every finished transfer curl has queued; the number handled. */
static int drain(struct http_provider *h)
{
	CURLMsg *m;
	int left, done = 0;

	while ((m = curl_multi_info_read(h->multi, &left))) {
		struct request *q = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&q);
		curl_multi_remove_handle(h->multi, m->easy_handle);
		h->inflight--;
		done++;
		on_answer(h, q, m->data.result);
		request_free(q);
	}
	return done;
}

static void check_done(struct http_provider *h)
{
	drain(h);
	pump(h);
}

static char *json_body(struct http_provider *h, const int *idx, int n)
{
	json_t *o = json_object(), *arr;
	char *s;

	if (h->kind == K_BEDROCK) {
		const struct embed_item *it = &h->items[idx[0]];
		json_object_set_new(o, "inputText", json_stringn(it->text, it->len));
		json_object_set_new(o, "dimensions", json_integer(MDW_EMBED_DIMS));
		json_object_set_new(o, "normalize", json_true());
	} else {
		arr = json_array();
		for (int k = 0; k < n; k++)
			json_array_append_new(arr, json_stringn(h->items[idx[k]].text, h->items[idx[k]].len));
		json_object_set_new(o, "model", json_string(h->model));
		json_object_set_new(o, "input", arr);
		json_object_set_new(o, "dimensions", json_integer(MDW_EMBED_DIMS));
	}
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static int start_request(struct http_provider *h, const int *idx, int n, long est)
{
	struct request *q = calloc(1, sizeof *q);
	char url[1024], path[512], e[256];

	if (!q)
		return -1;
	q->h = h;
	q->hint_ms = q->amz_hint_ms = -1;
	q->nidx = n;
	q->est_tokens = est;
	memcpy(q->idx, idx, sizeof *idx * (size_t)n);
	if (!(q->body = json_body(h, idx, n)) || !(q->easy = curl_easy_init()))
		goto fail;
	q->headers = curl_slist_append(q->headers, "Content-Type: application/json");
	q->headers = curl_slist_append(q->headers, "Accept: application/json");
	if (h->kind == K_BEDROCK) {
		struct sigv4_header hd[3] = {{"host", h->host},
					     {"content-type", "application/json"},
					     {"accept", "application/json"}};
		struct sigv4_request rq = {"POST", path, NULL, hd, 3, q->body, strlen(q->body)};
		struct sigv4_out out;
		char date[17], line[4200];
		if (sigv4_bedrock_path(h->model, path, sizeof path, e, sizeof e) < 0)
			goto fail;
		sigv4_amz_date(time(NULL), date);
		if (sigv4_sign(&h->creds, h->region, "bedrock", date, &rq, SIGV4_NORMALIZE_PATH, &out, e, sizeof e) < 0)
			goto fail;
		q->creds_gen = h->creds_gen;
		for (int k = 0; k < out.nadd; k++) {
			snprintf(line, sizeof line, "%s: %s", out.add[k].name, out.add[k].value);
			q->headers = curl_slist_append(q->headers, line);
		}
		sigv4_out_free(&out);
		snprintf(url, sizeof url, "%s%s", h->url_base, path);
	} else {
		snprintf(url, sizeof url, "%s/v1/embeddings", h->url_base);
		if (getenv("MDW_OPENAI_API_KEY") && *getenv("MDW_OPENAI_API_KEY")) {
			char line[600];
			snprintf(line, sizeof line, "Authorization: Bearer %s", getenv("MDW_OPENAI_API_KEY"));
			q->headers = curl_slist_append(q->headers, line);
		}
	}
	curl_easy_setopt(q->easy, CURLOPT_URL, url);
	curl_easy_setopt(q->easy, CURLOPT_POSTFIELDS, q->body);
	curl_easy_setopt(q->easy, CURLOPT_HTTPHEADER, q->headers);
	curl_easy_setopt(q->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(q->easy, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(q->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(q->easy, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(q->easy, CURLOPT_USERAGENT, "mdw-migrate/" MDW_VERSION);
	curl_easy_setopt(q->easy, CURLOPT_PRIVATE, q);
	curl_easy_setopt(q->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(q->easy, CURLOPT_OPENSOCKETDATA, q);
	curl_easy_setopt(q->easy, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(q->easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(q->easy, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x074100
	/*
	 * A cached connection idle longer than this is closed rather than reused:
	 * curl's default, 118 s, closed the spare ones of a worker whose quota
	 * share keeps few requests in flight, and the next burst opened new ones
	 * (4 workers: 71 connections for 64 slots). One a server has closed is
	 * not reused either way (curl checks before it reuses one).
	 */
	curl_easy_setopt(q->easy, CURLOPT_MAXAGE_CONN, (long)CONN_MAX_IDLE_S);
#endif
	/* certificate verification stays on (libcurl's default); never turned off */
	curl_easy_setopt(q->easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(q->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->cfg->ca_file[0])
		curl_easy_setopt(q->easy, CURLOPT_CAINFO, h->cfg->ca_file);
	if (curl_multi_add_handle(h->multi, q->easy) != CURLM_OK)
		goto fail;
	h->inflight++;
	return 0;
fail:
	request_free(q);
	return -1;
}

static void on_wait(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct http_provider *h = t->data;
	(void)loop, (void)revents;
	h->waiting = 0;
	pump(h);
}

/* Let curl start what was added; handle what finished meanwhile. The number finished. */
static int kick(struct http_provider *h)
{
	int running;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	return drain(h);
}

static void on_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct http_provider *h = t->data;
	(void)loop, (void)revents;
	pump(h);
}

/*
 * Bring a due item to the head of the line (the ones not yet due go to its
 * tail, in order). 1 when the head is due; else 0, with the retry timer set
 * for the earliest one.
 */
static int due_first(struct http_provider *h)
{
	double now = mono_ms(), first = 0;
	int len = h->qtail - h->qhead;

	for (int k = 0; k < len; k++) {
		int i = h->queue[h->qhead % (h->n + 1)];
		if (h->due[i] <= now)
			return 1;
		if (!first || h->due[i] < first)
			first = h->due[i];
		h->queue[h->qtail++ % (h->n + 1)] = i;
		h->qhead++;
	}
	ev_timer_stop(h->loop, &h->retry_timer);
	ev_timer_set(&h->retry_timer, (first - now) / 1000.0 + 0.0005, 0.);
	ev_timer_start(h->loop, &h->retry_timer);
	return 0;
}

static void start_allowed(struct http_provider *h)
{
	while (!h->waiting && h->failure == PROVIDER_OK && h->inflight < h->window && h->qhead < h->qtail &&
	       due_first(h)) {
		int idx[OPENAI_BATCH], n = 0;
		long est = 0, wait_ms = 0;
		char e[256];
		int per = h->kind == K_BEDROCK ? 1 : OPENAI_BATCH;
		double now = mono_ms(); /* after due_first: the head is due by now */

		for (int k = h->qhead; k < h->qtail && n < per && h->due[h->queue[k % (h->n + 1)]] <= now; k++) {
			const struct embed_item *it = &h->items[h->queue[k % (h->n + 1)]];
			est += (long)embed_tokens_est(it->text, it->len);
			idx[n++] = h->queue[k % (h->n + 1)];
		}
		assert(n > 0); /* due_first put a due item at the head */
		if (rl_acquire(h->r, h->prefix, h->cfg->rate_rpm, h->cfg->rate_tpm, est, &wait_ms, e, sizeof e) < 0) {
			/* the limiter is in Redis: without it we do not call (that would break the quota) */
			fail_batch(h, PROVIDER_TRANSIENT, "rate limiter unavailable: %s", e);
			break;
		}
		if (wait_ms > 0) {
			h->waits++;
			h->waiting = 1;
			ev_timer_set(&h->wait_timer, wait_ms / 1000.0, 0.);
			ev_timer_start(h->loop, &h->wait_timer);
			break;
		}
		h->qhead += n;
		if (start_request(h, idx, n, est) < 0) {
			fail_batch(h, PROVIDER_TRANSIENT, "%s", "cannot start an HTTP request");
			break;
		}
	}
}

/*
 * Start requests while there is room, each released by the limiter. A
 * transfer that curl fails at once (no socket left, connection refused) is
 * finished inside curl_multi_socket_action with no socket event to follow:
 * drain it here, or the loop would wait for it forever.
 */
static void pump(struct http_provider *h)
{
	do
		start_allowed(h);
	while (kick(h) > 0);
	if (h->in_run && (h->finished >= h->n || h->failure != PROVIDER_OK) && h->inflight == 0)
		ev_break(h->loop, EVBREAK_ONE);
}

/* The per-batch arrays. */
static void free_batch(struct http_provider *h)
{
	free(h->queue);
	free(h->tries);
	free(h->throttles);
	free(h->due);
	h->queue = h->tries = h->throttles = NULL;
	h->due = NULL;
}

int http_provider_embed(struct http_provider *h, struct embed_item *items, int n, char *err, size_t errlen)
{
	if (n == 0)
		return PROVIDER_OK;
	h->items = items;
	h->n = n;
	h->queue = calloc((size_t)n + 1, sizeof *h->queue);
	h->tries = calloc((size_t)n + 1, sizeof *h->tries);
	h->throttles = calloc((size_t)n + 1, sizeof *h->throttles);
	h->due = calloc((size_t)n + 1, sizeof *h->due);
	if (!h->queue || !h->tries || !h->throttles || !h->due) {
		free_batch(h);
		snprintf(err, errlen, "out of memory");
		return PROVIDER_TRANSIENT;
	}
	for (int i = 0; i < n; i++)
		h->queue[i] = i;
	h->qhead = 0;
	h->qtail = n;
	h->inflight = h->finished = 0;
	h->failure = PROVIDER_OK;
	h->err[0] = 0;
	pump(h);
	if (h->inflight > 0 || h->waiting) {
		/* nested in the worker's loop (its lease and heartbeat timers keep running) until pump()
		 * breaks it: every text answered, or the batch failed */
		h->in_run = 1;
		ev_run(h->loop, 0);
		h->in_run = 0;
	}
	ev_timer_stop(h->loop, &h->wait_timer);
	ev_timer_stop(h->loop, &h->retry_timer);
	h->waiting = 0;
	free_batch(h);
	if (h->failure != PROVIDER_OK) {
		snprintf(err, errlen, "%s", h->err);
		return h->failure;
	}
	return PROVIDER_OK;
}

/* Split ENDPOINT into base URL and Host; http:// only for loopback (tests). */
static int parse_endpoint(struct http_provider *h, const char *endpoint, char *err, size_t errlen)
{
	const char *p;
	size_t n;

	if (strncmp(endpoint, "https://", 8) == 0)
		p = endpoint + 8;
	else if (strncmp(endpoint, "http://", 7) == 0)
		p = endpoint + 7;
	else {
		snprintf(err, errlen, "invalid endpoint \"%.100s\": expected https://host[:port]", endpoint);
		return -1;
	}
	n = strcspn(p, "/");
	if (n == 0 || n >= sizeof h->host) {
		snprintf(err, errlen, "invalid endpoint \"%.100s\": no host", endpoint);
		return -1;
	}
	snprintf(h->url_base, sizeof h->url_base, "%.*s", (int)(p - endpoint + (long)n), endpoint);
	/* signed as curl sends it: "host:443" goes out as "host" */
	sigv4_host_header(h->url_base + (p - endpoint), p == endpoint + 8, h->host, sizeof h->host);
	if (p == endpoint + 7 && strncmp(h->host, "127.", 4) != 0 && strncmp(h->host, "localhost", 9) != 0 &&
	    strncmp(h->host, "[::1]", 5) != 0) {
		snprintf(err, errlen,
			 "invalid endpoint \"%.100s\": plain http:// is allowed only on loopback; use https://",
			 endpoint);
		return -1;
	}
	return 0;
}

/* MDW_CA_FILE, when set, must be a readable file: a typo is a config error, not a TLS failure per request. */
static int check_ca_file(const struct mdw_config *cfg, char *err, size_t errlen)
{
	FILE *f;

	if (!cfg->ca_file[0])
		return 0;
	if (!(f = fopen(cfg->ca_file, "r"))) {
		snprintf(err, errlen, "cannot read MDW_CA_FILE %.200s: %s", cfg->ca_file, strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}

struct http_provider *http_provider_open(const struct mdw_config *cfg, struct ev_loop *loop, struct rds *r, int64_t run,
					 char *err, size_t errlen)
{
	struct http_provider *h = calloc(1, sizeof *h);
	char endpoint[512];

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->kind = strcmp(cfg->embed_provider, "bedrock") == 0 ? K_BEDROCK : K_OPENAI;
	h->window = 1;
	h->cfg = cfg;
	h->loop = loop;
	h->r = r;
	mdwq_key(h->prefix, sizeof h->prefix, run, "rate", NULL);
	snprintf(h->model, sizeof h->model, "%s", cfg->embed_model);
	snprintf(h->region, sizeof h->region, "%s", cfg->aws_region);
	if (h->kind == K_BEDROCK) {
		if (cfg->bedrock_endpoint[0])
			snprintf(endpoint, sizeof endpoint, "%s", cfg->bedrock_endpoint);
		else
			snprintf(endpoint, sizeof endpoint, "https://bedrock-runtime.%s.amazonaws.com",
				 cfg->aws_region);
		if (aws_creds_load(&h->creds, err, errlen) < 0)
			goto fail;
	} else {
		if (!cfg->bedrock_endpoint[0]) {
			snprintf(err, errlen,
				 "MDW_EMBED_PROVIDER=openai needs MDW_BEDROCK_ENDPOINT set to the server's base URL "
				 "(e.g. http://127.0.0.1:11434 for Ollama)");
			goto fail;
		}
		snprintf(endpoint, sizeof endpoint, "%s", cfg->bedrock_endpoint);
	}
	if (parse_endpoint(h, endpoint, err, errlen) < 0 || check_ca_file(cfg, err, errlen) < 0)
		goto fail;
	if (!(h->multi = curl_multi_init())) {
		snprintf(err, errlen, "cannot initialize libcurl");
		goto fail;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)cfg->embed_concurrency);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)cfg->embed_concurrency);
	ev_timer_init(&h->curl_timer, on_curl_timer, 0., 0.);
	h->curl_timer.data = h;
	ev_timer_init(&h->wait_timer, on_wait, 0., 0.);
	h->wait_timer.data = h;
	ev_timer_init(&h->retry_timer, on_retry, 0., 0.);
	h->retry_timer.data = h;
	h->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	mdw_backoff_init(&h->bo, 200, 20000, 0);
	mdw_info("msg=\"embedding provider ready\" provider=%s endpoint=%s concurrency=%lld rpm=%lld tpm=%lld ca=%s",
		 cfg->embed_provider, h->url_base, cfg->embed_concurrency, cfg->rate_rpm, cfg->rate_tpm,
		 cfg->ca_file[0] ? cfg->ca_file : "system");
	return h;
fail:
	aws_creds_clear(&h->creds);
	free(h);
	return NULL;
}

const char *http_provider_model(const struct http_provider *h)
{
	return h->model;
}

void http_provider_counts(const struct http_provider *h, long long *ok, long long *throttled, long long *failed,
			  long long *waits)
{
	*ok = h->ok;
	*throttled = h->throttled;
	*failed = h->failed;
	*waits = h->waits;
}

void http_provider_close(struct http_provider *h)
{
	if (!h)
		return;
	ev_timer_stop(h->loop, &h->curl_timer);
	ev_timer_stop(h->loop, &h->wait_timer);
	ev_timer_stop(h->loop, &h->retry_timer);
	if (h->multi)
		curl_multi_cleanup(h->multi);
	aws_creds_clear(&h->creds);
	free(h);
}
