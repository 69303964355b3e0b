/* The coordinator's HTTP server and the dashboard (see web.h). */
#include <arpa/inet.h>
#include <signal.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dead.h"
#include "metrics.h"
#include "mdw/log.h"
#include "mdw/ledger.h"
#include "mdw/pgx.h"
#include "mdw/sqlfiles.h"
#include "status_json.h"
#include "web.h"

/* the bundle of coordinator/web (web_embedded.c, made by cmake/embed_sql.cmake) */
extern const struct mdw_sql_file mdw_web_files[];

#define CSP                                                                                                            \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "          \
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
#define COOKIE "mdw_token"

/* The server's state: touched by its one thread only (MHD_USE_INTERNAL_POLLING_THREAD), after web_start. */
static struct {
	struct MHD_Daemon *daemon;
	struct mdw_config *cfg;
	int64_t run; /* > 0: the coordinator's run */
	int live_metrics;
	char token[512];
	PGconn *tgt;
	struct rds r;
	int have_rds;
} srv;

/* Paths of the bundle and their types: index.html is "/". */
static const struct {
	const char *url, *file, *type;
} routes[] = {
	{"/", "index.html", "text/html; charset=utf-8"},
	{"/app.js", "app.js", "text/javascript; charset=utf-8"},
	{"/app.css", "app.css", "text/css; charset=utf-8"},
	{"/uPlot.iife.min.js", "vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8"},
	{"/uPlot.min.css", "vendor/uPlot.min.css", "text/css; charset=utf-8"},
};

static const char *bundle_file(const char *path)
{
	for (const struct mdw_sql_file *f = mdw_web_files; f->path; f++)
		if (!strcmp(f->path, path))
			return f->text;
	return NULL;
}

/* Queue BODY (copied) with CODE, TYPE, the headers every answer carries, H1: V1 and LOCATION when not NULL. */
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *type, const char *body, size_t len,
			     const char *h1, const char *v1, const char *location)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Content-Security-Policy", CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (h1)
		MHD_add_response_header(resp, h1, v1);
	if (location)
		MHD_add_response_header(resp, "Location", location);
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result text(struct MHD_Connection *conn, unsigned code, const char *body)
{
	return reply(conn, code, "text/plain; charset=utf-8", body, strlen(body), NULL, NULL, NULL);
}

static int peer_is_loopback(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr_in *sa;

	if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_INET)
		return 0;
	sa = (const struct sockaddr_in *)(const void *)ci->client_addr;
	return (ntohl(sa->sin_addr.s_addr) >> 24) == 127;
}

/* Constant-time comparison of the token with S (length included). */
static int token_is(const char *s)
{
	size_t n = strlen(srv.token), m = s ? strlen(s) : 0;
	unsigned char d = n != m;

	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(srv.token[i] ^ (i < m ? s[i] : 0));
	return s && !d;
}

/* Whether the request carries the token: Authorization: Bearer T, or the cookie. */
static int authorized(struct MHD_Connection *conn)
{
	const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");

	if (a && !strncmp(a, "Bearer ", 7) && token_is(a + 7))
		return 1;
	return token_is(MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, COOKIE));
}

/*
 * The anti-CSRF rule of the POST: the header X-MDW-CSRF (a cross-site form
 * cannot set it, and a cross-site fetch with it needs a preflight we never
 * grant), Sec-Fetch-Site same-origin when the browser sends it, and an
 * Origin, when present, equal to http://Host.
 */
static int same_origin(struct MHD_Connection *conn)
{
	const char *csrf = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-MDW-CSRF");
	const char *site = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
	const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
	char want[300];

	if (!csrf || !*csrf || (site && strcmp(site, "same-origin") != 0))
		return 0;
	if (!origin)
		return 1;
	snprintf(want, sizeof want, "http://%s", host ? host : "");
	return host && !strcmp(origin, want);
}

/*
 * Without a token, the page is for this machine only: the Host must name
 * loopback too, so that a site whose name is rebound to 127.0.0.1 (DNS
 * rebinding) gets nothing from the operator's browser.
 */
static int host_is_loopback(struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");

	return h && (!strncmp(h, "127.", 4) || !strncmp(h, "localhost", 9) || !strncmp(h, "[::1]", 5));
}

