"""A small local HTTP server the vendor sandboxes build on: threads, ephemeral port, request log, injected faults.

Each vendor's `sandbox.py` subclasses `SandboxServer` and implements `handle()`; the demo and the end-to-end tests
start them on 127.0.0.1 with port 0 and read `url`. `latency_ms` delays every answer, as a distant vendor would: the
benchmarks measure request counts and concurrency against it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class SandboxRequest:
    """One request as the sandbox saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    client_ip: str

    def param(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter, matched ignoring case (some PSAs' names are case-insensitive)."""
        for key, values in self.query.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return default

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class SandboxResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> SandboxResponse:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})


@dataclass
class Fault:
    """An injected misbehaviour for the next matching request(s)."""

    status: int | None = None  # answer with this status instead
    drop: bool = False  # close the connection without answering
    truncate_to: int | None = None  # send only this many bytes of the real body
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    path_prefix: str = ""
    method: str | None = None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate sends; with Nagle's algorithm on, every answer would wait ~40 ms for the
    # client's delayed ACK. TCP_NODELAY keeps a sync of thousands of calls fast.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return  # the sandbox keeps its own request log; stderr stays quiet during tests

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = SandboxRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
            client_ip=self.client_address[0],
        )
        sandbox = self.server.sandbox
        fault = sandbox._take_fault(request)
        sandbox._log(request)
        if sandbox.latency_seconds:
            # Each request waits in its own handler thread, so concurrent clients overlap their waits, as on a WAN.
            time.sleep(sandbox.latency_seconds)
        if fault is not None and fault.drop:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault is not None and fault.status is not None:
            response = SandboxResponse(fault.status, fault.body, fault.headers)
        else:
            try:
                response = sandbox.handle(request)
            except Exception as error:  # a sandbox bug must show up as a 500, like a real server's would
                response = SandboxResponse(500, f"sandbox error: {error!r}".encode())
        body = response.body
        declared = len(body)
        if fault is not None and fault.truncate_to is not None:
            body = body[: fault.truncate_to]
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(declared))
        if fault is not None and fault.truncate_to is not None:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A hook told of a routed write before it is applied: a response it returns is sent instead, and nothing changes.
BeforeWrite = Callable[[SandboxRequest], SandboxResponse | None]
# A hook told of a routed write after it is applied, before its response is sent.
AfterWrite = Callable[[SandboxRequest, SandboxResponse], None]
# A hook told of a routed read before it is answered: a test changes the account there, as a person in the PSA might
# between two pages of a list, or between a list and a push.
BeforeRead = Callable[[SandboxRequest], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: SandboxServer


class SandboxServer:
    """Base class: subclasses implement `handle(request) -> SandboxResponse`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, latency_ms: float = 0) -> None:
        if latency_ms < 0:
            raise ValueError(f"latency_ms must be 0 or more, not {latency_ms}")
        self.latency_seconds = latency_ms / 1000
        self._server = _Server((host, port), _Handler)
        self._server.sandbox = self
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()
        self.requests: list[SandboxRequest] = []
        # Fault-injection tests stop a client at a chosen write through these (kill it before the write lands, or
        # after it landed but before the client heard back). They run outside any state lock, so a hook may block.
        self.before_write: BeforeWrite | None = None
        self.after_write: AfterWrite | None = None
        self.before_read: BeforeRead | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        raise NotImplementedError

    def is_write(self, request: SandboxRequest) -> bool:
        """Whether a request could change state; a vendor whose reads use POST (queries sent as POST) overrides it."""
        return request.method in WRITE_METHODS

    def hooked(self, request: SandboxRequest, answer: Callable[[], SandboxResponse]) -> SandboxResponse:
        """`answer()` for a routed request, with the test's hooks around it (see `before_write` and the others)."""
        write = self.is_write(request)
        if not write and self.before_read is not None:
            self.before_read(request)
        if write and self.before_write is not None:
            instead = self.before_write(request)
            if instead is not None:
                return instead
        response = answer()
        if write and self.after_write is not None:
            self.after_write(request, response)
        return response

    def inject(self, fault: Fault, times: int = 1) -> None:
        """Misbehave for the next `times` requests that match the fault's method and path prefix."""
        with self._lock:
            self._faults.extend(fault for _ in range(times))

    def _take_fault(self, request: SandboxRequest) -> Fault | None:
        with self._lock:
            for fault in list(self._faults):
                if request.path.startswith(fault.path_prefix) and fault.method in (None, request.method):
                    self._faults.remove(fault)
                    return fault
        return None

    def _log(self, request: SandboxRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def writes(self) -> list[SandboxRequest]:
        """Requests that could change state (for asserting how many writes a sync made)."""
        return [r for r in self.requests if self.is_write(r)]

    def start(self) -> Self:
        # The default 0.5 s poll makes every stop() wait half a second; tests start dozens of sandboxes.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Run in the foreground (the `connector sandbox` command)."""
        self._server.serve_forever()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
