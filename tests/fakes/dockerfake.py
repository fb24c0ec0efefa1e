"""What the fake Docker daemons share: the request handler's base, the --api option, and the
threaded HTTP server on a unix socket they serve from."""
import os
import socketserver
from http.server import BaseHTTPRequestHandler


class BaseHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, as Docker's clients expect; no access log."""
    protocol_version = "HTTP/1.1"

    def address_string(self):
        return "unix"

    def log_message(self, fmt, *args):
        pass


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def api_option(argv, default):
    """The value of `--api X.Y` in argv, or default."""
    return argv[argv.index("--api") + 1] if "--api" in argv else default


def serve(sock, handler):
    """Serves handler on the unix socket sock (a stale socket file is replaced) until stopped."""
    if os.path.exists(sock):
        os.unlink(sock)
    Server(sock, handler).serve_forever()
