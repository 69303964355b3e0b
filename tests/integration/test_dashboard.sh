#!/usr/bin/env bash
# The dashboard (coordinator --http-addr and mdwctl dashboard) in a real
# browser: Debian's chromium driven by playwright-core (tests/dashboard,
# npm ci from the committed lock; no browser is downloaded).
# - during a demo run the coordinator's page shows what mdwctl status --json
#   says, phase by phase; the page then shows the run complete (screenshot);
# - a dead chunk (a trigger refuses it) and a poison message are listed; a
#   cross-site POST does not retry it; the retry button does;
# - /api/status is mdwctl status --json, field for field;
# - off loopback: refused without the token; /?token= sets an HttpOnly
#   SameSite=Strict cookie; every answer has a strict CSP;
# - no name or email of the demo data in the page or its JSON.
source "$(dirname "$0")/lib.sh" "$1" dashboard
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
export MDW_POLL_MS=100 MDW_CHUNK_ROWS=2000 MDW_REPORT_PATH="$LOGS/report.md"
PHASES=practices,profiles,patients,cases
P1=$((20000 + RANDOM % 1000)) P2=$((21000 + RANDOM % 1000)) P3=$((22000 + RANDOM % 1000))
export MDWCTL="$BUILD/mdwctl" OUT="$LOGS"

