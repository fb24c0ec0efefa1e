#!/usr/bin/env python3
"""A fake Docker daemon on a unix socket that holds a fleet larger than this machine can run.

It answers what a controller's no-op pass asks, in the Engine API's JSON: GET/HEAD /_ping,
GET /version, GET /containers/json (with `all` and a `filters` label filter applied as the real
daemon does), GET /containers/{id}/json, GET /networks and GET /volumes (none: the fleet's
containers are on the default bridge and have no volumes) and GET /events (a stream that stays
open and sends nothing: nothing happens on this host). Paths may carry the /vX.Y prefix. Anything else is a
404 in Docker's {"message": ...} form and is counted; GET /_fake/stats returns the counts.

The fleet comes from a JSON file, read again whenever it changes, and is expanded into the same
objects a real daemon lists (Id, Names, Image, ImageID, Command, Created, Ports, Labels, State,
Status, HostConfig, NetworkSettings, Mounts), about 1.4 kB each:

  {"instance": "bench", "image": "auriga-demo-node:v1", "labels": {"k": "v"},
   "deployments": [{"name": "d1", "revision": "<64 hex>", "replicas": 1}, ...]}

A missing file is an empty host.

usage: fleet_dockerd.py SOCKET FLEET_FILE [--api 1.41]
"""
import hashlib
import json
import os
import sys
import threading
import time
import urllib.parse

import dockerfake

API = "1.41"
LOCK = threading.Lock()
STATS = {}
FLEET = {"mtime": None, "containers": [], "cache": {}}
STOP = threading.Event()


def container(instance, image, extra, dep, rev, ordinal, n):
    cid = hashlib.sha256(f"{instance}/{dep}/{ordinal}".encode()).hexdigest()
    labels = dict(extra)
    labels.update({"auriga.io/managed-by": instance, "auriga.io/deployment": dep,
                   "auriga.io/revision": rev, "auriga.io/ordinal": str(ordinal),
                   "auriga.io/slot": "", "auriga.io/commit": "",
                   "org.opencontainers.image.title": image.split(":")[0],
                   "org.opencontainers.image.version": image.split(":")[-1]})
    ip = f"172.{16 + (n >> 16) % 16}.{(n >> 8) & 255}.{n & 255}"
    return {"Id": cid, "Names": [f"/{dep}-{ordinal}"], "Image": image,
            "ImageID": "sha256:" + hashlib.sha256(image.encode()).hexdigest(),
            "Command": "/demo-node", "Created": 1700000000 + n, "Ports": [], "Labels": labels,
            "State": "running", "Status": "Up 2 hours",
            "HostConfig": {"NetworkMode": "default"},
            "NetworkSettings": {"Networks": {"bridge": {
                "IPAMConfig": None, "Links": None, "Aliases": None,
                "NetworkID": "3d084e64195bf039829f22b598cea51c73653d900431901e64f7a426d3e605a4",
                "EndpointID": hashlib.sha256(cid.encode()).hexdigest(), "Gateway": "172.17.0.1",
                "IPAddress": ip, "IPPrefixLen": 16, "IPv6Gateway": "", "GlobalIPv6Address": "",
                "GlobalIPv6PrefixLen": 0, "MacAddress": "02:42:ac:11:00:07", "DriverOpts": None}}},
            "Mounts": []}


def fleet(path):
    """The fleet's containers, expanded again when the file changed."""
    try:
        mtime = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        mtime = 0
    with LOCK:
        if FLEET["mtime"] == mtime:
            return FLEET
        out = []
        if mtime:
            with open(path) as f:
                spec = json.load(f)
            for d in spec["deployments"]:
                for o in range(d.get("replicas", 1)):
                    out.append(container(spec["instance"], d.get("image", spec["image"]),
                                         spec.get("labels", {}), d["name"], d["revision"], o, len(out)))
        FLEET.update(mtime=mtime, containers=out, cache={})
        return FLEET


def matches(c, filters):
    """Docker's label filter: every `key` or `key=value` given must hold."""
    for want in filters.get("label", []):
        k, eq, v = want.partition("=")
        if k not in c["Labels"] or (eq and c["Labels"][k] != v):
            return False
    for name in filters.get("name", []):
        if not any(name in n for n in c["Names"]):
            return False
    return True


