"""A tiny HTTP server in a thread, on a loopback port, for the prototype's outbound tests:
an echo endpoint (answers what it was sent, plus the headers it got), a slow one, a huge
one, redirects, and an error."""

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _answer(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if body is not None:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = json.loads(self.rfile.read(length) or b"null")
        if self.path.startswith("/echo"):
            answer = {"received": sent, "authorization": self.headers.get("Authorization")}
            self._answer(200, json.dumps(answer).encode())
        elif self.path == "/slow":
            time.sleep(3)
            self._answer(200, b"{}")
        elif self.path == "/huge":
            self._answer(200, b'{"x": "' + b"a" * 3_000_000 + b'"}')
        elif self.path == "/huge-chunked":
            # No Content-Length: the cap must hold while reading.
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"a" * 65536)
        elif self.path == "/redirect-other":
            self._answer(302, b"", {"Location": "http://evil.example.com/steal"})
        elif self.path == "/redirect-same":
            self._answer(307, b"", {"Location": "/echo"})
        elif self.path == "/fail":
            self._answer(500, b'{"error": "model crashed"}')
        else:
            self._answer(404, b"{}")


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A client that stopped reading (the size cap, a timeout) breaks the pipe: expected.
        pass


@contextmanager
def serve():
    server = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