/* The web thread's own connections (libpq and hiredis are not shared between threads). 0 or -1 (ERR). */
static int connect_backends(char *err, size_t errlen)
{
	if (srv.tgt && PQstatus(srv.tgt) != CONNECTION_OK) {
		PQfinish(srv.tgt);
		srv.tgt = NULL;
	}
	if (!srv.tgt && !(srv.tgt = pgx_connect(srv.cfg->target_dsn, "mdw-dashboard", err, errlen)))
		return -1;
	if (!srv.have_rds && rds_parse_url(&srv.r, srv.cfg->redis_url, err, errlen) == 0)
		srv.have_rds = 1;
	if (srv.have_rds && !srv.r.c && rds_connect(&srv.r) < 0) /* the page says queues and workers are unknown */
		mdw_debug("msg=\"dashboard: Redis unreachable\" error=\"%s\"", srv.r.errstr);
	return 0;
}

/* The run shown: the coordinator's, else --run, else the newest (0 when none). */
static int64_t shown_run(void)
{
	char err[256];
	int64_t run = 0;

	if (srv.run > 0)
		return srv.run;
	return ledger_run_find(srv.tgt, srv.cfg->run_id, &run, err, sizeof err) < 0 ? 0 : run;
}

static enum MHD_Result api_status(struct MHD_Connection *conn)
{
	char err[512];
	struct status_opts o = {srv.cfg->rate_rpm, srv.cfg->report_path};
	json_t *doc;
	char *body;
	int64_t run;
	enum MHD_Result ret;

	if (connect_backends(err, sizeof err) < 0 || !(run = shown_run())) {
		mdw_debug("msg=\"dashboard: no status\" error=\"%s\"", err);
		return text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "no run yet, or the target database is unreachable\n");
	}
	if (!(doc = status_json(srv.tgt, srv.r.c ? &srv.r : NULL, run, &o, err, sizeof err))) {
		mdw_warn("run=%" PRId64 " msg=\"dashboard: cannot read the status\" error=\"%s\"", run, err);
		return text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "cannot read the ledger\n");
	}
	body = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!body)
		return MHD_NO;
	ret = reply(conn, MHD_HTTP_OK, "application/json", body, strlen(body), NULL, NULL, NULL);
	free(body);
	return ret;
}

static enum MHD_Result api_retry(struct MHD_Connection *conn)
{
	const char *phase = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "phase");
	char msg[512], *body;
	json_t *o;
	int n;
	enum MHD_Result ret;

	if (phase && *phase && !mdw_phase_find(phase))
		return text(conn, MHD_HTTP_BAD_REQUEST, "unknown phase\n");
	n = dead_retry(srv.cfg, phase ? phase : "", srv.run > 0 ? srv.run : srv.cfg->run_id, msg, sizeof msg);
	mdw_info("msg=\"dashboard: retry-dead\" phase=%s chunks=%d", phase && *phase ? phase : "all", n);
	o = json_pack("{s:i,s:s}", "retried", n, "message", msg);
	body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!body)
		return MHD_NO;
	ret = reply(conn, n < 0 ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK, "application/json", body, strlen(body),
		    NULL, NULL, NULL);
	free(body);
	return ret;
}

static enum MHD_Result get_metrics(struct MHD_Connection *conn)
{
	char err[512], *body = NULL;
	enum MHD_Result ret;
	int64_t run;

	if (!srv.live_metrics)
		body = metrics_snapshot();
	else if (connect_backends(err, sizeof err) == 0 && (run = shown_run()))
		body = metrics_render(srv.tgt, srv.r.c ? &srv.r : NULL, run, err, sizeof err);
	ret = reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body ? body : "# no data yet\n",
		    strlen(body ? body : "# no data yet\n"), NULL, NULL, NULL);
	free(body);
	return ret;
}

static enum MHD_Result get_report(struct MHD_Connection *conn)
{
	FILE *f = fopen(srv.cfg->report_path, "r");
	char buf[1 << 16];
	size_t n;

	if (!f)
		return text(conn, MHD_HTTP_NOT_FOUND, "no progress report yet\n");
	n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	return reply(conn, MHD_HTTP_OK, "text/plain; charset=utf-8", buf, n, NULL, NULL, NULL);
}

/* GET /?token=T: the token once, kept in an HttpOnly SameSite=Strict cookie, then the page without it in the URL. */
static enum MHD_Result login(struct MHD_Connection *conn, const char *token)
{
	char cookie[640];