class Handler(dockerfake.BaseHandler):
    fleet_path = None

    def send_body(self, code, body, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Api-Version", API)
        self.send_header("Docker-Experimental", "false")
        self.send_header("Ostype", "linux")
        self.send_header("Server", f"Docker/20.10.0-fake (linux)")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, code, obj):
        self.send_body(code, json.dumps(obj).encode())

    def count(self, key):
        with LOCK:
            STATS[key] = STATS.get(key, 0) + 1

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        parts = url.path.split("/")[1:]
        if parts and parts[0].startswith("v") and parts[0][1:2].isdigit():
            if parts[0] != "v" + API:
                return self.send_json(400, {"message": f"client version {parts[0][1:]} is too new. "
                                                       f"Maximum supported API version is {API}"})
            parts = parts[1:]
        key = f"{self.command} /" + "/".join(parts[:2] if parts[:1] == ["containers"] else parts)
        self.count(key)
        if parts == ["_ping"]:
            return self.send_body(200, b"OK", "text/plain; charset=utf-8")
        if parts == ["_fake", "stats"]:
            with LOCK:
                return self.send_json(200, dict(STATS))
        if self.command != "GET":
            return self.send_json(404, {"message": "page not found"})
        if parts == ["version"]:
            return self.send_json(200, {"Version": "20.10.0-fake", "ApiVersion": API, "MinAPIVersion": "1.12",
                                        "Os": "linux", "Arch": "amd64", "KernelVersion": os.uname().release})
        if parts == ["containers", "json"]:
            return self.list(q)
        if len(parts) == 3 and parts[0] == "containers" and parts[2] == "json":
            return self.inspect(parts[1])
        if parts == ["networks"]:
            return self.send_json(200, [])
        if parts == ["volumes"]:
            return self.send_json(200, {"Volumes": [], "Warnings": None})
        if parts == ["events"]:
            return self.events()
        return self.send_json(404, {"message": "page not found"})

    def list(self, q):
        try:
            filters = json.loads(q.get("filters", ["{}"])[0])
        except ValueError:
            return self.send_json(400, {"message": "invalid filter"})
        if isinstance(filters.get("label"), dict):  # the older {"label": {"k=v": true}} form
            filters["label"] = list(filters["label"])
        f = fleet(self.fleet_path)
        ck = json.dumps(filters, sort_keys=True)
        with LOCK:
            body = f["cache"].get(ck)
        if body is None:
            body = json.dumps([c for c in f["containers"] if matches(c, filters)]).encode()
            with LOCK:
                f["cache"][ck] = body
        self.send_body(200, body)

    def inspect(self, ref):
        for c in fleet(self.fleet_path)["containers"]:
            if c["Id"].startswith(ref) or c["Names"][0] == "/" + ref:
                return self.send_json(200, {
                    "Id": c["Id"], "Name": c["Names"][0], "Created": "2023-11-14T22:13:20Z",
                    "State": {"Status": "running", "Running": True, "Paused": False, "Restarting": False,
                              "OOMKilled": False, "Dead": False, "Pid": 4242, "ExitCode": 0, "Error": "",
                              "StartedAt": "2023-11-14T22:13:21Z", "FinishedAt": "0001-01-01T00:00:00Z"},
                    "Image": c["ImageID"], "Config": {"Image": c["Image"], "Labels": c["Labels"]},
                    "HostConfig": c["HostConfig"], "NetworkSettings": c["NetworkSettings"],
                    "Mounts": []})
        return self.send_json(404, {"message": f"No such container: {ref}"})

    def events(self):
        # Nothing happens on this host: the stream stays open, empty, until either side ends.
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Api-Version", API)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        while not STOP.wait(1.0):
            pass
        self.close_connection = True

    do_GET = handle_any
    do_HEAD = handle_any
    do_POST = handle_any
    do_DELETE = handle_any


def main():
    global API
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sock, Handler.fleet_path = sys.argv[1], sys.argv[2]
    API = dockerfake.api_option(sys.argv, API)
    try:
        dockerfake.serve(sock, Handler)
    finally:
        STOP.set()


if __name__ == "__main__":
    main()
