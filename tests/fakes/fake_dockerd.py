#!/usr/bin/env python3
"""A fake Docker daemon on a unix socket, for the errors a real one cannot produce on demand.

It speaks the Engine API's JSON and status codes. What it does depends on the container name or
id in the path (see ROUTES below), so one instance serves the whole error matrix. It counts
requests per "METHOD /path" (query left out); GET /_fake/count?key=METHOD%20/path returns
{"count": n} and GET /_fake/last?key=... the last full path with its query.

usage: fake_dockerd.py SOCKET [--api 1.41]
"""
import json
import socket
import sys
import threading
import time
import urllib.parse

import dockerfake

API = "1.41"
COUNTS = {}
LAST = {}
LOCK = threading.Lock()
EVENTS_T0 = 1700000000_000000000
HUGE = json.dumps({"Id": "huge", "State": {"Status": "running"}, "Blob": "x" * (20 << 20)}).encode()


def event(n, action="die", cid="c1"):
    t = EVENTS_T0 + n * 1000
    return {"status": action, "id": cid, "from": "img:1", "Type": "container", "Action": action,
            "Actor": {"ID": cid, "Attributes": {"n": str(n), "auriga.io/managed-by": "fake"}},
            "scope": "local", "time": t // 1000000000, "timeNano": t}


class Handler(dockerfake.BaseHandler):
    def send_json(self, code, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Api-Version", API)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def send_error_json(self, code, msg):
        self.send_json(code, {"message": msg})

    def send_empty(self, code):
        self.send_response(code)
        self.send_header("Api-Version", API)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def count(self, path):
        key = f"{self.command} {path}"
        with LOCK:
            COUNTS[key] = COUNTS.get(key, 0) + 1
            LAST[key] = self.path
            return COUNTS[key]

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        q = urllib.parse.parse_qs(url.query)
        self.read_body()
        if path.startswith("/_fake/"):
            key = q.get("key", [""])[0]
            with LOCK:
                if path == "/_fake/count":
                    return self.send_json(200, {"count": COUNTS.get(key, 0)})
                return self.send_json(200, {"last": LAST.get(key, "")})
        n = self.count(path)
        if path == "/_ping":
            self.send_response(200)
            self.send_header("Api-Version", API)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", "2")
            self.end_headers()
            return self.wfile.write(b"OK")
        if path == "/version":
            return self.send_json(200, {"Version": "20.10.0-fake", "ApiVersion": API,
                                        "MinAPIVersion": "1.12", "Os": "linux"})
        parts = path.split("/")
        # Versioned paths: /vX.Y/...
        if len(parts) < 3 or not parts[1].startswith("v"):
            return self.send_error_json(404, "page not found")
        if parts[1] != "v" + API:
            return self.send_error_json(400, f"client version {parts[1][1:]} is too new. "
                                             f"Maximum supported API version is {API}")
        rest = parts[2:]
        if rest == ["containers", "json"]:
            return self.send_json(200, [{"Id": "gone" + "0" * 60, "Names": ["/gone"], "Image": "img:1",
                                         "ImageID": "sha256:1", "State": "running", "Status": "Up",
                                         "Created": 1700000000,
                                         "Labels": {"auriga.io/managed-by": "fake"}}])
        if rest == ["containers", "create"]:
            name = q.get("name", [""])[0]
            if name == "taken":
                return self.send_error_json(409, 'Conflict. The container name "/taken" is already in use '
                                                 'by container "abc". You have to remove (or rename) '
                                                 'that container to be able to reuse that name.')
            if name == "boom":
                return self.send_error_json(500, "driver failed programming external connectivity")
            if name == "closed":
                self.close_connection = True
                return
            return self.send_json(201, {"Id": "new" + "0" * 61, "Warnings": []})
        if rest == ["events"]:
            return self.events(q)
        if len(rest) >= 3 and rest[0] == "containers":
            return self.container(rest[1], rest[2], n)
        return self.send_error_json(404, "page not found")

    def container(self, cid, op, n):
        if cid.startswith("gone"):
            return self.send_error_json(404, f"No such container: {cid}")
        if cid == "started" and op in ("start", "stop"):
            return self.send_empty(304)
        if cid == "boom":
            return self.send_error_json(500, "Cannot stop container boom: tried to kill container, "
                                             "but did not receive an exit event")
        if cid == "badreq":
            return self.send_error_json(400, "Invalid signal: SIGFOO")
        if cid == "flaky" and n <= 2:
            return self.send_error_json(503, "daemon is busy")
        if cid == "hang":
            time.sleep(30)
            return
        if cid == "trunc":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"Id": "trunc", "State": {"Status": "run')
            self.wfile.flush()
            self.close_connection = True
            return
        if cid == "huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(HUGE)))
            self.end_headers()
            try:
                self.wfile.write(HUGE)
            except OSError:
                pass  # the client stops reading at its bound
            return
        if cid == "badjson":
            body = b'{"Id": "badjson", "State": {"Status": "running", '
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return self.wfile.write(body)
        if cid == "wrongtype":
            return self.send_json(200, {"Id": 12, "State": {"Status": "running"}})
        if op == "json":
            return self.send_json(200, {"Id": cid, "Name": "/" + cid,
                                        "State": {"Status": "running", "Running": True, "ExitCode": 0,
                                                  "Pid": 42},
                                        "Config": {"Image": "img:1", "Labels": {}}})
        return self.send_empty(204)

    def events(self, q):
        since = q.get("since", [""])[0]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Api-Version", API)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(data):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        if not since:
            chunk((json.dumps(event(1)) + "\n").encode())
            chunk((json.dumps(event(2)) + "\n").encode())
            # Half an event, then the connection drops: a break in the middle of the stream.
            chunk(json.dumps(event(3))[:20].encode())
            time.sleep(0.1)
            self.close_connection = True
            return
        # Resumed: the daemon repeats the event at `since` (inclusive), then new ones.
        chunk((json.dumps(event(2)) + "\n").encode())
        chunk((json.dumps(event(3)) + "\n").encode())
        chunk(b"{this is not json}\n")
        chunk((json.dumps(event(4, "start")) + "\n").encode())
        time.sleep(30)

    do_GET = handle_any
    do_POST = handle_any
    do_DELETE = handle_any


def main():
    global API
    API = dockerfake.api_option(sys.argv, API)
    dockerfake.serve(sys.argv[1], Handler)


if __name__ == "__main__":
    main()
