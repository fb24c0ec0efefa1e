#!/usr/bin/env python3
"""Phase order and quorum in Docker's events during the example fleet's bump from v1 to v2.

Reads EVENTS, one container event a line: "TIMENANO ID DEPLOYMENT IMAGE ACTION" (docker events
--format '{{.TimeNano}} {{.ID}} {{index .Actor.Attributes "auriga.io/deployment"}}
{{.Actor.Attributes.image}} {{.Action}}'). Passes when every slim container of v2 was healthy before
the first business container of v2 was created, every business one (business-1 and -2) before the
first validator's, with 5 and 15 of them, and never fewer than 4 of the 5 validators up (up: healthy
and not killed, stopped or dead; the 5 of v1 up at the start). Prints what it found as TAP comments.
"""
import sys

ev = []
for line in open(sys.argv[1]):
    t, cid, dep, image, action = line.rstrip("\n").split(" ", 4)
    ev.append((int(t), cid, dep.replace("business-1", "business").replace("business-2", "business"), image, action))
ev.sort()


def first(dep, action):
    return min([t for t, c, d, i, a in ev if d == dep and a == action and i.endswith(":v2")] or [0])


def last_healthy(dep):
    seen = {0: 0}
    for t, c, d, i, a in ev:
        if d == dep and i.endswith(":v2") and a == "health_status: healthy" and c not in seen:
            seen[c] = t
    return max(seen.values()), len(seen) - 1


ok = True
for a, b, n in (("slim", "business", 5), ("business", "validators", 15)):
    t_healthy, count = last_healthy(a)
    t_change = first(b, "create")
    print("# %s: %d new containers healthy, the last %.2f s before the first %s change"
          % (a, count, (t_change - t_healthy) / 1e9, b))
    ok = ok and count == n and 0 < t_healthy < t_change
old = set(c for t, c, d, i, a in ev if d == "validators" and i.endswith(":v1"))
up, low = set(old), 5
for t, c, d, i, a in ev:
    if d != "validators":
        continue
    if a == "health_status: healthy":
        up.add(c)
    elif a in ("kill", "stop", "die", "health_status: unhealthy"):
        up.discard(c)
    low = min(low, len(up))
print("# validators: at least %d of 5 up throughout (%d of v1 seen)" % (low, len(old)))
ok = ok and low >= 4 and len(old) == 5
sys.exit(0 if ok else 1)
