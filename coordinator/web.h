/*
 * The coordinator's HTTP server (libmicrohttpd, one thread), also run alone
 * (mdw-coordinator --dashboard, which `mdwctl dashboard` runs):
 *   GET  /                 the dashboard (the bundle of coordinator/web, compiled in)
 *   GET  /api/status       the status document (status_json.h: `mdwctl status --json`)
 *   POST /api/retry-dead   retry-dead of ?phase=P or every phase (dead_retry)
 *   GET  /metrics          Prometheus text (metrics.h)
 *   GET  /report           the progress report (Markdown)
 * Loopback by default. With a token every route requires it (Authorization:
 * Bearer, or the HttpOnly SameSite=Strict cookie that /?token=T sets); without
 * one, peers off loopback (or a Host header that does not name loopback: DNS
 * rebinding) get /metrics only. The POST also needs the header
 * X-MDW-CSRF and a same-origin Origin / Sec-Fetch-Site. Every answer carries
 * a strict Content-Security-Policy (no inline script, nothing off the origin).
 */
#ifndef MDW_WEB_H
#define MDW_WEB_H

#include <stddef.h>
#include <stdint.h>

#include "mdw/config.h"

/*
 * Serve on ADDR ("[IPv4 address]:port") with CFG's token, DSNs and quota.
 * RUN > 0: always that run (the coordinator's); 0: CFG's --run, else the
 * newest. LIVE_METRICS: render /metrics per request (else the coordinator's
 * snapshot). -1 with ERR.
 */
__attribute__((warn_unused_result)) int web_start(const char *addr, struct mdw_config *cfg, int64_t run,
						  int live_metrics, char *err, size_t errlen);

void web_stop(void);

/*
 * mdw-coordinator --dashboard: the web page of a run without a coordinator,
 * for a run that is over or watched from elsewhere, on --addr: it reads the
 * ledger and Redis on each request (the retry button runs retry-dead).
 * Serves until SIGINT or SIGTERM. Returns the exit code.
 */
int web_serve_alone(struct mdw_config *cfg);

#endif
