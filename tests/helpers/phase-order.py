#!/usr/bin/env python3
"""Phase order and quorum in Docker's events during the example fleet's bump from v1 to v2.

Reads EVENTS, one container event a line: "TIMENANO ID DEPLOYMENT IMAGE ACTION" (docker events
--format '{{.TimeNano}} {{.ID}} {{index .Actor.Attributes "auriga.io/deployment"}}
{{.Actor.Attributes.image}} {{.Action}}'). Passes when all 5 slim containers of v2 were up (healthy,
and not killed, stopped or dead since) when the first business container of v2 was created, all 15
business ones (business-1 and -2) when the first validator's was, and never fewer than 4 of the 5
validators up (the 5 of v1 up at the start). Prints what it found as TAP comments.
"""
import sys

ev = []
for line in open(sys.argv[1]):
    t, cid, dep, image, action = line.rstrip("\n").split(" ", 4)
    ev.append((int(t), cid, dep.replace("business-1", "business").replace("business-2", "business"), image, action))
ev.sort()


def first(dep, action):
    return min([t for t, c, d, i, a in ev if d == dep and a == action and i.endswith(":v2")] or [0])


def up_at(dep, at):
    """The v2 containers of dep up at time at (healthy, and not killed, stopped or dead since), the
    last of them to become healthy, and how many v2 containers of dep became healthy in all."""
    healthy, gone = {}, set()
    for t, c, d, i, a in ev:
        if d != dep or not i.endswith(":v2"):
            continue
        if a == "health_status: healthy" and c not in healthy:
            healthy[c] = t
        elif a in ("kill", "stop", "die", "health_status: unhealthy") and t < at:
            gone.add(c)
    up = [t for c, t in healthy.items() if t < at and c not in gone]
    return len(up), max(up or [0]), len(healthy)


ok = True
for a, b, n in (("slim", "business", 5), ("business", "validators", 15)):
    t_change = first(b, "create")
    count, t_healthy, made = up_at(a, t_change)
    # A task the engine replaces later (Swarm restarts one whose health check failed) does not
    # change what stood when the next phase began.
    print("# %s: %d new containers up when the first %s change came, the last healthy %.2f s before"
          " (%d became healthy in all)" % (a, count, b, (t_change - t_healthy) / 1e9, made))
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
