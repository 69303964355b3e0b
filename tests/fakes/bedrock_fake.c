/*
 * bedrock-fake: a local stand-in for Amazon Bedrock Runtime (InvokeModel,
 * Titan Text Embeddings V2, SigV4 checked) and for an OpenAI-compatible
 * /v1/embeddings server, with its own quota, latency and injected faults, so
 * the tests and the offline demo exercise the real HTTP providers. See
 * tests/fakes/README.md.
 *
 * This file: the command line (one option table), the HTTP server and the
 * routing. libmicrohttpd runs one thread per connection, so --latency-ms
 * sleeps never hold up other requests. The raw request target comes from
 * the URI log callback (before libmicrohttpd unescapes the path), because
 * SigV4 signs the path exactly as sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bedrock_fake.h"
#include "mdw/log.h"

struct bf_config bf_cfg = {
	.port = 0,
	.bind = "127.0.0.1",
	.region = "us-east-1",
	.access_key = "AKIDEXAMPLE",
	.secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
	.idle_timeout_s = 120,
};

enum opt_type { OPT_LONG, OPT_ULL, OPT_DOUBLE, OPT_STR, OPT_FLAG };

static const struct opt {
	const char *name;
	enum opt_type type;
	void *dst;
	double lo, hi;
	const char *help;
} OPTS[] = {
	{"--port", OPT_LONG, &bf_cfg.port, 0, 65535, "N     TCP port; 0 picks a free one (default 0)"},
	{"--bind", OPT_STR, &bf_cfg.bind, 0, 0, "ADDR  listen address (default 127.0.0.1; ::1 for IPv6)"},
	{"--region", OPT_STR, &bf_cfg.region, 0, 0, "R     region the SigV4 scope must name (default us-east-1)"},
	{"--access-key", OPT_STR, &bf_cfg.access_key, 0, 0, "ID    accepted access key id (default AKIDEXAMPLE)"},
	{"--secret-key", OPT_STR, &bf_cfg.secret_key, 0, 0, "KEY   its secret (default the AWS docs' example)"},
	{"--api-key", OPT_STR, &bf_cfg.api_key, 0, 0, "K     require 'Authorization: Bearer K' on /v1/embeddings"},
	{"--rpm", OPT_LONG, &bf_cfg.rpm, 0, 1e9, "Q     requests per 60 s window (0 = unlimited)"},
	{"--tpm", OPT_LONG, &bf_cfg.tpm, 0, 1e12, "T     input tokens per 60 s window (0 = unlimited)"},
	{"--latency-ms", OPT_LONG, &bf_cfg.latency_ms, 0, 600000, "L     added to every model answer (ms)"},
	{"--idle-timeout", OPT_LONG, &bf_cfg.idle_timeout_s, 0, 86400,
	 "S     close a keep-alive connection idle S seconds (default 120; 0 = never)"},
	{"--error-rate", OPT_DOUBLE, &bf_cfg.error_rate, 0, 1, "R     fraction answered 500 or 503 (0..1)"},
	{"--malformed-rate", OPT_DOUBLE, &bf_cfg.malformed_rate, 0, 1,
	 "R     fraction answered 200 with a bad body (0..1)"},
	{"--throttle-rate", OPT_DOUBLE, &bf_cfg.throttle_rate, 0, 1,
	 "R     fraction of requests under quota answered 429 ThrottlingException anyway (0..1)"},
	{"--retry-after-ms", OPT_LONG, &bf_cfg.retry_after_ms, 0, 600000,
	 "MS    every 429 carries x-amz-retry-after: MS and Retry-After in seconds (default: neither)"},
	{"--expired-token", OPT_STR, &bf_cfg.expired_token, 0, 0,
	 "T     answer 403 ExpiredTokenException to session token T"},
	{"--reject-text", OPT_STR, &bf_cfg.reject_text, 0, 0,
	 "S     answer 400 to every text containing S (a text the model refuses)"},
	{"--seed", OPT_ULL, &bf_cfg.seed, 0, 0, "S     seed of the fault draws (default 0)"},
	{"--tls-cert", OPT_STR, &bf_cfg.tls_cert, 0, 0, "PEM   serve HTTPS with this certificate (chain) ..."},
	{"--tls-key", OPT_STR, &bf_cfg.tls_key, 0, 0, "PEM   ... and this private key (both or neither)"},
	{"--ready-file", OPT_STR, &bf_cfg.ready_file, 0, 0, "PATH  write the port there once listening"},
	{"--quiet", OPT_FLAG, &bf_cfg.quiet, 0, 0, "      no log line per non-200 answer"},
	{"--verbose", OPT_FLAG, &bf_cfg.verbose, 0, 0,
	 "      log the expected canonical request on a signature mismatch"},
};
#define NOPTS (sizeof OPTS / sizeof *OPTS)

static void usage(FILE *f)
{
	fprintf(f, "usage: bedrock-fake [options]\n");
	for (size_t i = 0; i < NOPTS; i++)
		fprintf(f, "  %-16s %s\n", OPTS[i].name, OPTS[i].help);
}

static int parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const struct opt *o = NULL;
		char *end;
		const char *v;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			exit(0);
		}
		for (size_t j = 0; j < NOPTS; j++)
			if (!strcmp(argv[i], OPTS[j].name))
				o = &OPTS[j];
		if (!o) {
			fprintf(stderr, "bedrock-fake: unknown option \"%s\"\n", argv[i]);
			usage(stderr);
			return -1;
		}
		if (o->type == OPT_FLAG) {
			*(long *)o->dst = 1;
			continue;
		}
		if (++i == argc) {
			fprintf(stderr, "bedrock-fake: %s needs a value\n", o->name);
			return -1;
		}
		v = argv[i];
		errno = 0;
		if (o->type == OPT_STR) {
			*(const char **)o->dst = v;
		} else if (o->type == OPT_ULL) {
			unsigned long long n = strtoull(v, &end, 10);
			if (errno || end == v || *end || *v == '-') {
				fprintf(stderr, "bedrock-fake: invalid %s \"%s\": expected an unsigned integer\n",
					o->name, v);
				return -1;
			}
			*(unsigned long long *)o->dst = n;
		} else if (o->type == OPT_LONG) {
			long n = strtol(v, &end, 10);
			if (errno || end == v || *end || n < o->lo || n > o->hi) {
				fprintf(stderr,
					"bedrock-fake: invalid %s \"%s\": expected an integer from %.0f to %.0f\n",
					o->name, v, o->lo, o->hi);
				return -1;
			}
			*(long *)o->dst = n;
		} else {
			double d = strtod(v, &end);
			if (errno || end == v || *end || !(d >= o->lo && d <= o->hi)) {
				fprintf(stderr, "bedrock-fake: invalid %s \"%s\": expected a number from %g to %g\n",
					o->name, v, o->lo, o->hi);
				return -1;
			}
			*(double *)o->dst = d;
		}
	}
	if (bf_cfg.error_rate + bf_cfg.malformed_rate > 1.0) {
		fprintf(stderr, "bedrock-fake: --error-rate plus --malformed-rate is over 1\n");
		return -1;
	}
	if (!*bf_cfg.access_key || !*bf_cfg.secret_key || strlen(bf_cfg.secret_key) >= 128 ||
	    strlen(bf_cfg.access_key) >= 128) {
		fprintf(stderr, "bedrock-fake: --access-key and --secret-key must be 1 to 127 bytes\n");
		return -1;
	}
	return 0;
}

const char *bf_header(const struct bf_request *rq, const char *name)
{
	for (int i = 0; i < rq->nheaders; i++)
		if (!strcasecmp(rq->headers[i].name, name))
			return rq->headers[i].value;
	return NULL;
}

void bf_aws_error(struct bf_answer *a, int status, enum bf_outcome o, const char *type, const char *msg)
{
	json_t *j = json_pack("{s:s}", "message", msg);
	a->status = status;
	a->outcome = o;
	a->error_type = type;
	free(a->body);
	a->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	a->body_len = a->body ? strlen(a->body) : 0;
}

/* Per request: the raw target from the URI log callback, the body, and where it goes. */
enum route { R_NONE, R_INVOKE, R_OPENAI, R_STATS, R_RESET, R_HEALTH, R_UNKNOWN };

