"""A tiny HTTP server that misbehaves on demand, to make wrk print every kind of line.

wrk's text output changes with what the server does: units move from us to m as
responses slow down, the "Socket errors" line appears only when a connection fails,
the "Non-2xx or 3xx" line only when a status is 400 or more. Real fixtures of each need
a server that can be slow, fail or cut connections; this one does, with the standard
library only. It listens on 127.0.0.1 and prints "port N" on its first stdout line
(pass --port 0 to let the system choose).

    python tests/fakes/slowserver.py --port 0 --delay 1.0
    python tests/fakes/slowserver.py --port 0 --status 500
    python tests/fakes/slowserver.py --port 0 --close reset
    python tests/fakes/slowserver.py --port 0 --stop-after 1.5
"""

import argparse
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b'{"message": "hello"}'


class Server(ThreadingHTTPServer):
    daemon_threads = True
    # wrk opens all its connections at once; the default backlog of 5 would make
    # the first second of a fast run a measurement of SYN retries
    request_queue_size = 1024

    def handle_error(self, request, client_address) -> None:
        # wrk closes its connections mid-request when its run ends; the traceback that
        # socketserver prints for each would bury the capture's output
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def __init__(self, address, delay_s: float, status: int, close: str):
        super().__init__(address, Handler)
        self.delay_s = delay_s
        self.status = status
        self.close = close


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as wrk expects
    # headers and body go out in two writes; with Nagle's algorithm the second waits
    # for the client's delayed ACK, and every response would take 40 ms
    disable_nagle_algorithm = True
    server: Server

    def do_GET(self) -> None:
        if self.server.delay_s > 0:
            time.sleep(self.server.delay_s)
        if self.server.close == "reset":
            # SO_LINGER with a zero timeout makes close() send RST: wrk's read() then
            # fails with ECONNRESET, which it counts as a read error (a clean FIN
            # would only make it reconnect silently)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        if self.server.close == "after":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args) -> None:  # one line per request is noise
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before answering")
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--close", choices=["none", "after", "reset"], default="none",
                        help="after: answer with Connection: close; reset: answer nothing, "
                             "reset the connection")
    parser.add_argument("--stop-after", type=float, default=None,
                        help="seconds after which the server stops listening and exits, so "
                             "new connections are refused")
    parser.add_argument("--lifetime", type=float, default=600.0,
                        help="exit after this many seconds whatever happens")
    args = parser.parse_args(argv)

    server = Server(("127.0.0.1", args.port), args.delay, args.status, args.close)
    print(f"port {server.server_address[1]}", flush=True)
    limit = args.lifetime if args.stop_after is None else min(args.lifetime, args.stop_after)
    # a forgotten server must not run forever: shut down after `limit` seconds
    timer = threading.Timer(limit, server.shutdown)
    timer.daemon = True
    timer.start()
    try:
        server.serve_forever(poll_interval=0.05)
    finally:
        timer.cancel()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