	if (!token_is(token))
		return text(conn, MHD_HTTP_UNAUTHORIZED, "unauthorized\n");
	snprintf(cookie, sizeof cookie, COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/", srv.token);
	return reply(conn, MHD_HTTP_SEE_OTHER, "text/plain; charset=utf-8", "", 0, "Set-Cookie", cookie, "/");
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **ptr)
{
	static int first;
	int post = !strcmp(method, "POST");
	const char *token = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");

	(void)cls, (void)version, (void)upload;
	if (!*ptr) { /* the headers; the body (ignored) comes in the next calls */
		*ptr = &first;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (!post && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (!strcmp(url, "/") && token && srv.token[0])
		return login(conn, token);
	if (srv.token[0] ? !authorized(conn)
			 : strcmp(url, "/metrics") != 0 && (!peer_is_loopback(conn) || !host_is_loopback(conn)))
		return text(conn, MHD_HTTP_UNAUTHORIZED,
			    srv.token[0] ? "unauthorized: open /?token=... once, or send Authorization: Bearer\n"
					 : "unauthorized: off loopback the dashboard needs MDW_METRICS_TOKEN\n");
	if (post) {
		if (strcmp(url, "/api/retry-dead") != 0)
			return text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
		if (!same_origin(conn))
			return text(conn, MHD_HTTP_FORBIDDEN, "forbidden: cross-site request\n");
		return api_retry(conn);
	}
	if (!strcmp(url, "/api/status"))
		return api_status(conn);
	if (!strcmp(url, "/metrics"))
		return get_metrics(conn);
	if (!strcmp(url, "/report"))
		return get_report(conn);
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
		if (!strcmp(url, routes[i].url)) {
			const char *body = bundle_file(routes[i].file);
			if (body)
				return reply(conn, MHD_HTTP_OK, routes[i].type, body, strlen(body), NULL, NULL, NULL);
		}
	return text(conn, MHD_HTTP_NOT_FOUND, "not found: try /, /api/status or /metrics\n");
}

int web_start(const char *addr, struct mdw_config *cfg, int64_t run, int live_metrics, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	const char *colon = strrchr(addr, ':');
	char host[64] = "127.0.0.1";
	char *end;
	long port;

	if (!colon || (size_t)(colon - addr) >= sizeof host) {
		snprintf(err, errlen, "invalid address \"%.60s\": expected [IPv4 address]:port", addr);
		return -1;
	}
	if (colon > addr) {
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = 0;
	}
	port = strtol(colon + 1, &end, 10);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	if (*end || port < 1 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		snprintf(err, errlen, "invalid address \"%.60s\": expected [IPv4 address]:port", addr);
		return -1;
	}
	sa.sin_port = htons((uint16_t)port);
	memset(&srv, 0, sizeof srv);
	srv.cfg = cfg;
	srv.run = run;
	srv.live_metrics = live_metrics;
	snprintf(srv.token, sizeof srv.token, "%s", cfg->metrics_token ? cfg->metrics_token : "");
	srv.daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, answer, NULL,
				      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_TIMEOUT,
				      (unsigned)30, MHD_OPTION_END);
	if (!srv.daemon) {
		snprintf(err, errlen, "cannot serve HTTP on %s:%ld (address in use?)", host, port);
		return -1;
	}
	mdw_info("msg=\"serving the dashboard and metrics\" url=http://%s:%ld/ auth=%s", host, port,
		 srv.token[0] ? "bearer" : "loopback only");
	return 0;
}

void web_stop(void)
{
	if (srv.daemon)
		MHD_stop_daemon(srv.daemon);
	srv.daemon = NULL;
	if (srv.tgt)
		PQfinish(srv.tgt);
	srv.tgt = NULL;
	if (srv.have_rds)
		rds_close(&srv.r);
	srv.have_rds = 0;
}

static volatile sig_atomic_t alone_stop;

static void on_stop(int sig)
{
	(void)sig;
	alone_stop = 1;
}

int web_serve_alone(struct mdw_config *cfg)
{
	char err[512];

	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	signal(SIGPIPE, SIG_IGN);
	if (web_start(cfg->dashboard_addr, cfg, 0, 1, err, sizeof err) < 0) {
		fprintf(stderr, "dashboard: %s\n", err);
		return 1;
	}
	printf("dashboard: http://%s%s/%s\n", cfg->dashboard_addr[0] == ':' ? "127.0.0.1" : "", cfg->dashboard_addr,
	       cfg->metrics_token[0] ? " (open /?token=... once)" : "");
	fflush(stdout);
	while (!alone_stop)
		pause();
	web_stop();
	return 0;
}