struct conn_req {
	char *uri;
	char *body;
	size_t len, cap;
	int started, too_large, inflight;
	enum route route;
	char model[512]; /* percent-decoded model id of R_INVOKE */
};

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct conn_req *r = calloc(1, sizeof *r);
	(void)cls;
	(void)conn;
	if (r)
		r->uri = strdup(uri ? uri : "/");
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	struct conn_req *r = *req_cls;
	(void)cls;
	(void)conn;
	(void)toe;
	if (!r)
		return;
	if (r->inflight)
		bf_inflight(-1);
	free(r->uri);
	free(r->body);
	free(r);
	*req_cls = NULL;
}

/* Per connection (its socket context): whether a model request came on it yet. */
struct conn_info {
	int model;
};

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	(void)conn;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = calloc(1, sizeof(struct conn_info));
		bf_connection(1);
	} else {
		free(*socket_context);
		*socket_context = NULL;
		bf_connection(-1);
	}
}

/* The first model request on CONN counts the connection in model_connections. */
static void model_connection(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn_info *c = ci ? ci->socket_context : NULL;

	if (c && !c->model) {
		c->model = 1;
		bf_model_connection();
	}
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Route of PATH (length PLEN, wire form); fills R->model for InvokeModel. */
static enum route route_of(struct conn_req *r, const char *path, size_t plen)
{
	static const char pre[] = "/model/", post[] = "/invoke";
	const char *seg, *slash;
	size_t o = 0;

#define IS(s) (plen == sizeof(s) - 1 && !strncmp(path, s, plen))
	if (IS("/stats"))
		return R_STATS;
	if (IS("/stats/reset"))
		return R_RESET;
	if (IS("/health"))
		return R_HEALTH;
	if (IS("/v1/embeddings"))
		return R_OPENAI;
#undef IS
	if (plen <= sizeof pre - 1 || strncmp(path, pre, sizeof pre - 1))
		return R_UNKNOWN;
	seg = path + sizeof pre - 1;
	slash = memchr(seg, '/', plen - (size_t)(seg - path));
	if (!slash || slash == seg || (size_t)(path + plen - slash) != sizeof post - 1 ||
	    strncmp(slash, post, sizeof post - 1))
		return R_UNKNOWN;
	for (const char *p = seg; p < slash && o + 1 < sizeof r->model; p++) {
		if (*p == '%' && slash - p > 2 && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			r->model[o++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			p += 2;
		} else {
			r->model[o++] = *p;
		}
	}
	r->model[o] = '\0';
	return R_INVOKE;
}

struct hdr_list {
	struct bf_header *h;
	int n, cap;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct hdr_list *l = cls;
	(void)kind;
	if (l->n < l->cap)
		l->h[l->n++] = (struct bf_header){key, value ? value : ""};
	return MHD_YES;
}

/* The path for log lines: wire form, anything unusual as '?'. */
static void log_path(const char *path, size_t plen, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < plen && o + 1 < outlen; i++) {
		char c = path[i];
		out[o++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
					   strchr("/%._-:~", c)
				   ? c
				   : '?';
	}
	out[o] = '\0';
}

static enum MHD_Result send_answer(struct MHD_Connection *conn, struct conn_req *r, const char *method,
				   struct bf_answer *a, const char *path, size_t plen, struct timespec *t0)
{
	static unsigned long long next_id;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char id[48], num[32];
	int model_req = r->route == R_INVOKE || r->route == R_OPENAI || r->route == R_UNKNOWN;
	unsigned long long n = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
	struct timespec t1;

	if (model_req) {
		if (bf_cfg.latency_ms) {
			struct timespec d = {bf_cfg.latency_ms / 1000, (bf_cfg.latency_ms % 1000) * 1000000L};
			while (nanosleep(&d, &d) < 0 && errno == EINTR)
				;
		}
		bf_stats_count(a->outcome);
		if (a->status != 200 && !bf_cfg.quiet) {
			char lp[160];
			log_path(path, plen, lp, sizeof lp);
			mdw_info("status=%d type=%s method=%s path=%s reason=\"%s\"", a->status,
				 a->error_type ? a->error_type : "-", method, lp, a->reason);
		}
	}
	if (a->body)
		resp = MHD_create_response_from_buffer(a->body_len, a->body, MHD_RESPMEM_MUST_FREE);
	else
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(a->body);
		return MHD_NO;
	}
	a->body = NULL;
	snprintf(id, sizeof id, "%08llx-0000-4000-8000-%012llx", (unsigned long long)(bf_cfg.seed & 0xffffffffu), n);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "x-amzn-RequestId", id);
	if (a->error_type)
		MHD_add_response_header(resp, "x-amzn-ErrorType", a->error_type);
	if (a->status == 429 && bf_cfg.retry_after_ms > 0) {
		snprintf(num, sizeof num, "%ld", bf_cfg.retry_after_ms);
		MHD_add_response_header(resp, "x-amz-retry-after", num);
		snprintf(num, sizeof num, "%ld", (bf_cfg.retry_after_ms + 999) / 1000);
		MHD_add_response_header(resp, "Retry-After", num);
	}
	if (r->route == R_INVOKE && a->status == 200 && a->tokens >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		snprintf(num, sizeof num, "%ld", a->tokens);
		MHD_add_response_header(resp, "X-Amzn-Bedrock-Input-Token-Count", num);
		snprintf(num, sizeof num, "%ld",
			 (long)((t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000));
		MHD_add_response_header(resp, "X-Amzn-Bedrock-Invocation-Latency", num);
	}
	ret = MHD_queue_response(conn, (unsigned)a->status, resp);
	MHD_destroy_response(resp);
	if (r->inflight) {
		bf_inflight(-1);
		r->inflight = 0;
	}
	return ret;
}

static enum MHD_Result finish(struct MHD_Connection *conn, struct conn_req *r, const char *method)
{
	struct bf_answer a = {.status = 500, .outcome = BF_OTHER, .tokens = -1};
	struct bf_header hbuf[128];
	struct hdr_list hl = {hbuf, 0, 128};
	const char *q = strchr(r->uri, '?');
	size_t plen = q ? (size_t)(q - r->uri) : strlen(r->uri);
	char *path = strndup(r->uri, plen);
	struct timespec t0;
	enum MHD_Result ret;
	int post = !strcmp(method, "POST"), get = !strcmp(method, "GET");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!path)
		return MHD_NO;
	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &hl);
	struct bf_request rq = {method, path, q ? q + 1 : "", hbuf, hl.n, r->body ? r->body : "", r->len};

	if (r->too_large) {
		bf_aws_error(&a, 413, BF_VALIDATION, "ValidationException",
			     "Request body is larger than 1048576 bytes.");
		snprintf(a.reason, sizeof a.reason, "body over 1 MiB");
	} else if (r->route == R_STATS && get) {
		a.status = 200;
		a.body = bf_stats_json();
		a.body_len = a.body ? strlen(a.body) : 0;
	} else if (r->route == R_RESET && post) {
		bf_stats_reset();
		a.status = 200;
		a.body = strdup("{\"reset\":true}\n");
		a.body_len = a.body ? strlen(a.body) : 0;
	} else if (r->route == R_HEALTH && get) {
		a.status = 200;
		a.body = strdup("{\"status\":\"ok\"}\n");
		a.body_len = a.body ? strlen(a.body) : 0;
	} else if (r->route == R_INVOKE && post) {
		bf_invoke(&rq, r->model, &a);
	} else if (r->route == R_OPENAI && post) {
		bf_openai(&rq, &a);
	} else if (r->route == R_UNKNOWN) {
		bf_aws_error(&a, 404, BF_OTHER, "UnknownOperationException", "Unknown operation.");
		snprintf(a.reason, sizeof a.reason, "unknown path");
	} else {
		bf_aws_error(&a, 405, BF_OTHER, "UnknownOperationException", "Method not allowed on this path.");
		snprintf(a.reason, sizeof a.reason, "method not allowed");
	}
	if (r->route == R_STATS || r->route == R_RESET || r->route == R_HEALTH)
		a.outcome = BF_OTHER; /* control answers are not counted (send_answer skips them) */
	ret = send_answer(conn, r, method, &a, r->uri, plen, &t0);
	free(path);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **req_cls)
{
	struct conn_req *r = *req_cls;
	(void)cls;
	(void)url;
	(void)version;

	if (!r || !r->uri)
		return MHD_NO;
	if (!r->started) {
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		const char *q = strchr(r->uri, '?');
		r->started = 1;
		r->route = route_of(r, r->uri, q ? (size_t)(q - r->uri) : strlen(r->uri));
		if (r->route == R_INVOKE || r->route == R_OPENAI || r->route == R_UNKNOWN) {
			r->inflight = 1;
			bf_inflight(1);
			model_connection(conn);
		}
		if (cl && strtoull(cl, NULL, 10) > BF_MAX_BODY) {
			r->too_large = 1;
			return finish(conn, r, method);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (r->too_large)
			return MHD_YES;
		if (r->len + n > BF_MAX_BODY) {
			r->too_large = 1;
			free(r->body);
			r->body = NULL;
			r->len = r->cap = 0;
			return MHD_YES;
		}
		if (r->len + n + 1 > r->cap) {
			size_t cap = r->cap ? r->cap : 4096;
			char *p;
			while (cap < r->len + n + 1)
				cap *= 2;
			p = realloc(r->body, cap);
			if (!p)
				return MHD_NO;
			r->body = p;
			r->cap = cap;
		}
		memcpy(r->body + r->len, upload_data, n);
		r->len += n;
		r->body[r->len] = '\0';
		return MHD_YES;
	}
	return finish(conn, r, method);
}

/* The whole of a PEM file, NUL-terminated (libmicrohttpd takes TLS material in memory). */
static char *read_pem(const char *flag, const char *path)
{
	FILE *f;
	char *buf = NULL;
	long n;

	errno = 0;
	f = fopen(path, "r");

	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 || n > 1 << 20 || fseek(f, 0, SEEK_SET) != 0 ||
	    !(buf = malloc((size_t)n + 1)) || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "bedrock-fake: cannot read %s %s: %s\n", flag, path,
			errno ? strerror(errno) : "empty or short");
		free(buf);
		buf = NULL;
	} else
		buf[n] = '\0';
	if (f)
		fclose(f);
	return buf;
}