# playwright-core from the committed lock, into the build folder (npm from Debian when missing)
command -v npm >/dev/null || { [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm >/dev/null; } \
  || fail "npm is missing: apt-get install npm"
[ -x /usr/bin/chromium ] || fail "Debian's chromium is missing: deploy/local/install-deps"
NODE_DIR="$BUILD/dashboard-test"
mkdir -p "$NODE_DIR"
cp "$ROOT/tests/dashboard/package.json" "$ROOT/tests/dashboard/package-lock.json" "$ROOT/tests/dashboard/browser.mjs" "$NODE_DIR/"
(cd "$NODE_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >"$LOGS/npm.log" 2>&1) \
  || fail "npm ci: $(tail -5 "$LOGS/npm.log")"
browser() { node "$NODE_DIR/browser.mjs" "$@" 2>&1 | tee -a "$LOGS/browser.log"; return "${PIPESTATUS[0]}"; }

# the last phase is slowed (each of its chunks waits 0.1 s at commit), so that the page is read while
# earlier phases are complete and the run still goes on
"$BUILD/mdwctl" schema >/dev/null
tq "CREATE FUNCTION public.slow_chunk() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
      IF NEW.status = 'done' AND NEW.phase = 'cases' THEN PERFORM pg_sleep(0.1); END IF; RETURN NEW; END \$\$;
    CREATE TRIGGER slow_chunk BEFORE UPDATE ON mdw.chunks FOR EACH ROW EXECUTE FUNCTION public.slow_chunk();
    ALTER TABLE mdw.chunks ENABLE ALWAYS TRIGGER slow_chunk" >/dev/null

"$BUILD/mdwctl" dashboard --addr "127.0.0.1:$P2" >"$LOGS/dashboard.out" 2>"$LOGS/dashboard.log" &
PIDS+=($!)
"$BUILD/mdw-coordinator" --new-run --phases "$PHASES" --http-addr "127.0.0.1:$P1" 2>"$LOGS/coordinator.log" &
COORD=$!
PIDS+=($COORD)
wait_for 20 "the coordinator's page" 'curl -sf "http://127.0.0.1:$P1/api/status"'
curl -sf "http://127.0.0.1:$P1/api/status" >"$LOGS/coord-status.json"
start_worker w1 --exit-when-done >/dev/null
browser live "http://127.0.0.1:$P1/" || fail "the live page"
browser complete "http://127.0.0.1:$P2/" || fail "the complete run"
wait "$COORD" && rc=0 || rc=$?
assert_eq "coordinator exit code" 0 "$rc"
grep -q "dashboard: http://127.0.0.1:$P2/" "$LOGS/dashboard.out" || fail "mdwctl dashboard did not print its URL"

# /api/status is mdwctl status --json, field for field (retried while the clock moves the rates)
same_json() { # FILE_A FILE_B: same structure and key order; equal values but the time-dependent ones
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
TIME = {"seen_seconds_ago", "rows_per_second", "eta_seconds"}
def cmp(x, y, path):
    assert type(x) is type(y), f"{path}: {type(x).__name__} vs {type(y).__name__}"
    if isinstance(x, dict):
        assert list(x) == list(y), f"{path}: keys {list(x)} vs {list(y)}"
        for k in x:
            if k not in TIME:
                cmp(x[k], y[k], f"{path}.{k}")
    elif isinstance(x, list):
        assert len(x) == len(y), f"{path}: {len(x)} vs {len(y)} items"
        for i, (u, v) in enumerate(zip(x, y)):
            cmp(u, v, f"{path}[{i}]")
    else:
        assert x == y, f"{path}: {x!r} vs {y!r}"
cmp(a, b, "$")
PY
}
"$BUILD/mdwctl" status --json >"$LOGS/status.json"
curl -sf "http://127.0.0.1:$P2/api/status" >"$LOGS/api-status.json"
same_json "$LOGS/status.json" "$LOGS/api-status.json" || fail "/api/status differs from mdwctl status --json"
ok "/api/status = mdwctl status --json, field for field"
same_json "$LOGS/status.json" "$LOGS/coord-status.json" 2>/dev/null && fail "the run's first status equals its last?"
/usr/bin/python3 -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert list(a) == list(b) and [list(p) for p in a["phases"]] == [list(p) for p in b["phases"]], "keys differ"
' "$LOGS/status.json" "$LOGS/coord-status.json" || fail "the coordinator's /api/status has other fields"
ok "the coordinator's /api/status has the fields of mdwctl status --json"

# a dead chunk (run 2: a trigger refuses the practices chunk's commit) and a poison message
tq "DROP TRIGGER slow_chunk ON mdw.chunks" >/dev/null
tq "CREATE FUNCTION public.refuse_chunk() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
      IF NEW.status = 'done' AND NEW.phase = 'practices' THEN
        RAISE EXCEPTION 'test: chunk refused: Key (email)=(dead.letter@example.com) exists'; END IF;
      RETURN NEW; END \$\$;
    CREATE TRIGGER refuse_chunk BEFORE UPDATE ON mdw.chunks FOR EACH ROW EXECUTE FUNCTION public.refuse_chunk();
    ALTER TABLE mdw.chunks ENABLE ALWAYS TRIGGER refuse_chunk" >/dev/null
printf 'not msgpack' | rcli -x XADD 'mdw:{2}:q:practices' '*' desc "poison" body >/dev/null
export MDW_LEASE_MS=1000
start_worker w2 --exit-when-done --max-attempts 1 >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases practices 2>"$LOGS/coordinator2.log" && rc=0 || rc=$?
assert_eq "run with a dead chunk: coordinator exit code" 1 "$rc"
assert_eq "dead chunks of run 2" 1 "$(tq "SELECT count(*) FROM mdw.chunks WHERE run_id = 2 AND status = 'dead'")"
tq "DROP TRIGGER refuse_chunk ON mdw.chunks" >/dev/null

# a cross-site POST is refused and retries nothing
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
U="http://127.0.0.1:$P2"
assert_eq "POST without the anti-CSRF header" 403 "$(code -X POST "$U/api/retry-dead")"
assert_eq "cross-site POST" 403 "$(code -X POST -H 'X-MDW-CSRF: 1' -H 'Origin: http://evil.example' "$U/api/retry-dead")"
assert_eq "POST with Sec-Fetch-Site cross-site" 403 \
  "$(code -X POST -H 'X-MDW-CSRF: 1' -H 'Sec-Fetch-Site: cross-site' "$U/api/retry-dead")"
assert_eq "a foreign Host name (DNS rebinding) without a token" 401 "$(code -H 'Host: evil.example' "$U/api/status")"
assert_eq "dead chunks after the refused POSTs" 1 "$(tq "SELECT count(*) FROM mdw.chunks WHERE run_id = 2 AND status = 'dead'")"
curl -sf "$U/api/status" >"$LOGS/api-dead.json"
/usr/bin/python3 -c '
import json, sys
st = json.load(open(sys.argv[1]))
assert [d["phase"] for d in st["dead_chunks"]] == ["practices"], st["dead_chunks"]
assert "test: chunk refused: Key (email)=(...) exists" in st["dead_chunks"][0]["error"], st["dead_chunks"]
assert "dead.letter@" not in open(sys.argv[1]).read(), "a value quoted by the error is shown"
assert len(st["poison_messages"]) == 1 and "undecodable" in st["poison_messages"][0]["error"], st["poison_messages"]
' "$LOGS/api-dead.json" || fail "the dead chunk and the poison message in /api/status"
ok "the dead chunk (the value its error quotes removed) and the poison message are in /api/status"
browser retry "$U/" practices || fail "retry from the page"
assert_eq "the retried chunk in the ledger" pending "$(tq "SELECT status FROM mdw.chunks WHERE run_id = 2 AND phase = 'practices'")"

# every answer carries the strict CSP
for path in / /app.js /app.css /uPlot.iife.min.js /api/status /metrics /report /nothing; do
  curl -s -D - -o /dev/null "$U$path" | tr -d '\r' >"$LOGS/headers.txt"
  grep -q "^Content-Security-Policy: default-src 'self'; script-src 'self';" "$LOGS/headers.txt" \
    || fail "$path: no strict CSP: $(cat "$LOGS/headers.txt")"
done
ok "every answer carries a strict Content-Security-Policy"

# off loopback (this host's own non-loopback address): refused without the token
IP=$(ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1)
if [ -n "$IP" ]; then
  "$BUILD/mdwctl" dashboard --addr "$IP:$P3" >/dev/null 2>>"$LOGS/dashboard-off.log" &
  OFF=$!
  PIDS+=($OFF)
  wait_for 10 "the off-loopback dashboard" 'curl -s -o /dev/null "http://$IP:$P3/metrics"'
  assert_eq "off loopback, no token configured: the page" 401 "$(code "http://$IP:$P3/")"
  assert_eq "off loopback, no token configured: the JSON" 401 "$(code "http://$IP:$P3/api/status")"
  assert_eq "off loopback, no token configured: POST" 401 "$(code -X POST -H 'X-MDW-CSRF: 1' "http://$IP:$P3/api/retry-dead")"
  kill "$OFF"
  wait "$OFF" || true
  MDW_METRICS_TOKEN=t0ken "$BUILD/mdwctl" dashboard --addr "$IP:$P3" >/dev/null 2>>"$LOGS/dashboard-off.log" &
  OFF=$!
  PIDS+=($OFF)
  V="http://$IP:$P3"
  wait_for 10 "the off-loopback dashboard with a token" 'curl -s -o /dev/null "$V/"'
  assert_eq "off loopback without the token" 401 "$(code "$V/api/status")"
  assert_eq "off loopback with a wrong token" 401 "$(code -H 'Authorization: Bearer nope' "$V/api/status")"
  assert_eq "off loopback with the bearer token" 200 "$(code -H 'Authorization: Bearer t0ken' "$V/api/status")"
  curl -s -D - -o /dev/null "$V/?token=t0ken" | tr -d '\r' >"$LOGS/login.txt"
  grep -q '^HTTP/1.1 303' "$LOGS/login.txt" && grep -q '^Location: /$' "$LOGS/login.txt" \
    && grep -q '^Set-Cookie: mdw_token=t0ken; HttpOnly; SameSite=Strict; Path=/$' "$LOGS/login.txt" \
    || fail "/?token= does not set the cookie and redirect: $(cat "$LOGS/login.txt")"
  assert_eq "/?token= with a wrong token" 401 "$(code "$V/?token=nope")"
  assert_eq "the page with the cookie" 200 "$(code -b 'mdw_token=t0ken' "$V/")"
  assert_eq "cross-site POST with the cookie" 403 \
    "$(code -X POST -b 'mdw_token=t0ken' -H 'Origin: http://evil.example' -H 'X-MDW-CSRF: 1' "$V/api/retry-dead")"
  browser login "$V/?token=t0ken" || fail "the browser's login with /?token="
  ok "off loopback: the token is required; /?token= sets an HttpOnly SameSite=Strict cookie"
else
  fail "no non-loopback IPv4 address on this host to test the off-loopback rule"
fi

# no patient data in the page or its JSON
lq "SELECT first_name || ' ' || last_name FROM dispatch_patient WHERE length(first_name) > 2 LIMIT 300" >"$LOGS/phi.txt"
lq "SELECT btrim(email) FROM auth_user WHERE btrim(email) LIKE '%@%.%' LIMIT 300" >>"$LOGS/phi.txt"
echo "dead.letter@example.com" >>"$LOGS/phi.txt" # the value the dead chunk's error quotes
sed -i "/^ *$/d" "$LOGS/phi.txt"
[ "$(wc -l <"$LOGS/phi.txt")" -gt 400 ] || fail "too few PHI samples"
cat "$LOGS"/page-*.html "$LOGS"/*status*.json "$LOGS/api-dead.json" >"$LOGS/served.txt"
if grep -F -f "$LOGS/phi.txt" "$LOGS/served.txt" >"$LOGS/phi-hits.txt"; then
  fail "patient data in the page or its JSON: $(head -c 300 "$LOGS/phi-hits.txt")"
fi
ok "no name or email of the demo data in the page or /api/status"
finish
