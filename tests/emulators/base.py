"""What every emulated gateway shares: a loopback aiohttp server, request log, faults, clock.

An emulator speaks its gateway's documented protocol over real HTTP on 127.0.0.1. Tests
point a client at `emulator.base_url`, drive virtual time with `advance()`, inject faults
with `inject()`, and read `requests` / `count()` to assert what went over the wire.

Each resource is served (`serve`) by the HTTP methods its document gives it and no other:
another method is answered 405 with the allowed ones, an unknown path 404.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
import json
import time
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from custom_components.ru_sms.providers.segments import GSM7_BASIC, GSM7_EXTENSION

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Fault(StrEnum):
    """Faults any emulator can inject into its next answer(s).

    The answer is lost either before the gateway takes the request (nothing recorded,
    nothing charged) or after (a send is taken and will be delivered): each way of losing
    it comes in both, where both can happen.
    """

    TIMEOUT_BEFORE = "timeout_before"
    """Hang before handling: the request is never processed."""
    TIMEOUT_AFTER = "timeout_after"
    """Handle the request (a send is accepted), then hang instead of answering."""
    DISCONNECT_BEFORE = "disconnect_before"
    """Read the request, then drop the connection without handling it."""
    DISCONNECT_AFTER = "disconnect_after"
    """Handle the request, then drop the connection without an answer."""
    SERVER_ERROR_HTML = "server_error_html"
    """502 with an HTML page from a proxy; the request is not processed."""
    SERVER_ERROR_AFTER = "server_error_after"
    """Handle the request (a send is accepted), then answer 500 with an HTML page."""
    MALFORMED_BEFORE = "malformed_before"
    """Answer broken JSON without handling the request (the gateway failed first)."""
    MALFORMED = "malformed"
    """Handle the request, then answer broken JSON."""
    EMPTY_BEFORE = "empty_before"
    """Answer 200 with an empty body without handling the request."""
    EMPTY = "empty"
    """Handle the request, then answer 200 with an empty body."""
    SERVICE_UNAVAILABLE = "service_unavailable"
    """503 with `Retry-After` (`retry_after_header`); the request is not processed."""
    TOO_MANY_REQUESTS = "too_many_requests"
    """429 with `Retry-After` (`retry_after_header`); the request is not processed."""
    EXPIRED_SESSION = "expired_session"
    """The gateway's own answer for an expired session (where it has sessions)."""
    RATE_LIMIT = "rate_limit"
    """The gateway's own rate-limit error."""
    NO_MONEY = "no_money"
    """The gateway's own not-enough-money error."""
    STALE_CONNECTION = "stale_connection"
    """Close the connection without reading the request, as a gateway does with a
    kept-alive connection it dropped just as the client reused it."""


LOST_BEFORE_TAKEN = frozenset(
    {
        Fault.TIMEOUT_BEFORE,
        Fault.DISCONNECT_BEFORE,
        Fault.SERVER_ERROR_HTML,
        Fault.MALFORMED_BEFORE,
        Fault.EMPTY_BEFORE,
        Fault.SERVICE_UNAVAILABLE,
        Fault.TOO_MANY_REQUESTS,
        Fault.STALE_CONNECTION,
    }
)
"""Faults that lose the answer before the gateway took the request."""
LOST_AFTER_TAKEN = frozenset(
    {
        Fault.TIMEOUT_AFTER,
        Fault.DISCONNECT_AFTER,
        Fault.SERVER_ERROR_AFTER,
        Fault.MALFORMED,
        Fault.EMPTY,
    }
)
"""Faults that lose the answer after the gateway took the request."""
MALFORMED_ANSWER = '{"id": 12, "cnt"'
"""The broken JSON of `Fault.MALFORMED` and `Fault.MALFORMED_BEFORE`."""


GATEWAY_FAULTS = frozenset({Fault.EXPIRED_SESSION, Fault.RATE_LIMIT, Fault.NO_MONEY})
"""Faults the gateway-specific handler answers itself (see `take_fault`)."""


@dataclass
class RecordedRequest:
    """One request the emulator received."""

    method: str
    path: str
    form: dict[str, str]
    query: dict[str, str]
    raw_body: bytes
    at: float
    multi: list[tuple[str, str]] = field(default_factory=list)
    """Every form pair in order (the query's, then the body's), for repeated keys."""
    target: str = ""
    """The request target as it came over the wire (path and raw query)."""
    body: list[tuple[str, str]] = field(default_factory=list)
    """The pairs of the body alone."""


