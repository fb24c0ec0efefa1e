#!/usr/bin/env python3
"""The demo's live display: reads auriga's /api/v1/status every half second and prints a line for
each change of a deployment (phase, ready count, strategy step, revision), until the fleet (or one
deployment) reaches a phase on a commit, or the time is up.

  demo-watch.py URL SECONDS COMMIT [DEPLOYMENT PHASE]

Exit 0 when reached; 1 when the time ran out (the last status is printed)."""
import json
import sys
import time
import urllib.request

url, secs, commit = sys.argv[1], float(sys.argv[2]), sys.argv[3]
want_dep, want_phase = (sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else (None, "Healthy")
start = time.time()
seen = {}
last = None
BOLD, DIM, OFF = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")
COLOUR = {"Healthy": "\033[32m", "Progressing": "\033[36m", "Pending": "\033[33m",
          "Degraded": "\033[33m", "Failed": "\033[31m", "RolledBack": "\033[35m"}


def phase_text(p):
    return (COLOUR.get(p, "") + p + OFF) if sys.stdout.isatty() else p


def reached(s):
    if not s.get("commit", "").startswith(commit):
        return False
    deps = s.get("deployments", [])
    if want_dep:
        return any(d.get("name") == want_dep and d.get("phase") == want_phase for d in deps)
    return s.get("phase") == "Healthy" and deps and all(d.get("phase") == "Healthy" for d in deps)


while time.time() - start < secs:
    try:
        with urllib.request.urlopen(url + "/api/v1/status", timeout=2) as r:
            s = json.load(r)
    except Exception:
        time.sleep(0.5)
        continue
    last = s
    for d in s.get("deployments", []):
        key = (d.get("phase"), d.get("ready"), d.get("desired"), d.get("step"))
        first = d.get("name") not in seen
        if seen.get(d.get("name")) == key:
            continue
        seen[d.get("name")] = key
        if first and d.get("phase") == "Healthy" and s.get("commit", "") and not reached(s):
            continue  # healthy before this step: only its changes are shown
        step = d.get("step") or ""
        print("  %s%6.1fs%s  %-11s %-10s %-22s %2s/%-2s ready  %s" % (
            DIM, time.time() - start, OFF, d.get("name", "?"), d.get("role") or "-",
            phase_text(d.get("phase", "?")), d.get("ready", 0), d.get("desired", 0), step), flush=True)
    if reached(s):
        print("  %s%6.1fs%s  %s%s%s" % (DIM, time.time() - start, OFF, BOLD,
                                         "%s is %s" % (want_dep or "the fleet", want_phase), OFF), flush=True)
        sys.exit(0)
    time.sleep(0.5)
print("demo: not reached in %d s; last status: %s" % (secs, json.dumps(last)[:2000] if last else "none"),
      file=sys.stderr)
sys.exit(1)
