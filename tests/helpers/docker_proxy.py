# A Docker endpoint for the tests: a unix socket that passes every connection on to the real daemon's.
# LOG gets a line per request a client sends ("GET /v1.41/containers/json?..."). While FLAG exists,
# what the daemon sends on an event stream (GET .../events) is read and thrown away: the stream stays
# open and looks healthy, but its events are lost. While CUT exists (optional), the first request whose
# line ("POST /v1.41/containers/create?name=...") matches the regular expression it holds is cut: its
# connection closed with nothing passed on (the client sees a connection that answered nothing), CUT
# removed, and "cut LINE" written to LOG.
#   python3 docker_proxy.py SOCKET DAEMON_SOCKET FLAG LOG [CUT]
import os, re, socket, sys, threading

path, daemon, flag, log = sys.argv[1:5]
cut = sys.argv[5] if len(sys.argv) > 5 else None
lock = threading.Lock()
request_line = re.compile(rb"(?:^|\r\n)((?:GET|POST|PUT|DELETE|HEAD) [^ \r\n]+) HTTP/1\.[01]\r\n")


def note(s):
    with lock, open(log, "a") as f:
        f.write(s + "\n")


def close(*socks):
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def cut_now(line):
    """Whether this request is the one CUT names (then CUT goes: one request is cut)."""
    if cut is None:
        return False
    with lock:
        try:
            with open(cut) as f:
                pattern = f.read().strip()
        except OSError:
            return False
        if not pattern or not re.search(pattern, line):
            return False
        os.unlink(cut)
    note("cut " + line)
    return True


def upstream(c, d, state):
    try:
        while True:
            data = c.recv(65536)
            if not data:
                break
            for m in request_line.finditer(data):
                line = m.group(1).decode("latin-1")
                if cut_now(line):
                    close(c, d)
                    return
                note(line)
                if line.startswith("GET ") and "/events" in line.split("?")[0]:
                    state["events"] = True
            d.sendall(data)
    except OSError:
        pass
    close(c, d)


def downstream(c, d, state):
    try:
        while True:
            data = d.recv(65536)
            if not data:
                break
            if state["events"] and state["open"] and os.path.exists(flag):
                continue
            c.sendall(data)
            # The stream's headers go through: only what follows them can be lost.
            if state["events"]:
                state["open"] = True
    except OSError:
        pass
    close(c, d)


def serve(c):
    d = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        d.connect(daemon)
    except OSError:
        c.close()
        return
    state = {"events": False, "open": False}
    threading.Thread(target=upstream, args=(c, d, state), daemon=True).start()
    downstream(c, d, state)


try:
    os.unlink(path)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(64)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