class EmulatedGateway:
    """Base of the emulated gateways: subclasses add routes in `setup_routes`."""

    default_charset = "utf-8"
    """How a request without `charset=utf-8` in it is decoded (the real gateways differ)."""
    paths_any_case = False
    """Whether paths are matched in any case (an ASP.NET server: `user/sessionId`)."""
    max_target = 8190
    """The longest request target (path and query) taken; a longer one gets 414, as a
    web server in front of a gateway answers it (nginx's default length)."""

    def __init__(self) -> None:
        """Build the application; call `start()` to listen."""
        self.app = web.Application(middlewares=[self._middleware])
        self.resources: dict[str, tuple[frozenset[str], Handler]] = {}
        """Served paths: the methods each is taken by, and its handler."""
        self.requests: list[RecordedRequest] = []
        self.faults: deque[tuple[Fault, str | None]] = deque()
        self.hang_seconds = 5.0
        self.retry_after_header = "30"
        """`Retry-After` of `Fault.SERVICE_UNAVAILABLE` and `Fault.TOO_MANY_REQUESTS`
        (seconds or an HTTP date)."""
        self.answer_delay = 0.0
        """Seconds (real) before a request is read: a gateway far away."""
        self.record_delay = 0.0
        """Seconds (virtual) before a taken message shows in the gateway's records
        (status, reports, statistics): a gateway slow to record what it took."""
        self.breaches: list[str] = []
        """Rate-limit rules a client broke: tests assert this stays empty."""
        self._offset = 0.0
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.setup_routes()
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)

    def setup_routes(self) -> None:
        """Serve the gateway's resources (`serve`), or add routes to `self.app`."""
        raise NotImplementedError

    def serve(self, path: str, handler: Handler, methods: tuple[str, ...]) -> None:
        """Answer `path` (absolute) by `methods` (`("GET", "POST")`); 405 for any other."""
        self.resources[path] = (frozenset(methods), handler)

    def resource(self, path: str) -> tuple[frozenset[str], Handler] | None:
        """What serves `path` (in any case when `paths_any_case`), or None."""
        found = self.resources.get(path)
        if found is None and self.paths_any_case:
            folded = path.lower()
            found = next((r for p, r in self.resources.items() if p.lower() == folded), None)
        return found

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if len(request.raw_path) > self.max_target:
            return web.Response(
                status=414,
                text="<html><head><title>414 Request-URI Too Large</title></head></html>",
                content_type="text/html",
            )
        found = self.resource(request.path)
        if found is None:
            return web.Response(status=404, text="Not Found")
        methods, handler = found
        if request.method not in methods:
            # What the document does not list is refused, as a web server refuses it.
            return web.Response(
                status=405, text="Method Not Allowed", headers={"Allow": ", ".join(sorted(methods))}
            )
        return await handler(request)

    # -- lifecycle --------------------------------------------------------------------

    async def start(self, path: str = "/") -> str:
        """Listen on a free loopback port; returns the base URL (ending with `/`)."""
        # No access log: it is the gateway's, and would write a GET's query (credentials).
        # Longer lines are read, to be answered 414 (`max_target`) rather than a traceback.
        self._runner = web.AppRunner(
            self.app,
            handler_cancellation=True,
            shutdown_timeout=0.1,
            access_log=None,
            max_line_size=1 << 20,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.base_url = f"http://127.0.0.1:{port}{path}"
        return self.base_url

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- time -------------------------------------------------------------------------

    def now(self) -> float:
        """The emulator's clock (unix seconds), moved on by `advance`."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward: delivery states and rate windows follow."""
        self._offset += seconds

    # -- faults and bookkeeping -------------------------------------------------------

    def inject(self, fault: Fault, path: str | None = None, times: int = 1) -> None:
        """Make the next `times` requests (to `path`, or any) fail with `fault`."""
        for _ in range(times):
            self.faults.append((fault, path))

    def take_fault(self, path: str, kinds: frozenset[Fault] = GATEWAY_FAULTS) -> Fault | None:
        """Pop the next injected fault of `kinds` that applies to `path`."""
        for item in list(self.faults):
            fault, where = item
            if fault in kinds and (where is None or path.endswith(where)):
                self.faults.remove(item)
                return fault
        return None

    def count(self, path: str | None = None) -> int:
        """Requests received (to paths ending with `path`)."""
        return sum(1 for r in self.requests if path is None or r.path.endswith(path))

    def first_request_since(self, at: float) -> RecordedRequest | None:
        """The first request recorded at or after `at` (looking back from the newest)."""
        found = None
        for request in reversed(self.requests):
            if request.at < at:
                break
            found = request
        return found

    def reset_counts(self) -> None:
        """Forget the request log."""
        self.requests.clear()

    def breach(self, rule: str) -> None:
        """Record a broken rate-limit rule."""
        self.breaches.append(rule)

    # -- plumbing ---------------------------------------------------------------------

    def decode_form(self, raw: bytes, query: str) -> tuple[list[tuple[str, str]], ...]:
        """Decode a request's query and body as the gateway does: utf-8 only when asked for."""
        probe = raw + b"&" + query.encode()
        asked_utf8 = b"charset=utf-8" in probe.lower() or b"charset=utf8" in probe.lower()
        charset = "utf-8" if asked_utf8 else self.default_charset
        in_query = parse_qsl(query, keep_blank_values=True, encoding=charset, errors="replace")
        in_body = parse_qsl(
            raw.decode("latin-1"), keep_blank_values=True, encoding=charset, errors="replace"
        )
        return in_query, in_body

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        raw = await request.read()
        in_query, in_body = self.decode_form(raw, request.query_string)
        pairs = in_query + in_body
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            form=dict(pairs),
            query=dict(request.query),
            raw_body=raw,
            at=self.now(),
            multi=pairs,
            body=in_body,
            target=request.raw_path,
        )
        self.requests.append(record)
        request["form"] = record.form
        request["multi"] = pairs
        transport = self.take_fault(
            request.path,
            frozenset(Fault) - GATEWAY_FAULTS,
        )
        if transport is Fault.TIMEOUT_BEFORE:
            await asyncio.sleep(self.hang_seconds)
        if transport in (Fault.STALE_CONNECTION, Fault.DISCONNECT_BEFORE):
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if transport is Fault.SERVER_ERROR_HTML:
            return web.Response(
                status=502,
                text="<html><body><h1>502 Bad Gateway</h1>nginx</body></html>",
                content_type="text/html",
            )
        if transport in (Fault.SERVICE_UNAVAILABLE, Fault.TOO_MANY_REQUESTS):
            status = 503 if transport is Fault.SERVICE_UNAVAILABLE else 429
            return web.Response(
                status=status,
                text=f"<html><body><h1>{status}</h1></body></html>",
                content_type="text/html",
                headers={"Retry-After": self.retry_after_header},
            )
        if transport is Fault.MALFORMED_BEFORE:
            return web.Response(status=200, text=MALFORMED_ANSWER, content_type="application/json")
        if transport is Fault.EMPTY_BEFORE:
            return web.Response(status=200, text="", content_type="application/json")
        response = await handler(request)
        if transport is Fault.TIMEOUT_AFTER:
            await asyncio.sleep(self.hang_seconds)
        if transport is Fault.DISCONNECT_AFTER:
            assert request.transport is not None
            request.transport.close()
            return response
        if transport is Fault.SERVER_ERROR_AFTER:
            return web.Response(
                status=500,
                text="<html><body><h1>500 Internal Server Error</h1></body></html>",
                content_type="text/html",
            )
        if transport is Fault.MALFORMED:
            return web.Response(status=200, text=MALFORMED_ANSWER, content_type="application/json")
        if transport is Fault.EMPTY:
            return web.Response(status=200, text="", content_type="application/json")
        return response

    def recorded(self, taken_at: float) -> bool:
        """Whether a message taken at `taken_at` shows in the records yet (`record_delay`)."""
        return self.now() >= taken_at + self.record_delay