static int write_ready_file(const char *path, unsigned port)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "bedrock-fake: cannot write --ready-file %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa4 = {0};
	struct sockaddr_in6 sa6 = {0};
	struct sockaddr *sa;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	unsigned port;
	struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL},
					{MHD_OPTION_END, 0, NULL},
					{MHD_OPTION_END, 0, NULL}};
	char *tls_cert = NULL, *tls_key = NULL;
	sigset_t set;
	int sig, v6 = strchr(bf_cfg.bind, ':') != NULL;

	mdw_log_init("bedrock-fake", "info", NULL);
	if (parse_args(argc, argv) < 0)
		return 2;
	v6 = strchr(bf_cfg.bind, ':') != NULL;
	if (v6) {
		sa6.sin6_family = AF_INET6;
		sa6.sin6_port = htons((uint16_t)bf_cfg.port);
		if (inet_pton(AF_INET6, bf_cfg.bind, &sa6.sin6_addr) != 1)
			goto bad_bind;
		sa = (struct sockaddr *)&sa6;
		flags |= MHD_USE_IPv6;
	} else {
		sa4.sin_family = AF_INET;
		sa4.sin_port = htons((uint16_t)bf_cfg.port);
		if (inet_pton(AF_INET, bf_cfg.bind, &sa4.sin_addr) != 1)
			goto bad_bind;
		sa = (struct sockaddr *)&sa4;
	}
	if (bf_state_init() < 0) {
		fprintf(stderr, "bedrock-fake: out of memory\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* server threads inherit it; main waits below */

	if (!bf_cfg.tls_cert != !bf_cfg.tls_key) {
		fprintf(stderr, "bedrock-fake: --tls-cert and --tls-key go together\n");
		return 2;
	}
	if (bf_cfg.tls_cert) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			fprintf(stderr, "bedrock-fake: this libmicrohttpd has no TLS support\n");
			return 1;
		}
		if (!(tls_cert = read_pem("--tls-cert", bf_cfg.tls_cert)) ||
		    !(tls_key = read_pem("--tls-key", bf_cfg.tls_key)))
			return 1;
		flags |= MHD_USE_TLS;
		tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, tls_cert};
		tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, tls_key};
	}
	d = MHD_start_daemon(flags, (uint16_t)bf_cfg.port, NULL, NULL, on_request, NULL, MHD_OPTION_ARRAY, tls,
			     MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION,
			     on_connection, NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned)4000,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)bf_cfg.idle_timeout_s,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)256 * 1024, MHD_OPTION_THREAD_STACK_SIZE,
			     (size_t)1024 * 1024, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "bedrock-fake: cannot listen on %s:%ld: %s\n", bf_cfg.bind, bf_cfg.port,
			strerror(errno));
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	port = info ? info->port : (unsigned)bf_cfg.port;
	if (v6)
		printf("bedrock-fake listening on [%s]:%u%s\n", bf_cfg.bind, port, tls_cert ? " (https)" : "");
	else
		printf("bedrock-fake listening on %s:%u%s\n", bf_cfg.bind, port, tls_cert ? " (https)" : "");
	fflush(stdout);
	if (bf_cfg.ready_file && write_ready_file(bf_cfg.ready_file, port) < 0) {
		MHD_stop_daemon(d);
		return 1;
	}
	while (sigwait(&set, &sig) != 0)
		;
	MHD_stop_daemon(d);
	free(tls_cert);
	free(tls_key);
	return 0;
bad_bind:
	fprintf(stderr, "bedrock-fake: invalid --bind \"%s\": expected an IPv4 or IPv6 address\n", bf_cfg.bind);
	return 2;
}
