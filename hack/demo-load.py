#!/usr/bin/env python3
"""The demo's load client: POSTs transactions through NGINX one after another (a new connection
each, 5 ms apart) until STOPFILE exists or 300 s pass, at most 60,000 requests. Each line of OUT
is "<seconds since start> <HTTP status or 0> <X-Node-Version>".

  demo-load.py PORT OUT STOPFILE"""
import http.client
import os
import sys
import time

port, out, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
start = time.time()
with open(out, "w", buffering=1) as f:
    for _ in range(60000):
        if os.path.exists(stop) or time.time() - start > 300:
            break
        status, version = 0, "-"
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("POST", "/api/v11/transactions", body=b"{}", headers={"Connection": "close"})
            r = c.getresponse()
            r.read()
            status, version = r.status, r.getheader("X-Node-Version", "-")
            c.close()
        except Exception:
            pass
        f.write("%.3f %d %s\n" % (time.time() - start, status, version))
        time.sleep(0.005)