def gateway_segments(text: str, *, cut_pairs: bool = False) -> int:
    r"""Parts a gateway bills for `text`, as the documents and the provider notes count them.

    GSM-7: 160 septets in one SMS, 153 per part when split, an extension character
    (`^{}\[~]|€`) taking two; anything else makes the text UCS-2: 70 units in one SMS, 67
    per part, a character beyond the BMP (most emoji) taking two. A pair never straddles
    two parts (the provider notes), unless `cut_pairs`: a plain count of units, a reading
    the REST documents (silent on pairs) leave open. Written apart from the client's
    counting, which it checks.
    """
    gsm = all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)
    pair = GSM7_EXTENSION if gsm else frozenset(ch for ch in text if ord(ch) > 0xFFFF)
    single, part = (160, 153) if gsm else (70, 67)
    sizes = [2 if ch in pair else 1 for ch in text]
    if sum(sizes) <= single:
        return 1
    if cut_pairs:
        return -(-sum(sizes) // part)
    parts, room = 1, part
    for size in sizes:
        if size > room:
            parts, room = parts + 1, part
        room -= size
    return parts


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON answer with the gateways' content type."""
    return web.Response(
        status=status,
        text=json.dumps(data, ensure_ascii=False),
        content_type="application/json",
        charset="utf-8",
    )
