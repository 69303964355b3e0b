#!/usr/bin/env bash
# Watching a run: /metrics scraped during a run parses as Prometheus text
# (the official Python client's parser) and its counters only grow; status
# and report on the finished run equal the ledger and the operators' queries;
# the JSON forms parse; a wrong metrics token is refused.
source "$(dirname "$0")/lib.sh" "$1" observe
fresh_dbs
"$BUILD/mdwctl" legacy-demo --scale 1 >"$LOGS/demo.log"
export MDW_POLL_MS=100 MDW_CHUNK_ROWS=2000
PHASES=practices,profiles,patients,cases,projects
PORT=$((19000 + RANDOM % 1000))
export MDW_REPORT_PATH="$LOGS/report.md"

start_worker w1 --exit-when-done >/dev/null
"$BUILD/mdw-coordinator" --new-run --phases "$PHASES" --metrics-addr "127.0.0.1:$PORT" --metrics-token s3cr3t \
  2>"$LOGS/coordinator.log" &
COORD=$!
PIDS+=($COORD)
wait_for 20 "metrics endpoint" 'curl -sf -H "Authorization: Bearer s3cr3t" "http://127.0.0.1:$PORT/metrics"'
assert_eq "metrics without the token" 401 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")"
i=0
while kill -0 "$COORD" 2>/dev/null && [ $i -lt 200 ]; do
  curl -sf -H "Authorization: Bearer s3cr3t" "http://127.0.0.1:$PORT/metrics" >"$LOGS/metrics.$i.txt" || break
  i=$((i + 1))
  sleep 0.2
done
wait "$COORD" && rc=0 || rc=$?
assert_eq "coordinator exit code" 0 "$rc"
[ "$i" -ge 3 ] || fail "only $i scrapes during the run"
/usr/bin/python3 - "$LOGS" "$i" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
logs, n = sys.argv[1], int(sys.argv[2])
prev = {}
for k in range(n):
    text = open(f"{logs}/metrics.{k}.txt").read()
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    for need in ("mdw_chunks", "mdw_rows", "mdw_rows_flagged", "mdw_chunk_duration_seconds", "mdw_queue_length",
                 "mdw_workers_live"):
        assert need in fams, f"scrape {k}: no {need}"
    for s in fams["mdw_rows"].samples:
        key = (s.name, tuple(sorted(s.labels.items())))
        assert s.value >= prev.get(key, 0), f"scrape {k}: counter {key} went down"
        prev[key] = s.value
print(f"ok: {n} scrapes parse as Prometheus text; counters only grow")
PY

# status --json and the report agree with the ledger and the target
"$BUILD/mdwctl" status --json >"$LOGS/status.json"
"$BUILD/mdwctl" report >/dev/null
/usr/bin/python3 - "$LOGS" "$TARGET_DB" "$LEGACY_DB" <<'PY'
import json, subprocess, sys
logs, db, legacy = sys.argv[1], sys.argv[2], sys.argv[3]
def q(sql, d=db):
    return int(subprocess.check_output(["psql", "-X", "-q", "-t", "-A", "-d", d, "-c", sql]).strip() or 0)
st = json.load(open(f"{logs}/status.json"))
rep = json.load(open(f"{logs}/report.json"))
ph = {p["phase"]: p for p in st["phases"]}
rp = {p["phase"]: p for p in rep["phases"]}
sources = {"practices": "dispatch_office", "patients": "dispatch_patient", "cases": "dispatch_project",
           "projects": "dispatch_project"}
for name, table in [("practices", "practices"), ("patients", "patients"), ("cases", "cases"), ("projects", "projects")]:
    for outcome in ("read", "inserted", "existing", "merged", "rejected"):
        want = q(f"SELECT coalesce(sum(rows_{outcome}), 0) FROM mdw.chunks WHERE run_id = 1 AND phase = '{name}'")
        assert ph[name][outcome] == want, (name, outcome, ph[name][outcome], want)
    assert ph[name]["inserted"] == q(f"SELECT count(*) FROM {table}"), name
    assert rp[name]["status"] == "completed" and rp[name]["progressPercentage"] == 100.0, rp[name]
    # where the migration stands: the source rows now, the target rows now
    assert rp[name]["expectedCount"] == q(f"SELECT count(*) FROM {sources[name]}", legacy) == ph[name]["read"], name
    assert rp[name]["currentCount"] == q(f"SELECT count(*) FROM {table}"), name
    assert rp[name]["rejectedOutstanding"] == q(f"SELECT count(*) FROM mdw.rejects WHERE phase = '{name}'"), name
    assert rp[name]["flaggedOutstanding"] == rp[name]["flagged"] == ph[name]["flagged"] == \
        q(f"SELECT count(*) FROM mdw.flags WHERE phase = '{name}'"), name
    assert rp[name]["inserted"] == q(f"SELECT count(*) FROM {table}"), name
    rejects = q(f"SELECT count(*) FROM mdw.rejects WHERE run_id = 1 AND phase = '{name}'")
    assert sum(rp[name]["rejectsByReason"].values()) == rejects == rp[name]["rejected"], name
assert rp["case_states"]["status"] == "not_started"
crit = {c["criterion"]: c for c in rep["successCriteria"]}
c = crit["all patients linked to valid practices"]
assert c["notMet"] == c["nullInLegacy"] + c["repaired"] + c["rejected"] and c["repaired"] > 0 and not c["holds"], c
assert c["repaired"] == q("SELECT count(*) FROM mdw.flags WHERE phase = 'patients' AND code = 'dangling_office'"), c
assert rep["complete"] is True, rep["nextStep"]
print("ok: status --json and the report equal the ledger and the target")
PY
grep -q '| patients | Patient | completed |' "$LOGS/report.md" || fail "the Markdown report lacks the patients line"
ok "Markdown report written"
"$BUILD/mdwctl" status >"$LOGS/status.txt"
grep -q 'patients .*complete .*\[####################\]' "$LOGS/status.txt" || fail "status: $(cat "$LOGS/status.txt")"
ok "status shows progress bars"
finish
