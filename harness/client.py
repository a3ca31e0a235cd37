"""HTTP client for the API under test that records every attempt so failures are reproducible.

Suites assert on ``Response`` objects; each one carries the full list of ``Exchange`` attempts (retries
included), already redacted, plus a copy-pasteable curl line, so an assertion message or an Allure step is
enough to replay the request by hand without ever exposing an API key.

One request goes prepare -> send (with retries) -> record, as in requests' Session: `ApiClient._prepare` encodes
the params once (a `requests.PreparedRequest`: header checks, body length) and builds the redacted request half of
the record once; `ApiClient._send` sends the same prepared request on every attempt through `harness.transport`
(a kept-alive urllib3 pool); `_record` decodes and parses each answer once and scrubs it once. A request that gets
no HTTP answer at all raises `TransportError`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import random
import re
import shlex
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import EllipsisType
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, urlsplit

import requests
import urllib3
from requests.structures import CaseInsensitiveDict
from requests.utils import default_headers, get_encoding_from_headers

from harness.redaction import redact_headers, register_secret, scrub, scrub_obj
from harness.transport import RETRYABLE_ERRORS, TRANSPORT_ERRORS, Transport, to_requests_response
from wire import codec

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# What requests' Session sends unless told otherwise (User-Agent, Accept-Encoding, Accept, Connection: keep-alive).
_REQUESTS_DEFAULT_HEADERS = default_headers()
API_KEY_ENV = "HARNESS_API_KEY"
RETRY_STATUSES = frozenset({429, 503})
DESCRIBE_BODY_LIMIT = 4096

# Methods whose parameters travel in the query string (Stripe puts GET/DELETE params there).
_QUERY_METHODS = frozenset({"GET", "DELETE", "HEAD", "OPTIONS"})
# Methods safe to repeat without an Idempotency-Key.
# Safe or idempotent by HTTP semantics (RFC 9110 §9.2; QUERY is safe by its draft): retried without a key.
_IDEMPOTENT_METHODS = frozenset({"GET", "DELETE", "HEAD", "OPTIONS", "PUT", "TRACE", "QUERY"})
# Methods that only read (RFC 9110 "safe"); every other request counts in `ApiClient.writes`.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "QUERY"})
# Headers curl adds by itself or that only describe the transport; replaying them adds noise.
_CURL_SKIP_HEADERS = frozenset(
    {"authorization", "user-agent", "accept-encoding", "accept", "connection", "content-length", "host"}
)


# A URL that requests' own preparation (`PreparedRequest.prepare_url`: parse, percent-encode, requote) would leave
# exactly as it is: a lower-case scheme and host, a path, only characters a URI allows, every "%" the start of an
# upper-case escape, no fragment. Our codec writes such URLs, so they go out as built instead of being parsed and
# re-encoded character by character. Each test is one scan for a character class (fast on URLs of many KB).
_ROOT = re.compile(r"https?://[a-z0-9.\-]+(?::[0-9]+)?/")
_OUTSIDE_URI = re.compile(r"[^A-Za-z0-9\-._~:/?@!$&'()*+,;=%]")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-F]{2})")
# Escapes of unreserved characters, which requests decodes (%41 -> A), and dot segments, which it removes.
_UNRESERVED_ESCAPE = re.compile(r"%(?:3[0-9]|[46][1-9A-F]|[57][0-9A]|2[DE]|5F|7E)")
_DOT_SEGMENT = re.compile(r"/\.\.?(?:/|\?|$)")


def _prepared_url(url: str) -> str:
    """`url` as requests would send it: as it is when nothing would change, else through requests' own
    preparation (which raises ``requests.InvalidURL`` or ``MissingSchema`` for a URL it cannot send)."""
    root = _ROOT.match(url)
    if (root is not None and not _OUTSIDE_URI.search(url, root.end()) and not _BAD_ESCAPE.search(url)
            and not _UNRESERVED_ESCAPE.search(url) and not _DOT_SEGMENT.search(url) and not url.endswith("?")):
        return url
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, None)
    return prepared.url or url


def _json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _truncate(text: str, limit: int) -> str:
    """Keep assertion messages readable when a list endpoint returns a huge page."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n... ({len(text) - limit} more characters truncated)"


@dataclass
class Exchange:
    """One HTTP attempt as sent and received, redacted so it can go straight into a report."""

    method: str
    url: str
    path: str
    params: dict[str, Any]
    request_headers: dict[str, str]
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    duration_ms: float = 0.0
    attempt: int = 1
    error: str | None = None
    idempotency_key: str | None = None
    retried: bool = False
    # Exact body text sent (scrubbed); kept so curl() replays the bytes rather than a re-encoding.
    request_body: str | None = None
    # True when the caller supplied ``raw_body``: it may be deliberately malformed, so curl sends it verbatim.
    raw_body: bool = False
    # The contract's operation ID when the caller named it (``RetrieveInvoice``); None: only the path says.
    operation_id: str | None = None

    @property
    def operation(self) -> str:
        """``POST /v1/invoices`` — the short name used in step titles and messages."""
        return f"{self.method} {self.path}"

    def curl(self) -> str:
        """A shell line that replays this request; the key comes from ``$HARNESS_API_KEY``, never inline."""
        parts: list[str] = ["curl", "-sS"]
        if any(ch in self.url for ch in "[]{}"):
            parts.append("-g")  # stop curl's URL globbing from eating Stripe's bracket params
        has_body = self.request_body is not None and self.request_body != ""
        if self.method != "GET" and not (self.method == "POST" and has_body):
            parts += ["-X", self.method]
        auth = next((v for k, v in self.request_headers.items() if k.lower() == "authorization"), None)
        if auth is not None:
            scheme = auth.split(" ", 1)[0].lower()
            if scheme == "bearer":
                parts += ["-H", f'"Authorization: Bearer ${API_KEY_ENV}"']
            elif scheme == "basic":
                parts += ["-u", f'"${API_KEY_ENV}:"']
            else:
                parts += ["-H", shlex.quote(f"Authorization: {auth}")]
        content_type = next((v for k, v in self.request_headers.items() if k.lower() == "content-type"), None)
        form_pairs = has_body and not self.raw_body and (content_type or "").startswith(FORM_CONTENT_TYPE)
        for name, value in self.request_headers.items():
            lowered = name.lower()
            if lowered in _CURL_SKIP_HEADERS or (lowered == "content-type" and form_pairs):
                continue
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if has_body:
            assert self.request_body is not None
            if form_pairs:
                for key, value in parse_qsl(self.request_body, keep_blank_values=True):
                    # curl url-encodes only the value of name=value; the name must arrive pre-encoded.
                    parts += ["--data-urlencode", shlex.quote(f"{quote(key, safe='[]')}={value}")]
            else:
                parts += ["--data-binary", shlex.quote(self.request_body)]
        parts.append(shlex.quote(self.url))
        return " ".join(parts)

    def summary(self) -> str:
        """One line: operation, outcome, timing and attempt number."""
        outcome = f"transport error: {self.error}" if self.status is None else str(self.status)
        suffix = ", retried" if self.retried else ""
        return f"{self.operation} -> {outcome} ({self.duration_ms:.0f} ms, attempt {self.attempt}{suffix})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for attachments (already redacted; scrubbed again as a belt-and-braces step)."""
        data = dataclasses.asdict(self)
        data["curl"] = self.curl()
        return scrub_obj(data)


class TransportError(Exception):
    """The request never got an HTTP answer (a transport failure: refused, reset, timed out), even after retries.
    Not an API error: a server's error answer is a `Response` with its status."""

    def __init__(self, exchanges: list[Exchange]) -> None:
        self.exchanges = list(exchanges)
        last = self.exchanges[-1]
        self.method = last.method
        self.path = last.path
        self.curl = last.curl()
        attempts = len(self.exchanges)
        message = (
            f"{last.operation} failed after {attempts} attempt{'s' if attempts != 1 else ''}: {last.error}\n"
            f"curl: {self.curl}"
        )
        super().__init__(scrub(message))


class NotJsonError(AssertionError):
    """The API answered with something other than a JSON object where one was required."""


@dataclass
class Response:
    """The final answer to a logical request, with every attempt that led to it."""

    status: int
    headers: CaseInsensitiveDict[str]
    body: Any
    exchanges: list[Exchange]
    _answer: urllib3.BaseHTTPResponse | None = field(default=None, repr=False)
    _request: requests.PreparedRequest | None = field(default=None, repr=False)

    @property
    def raw(self) -> requests.Response | None:
        """The answer as a `requests.Response`, for tools that validate one (Schemathesis); built on first use."""
        if self._answer is None or self._request is None:
            return None
        cached = self.__dict__.get("_raw")
        if cached is None:
            cached = self.__dict__["_raw"] = to_requests_response(self._request, self._answer)
        return cached

    @property
    def exchange(self) -> Exchange:
        """The final attempt (the one this response came from)."""
        return self.exchanges[-1]

    @property
    def retries(self) -> int:
        """How many extra attempts were needed."""
        return len(self.exchanges) - 1

    @property
    def request_id(self) -> str | None:
        """Stripe's ``Request-Id``, the handle support/log searches need."""
        return self.headers.get("Request-Id")

    @property
    def json(self) -> dict[str, Any]:
        """The body as a JSON object; fails with the full exchange description if it is not one."""
        if not isinstance(self.body, dict):
            kind = type(self.body).__name__
            raise NotJsonError(f"expected a JSON object body, got {kind}\n{self.describe()}")
        return self.body

    def describe(self) -> str:
        """Human-readable account of the exchange, meant for assertion messages."""
        last = self.exchange
        lines = [f"{last.operation} -> {self.status}"]
        if self.request_id:
            lines[0] += f" (request-id {self.request_id})"
        if self.retries:
            lines.append("attempts:")
            lines += [f"  {ex.summary()}" for ex in self.exchanges]
        if last.idempotency_key:
            lines.append(f"idempotency-key: {last.idempotency_key}")
        lines.append("request params:")
        lines.append(_json_text(last.params))
        lines.append("response body:")
        body = last.body
        text = body if isinstance(body, str) else _json_text(body)
        lines.append(_truncate(text, DESCRIBE_BODY_LIMIT))
        lines.append("curl:")
        lines.append(last.curl())
        return scrub("\n".join(lines))

    def __repr__(self) -> str:
        # The dataclass default would dump headers/body; keep reprs (e.g. in pytest output) short.
        return f"<Response {self.exchange.operation} -> {self.status}, retries={self.retries}>"


@dataclass(frozen=True)
class _Answer:
    """One HTTP answer as read off the wire: the status, the headers, the body as text (decoded once)."""

    status: int
    headers: CaseInsensitiveDict[str]
    text: str
    wire: urllib3.BaseHTTPResponse

    @classmethod
    def read(cls, wire: urllib3.BaseHTTPResponse) -> _Answer:
        """Decode the body with the charset the headers name (as requests would; UTF-8 when they name none)."""
        headers = CaseInsensitiveDict(wire.headers)
        data = wire.data or b""
        try:
            text = str(data, get_encoding_from_headers(headers) or "utf-8", errors="replace")
        except LookupError:  # an unknown charset name
            text = str(data, "utf-8", errors="replace")
        return cls(wire.status, headers, text, wire)


def _parse_body(content_type: str, text: str) -> Any:
    """JSON when the server says so (or it parses as such), else text; None for an empty body."""
    if not text:
        return None
    if "json" in content_type.lower() or text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _decode_for_record(form: str) -> dict[str, Any]:
    """Nested params via the codec; deliberately malformed input falls back to the flat pairs as sent."""
    if not form:
        return {}
    try:
        return codec.decode_query(form)
    except (codec.FormError, UnicodeError):
        flat: dict[str, Any] = {}
        for key, value in parse_qsl(form, keep_blank_values=True):
            if key in flat:
                previous = flat[key]
                flat[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
            else:
                flat[key] = value
        return flat


@dataclass(frozen=True)
class _Call:
    """One logical request, prepared once: what goes on the wire, and the redacted request half of the record
    that every attempt's `Exchange` shares."""

    request: requests.PreparedRequest
    record: dict[str, Any]
    retryable: bool
    attempts: int


def _record_request(prepared: requests.PreparedRequest, method: str, path: str, params: Mapping[str, Any] | None,
                    query: str | None, form: str | None, raw_body: bytes | None) -> dict[str, Any]:
    """The request half of an `Exchange`, redacted. Each piece of data is scrubbed once: the params in their wire
    form, whose encoding (the query string or form body, built once by `_prepare`) is recorded as it is unless a
    secret was among them; the rest of the URL; a raw body, as sent and as decoded."""
    url = prepared.url or ""
    body_text: str | None = form
    if params:
        wire = codec.wire_form(params)
        recorded = scrub_obj(wire)
        clean = recorded == wire
        if query and "?" not in path:  # the query string is exactly the params' encoding
            head, sep, tail = url.partition("?")
            url = f"{scrub(head)}{sep}{tail if clean else scrub(tail)}"
        else:
            url = scrub(url)
        if form is not None and not clean:
            body_text = scrub(form)
    else:
        url = scrub(url)
        raw_text = None if raw_body is None else raw_body.decode("utf-8", errors="replace")
        if raw_text is not None:
            body_text = scrub(raw_text)
        if method in _QUERY_METHODS:
            recorded = scrub_obj(_decode_for_record(urlsplit(prepared.url or "").query))
        elif prepared.headers.get("Content-Type", "").startswith(FORM_CONTENT_TYPE):
            recorded = scrub_obj(_decode_for_record(raw_text if raw_text is not None else form or ""))
        else:
            recorded = {}
    return {"method": method, "url": url, "path": urlsplit(url).path, "params": recorded,
            "request_headers": redact_headers(prepared.headers), "request_body": body_text}


def _record(call: _Call, attempt: int, resp: _Answer | None, error: Exception | None,
            duration_ms: float) -> tuple[Any, Exchange]:
    """The answer's body (parsed once) and the attempt's `Exchange`. The exchange shares the parsed body unless a
    secret had to be scrubbed out of its text; then it holds the scrubbed text, parsed."""
    body = recorded = None
    if resp is not None:
        content_type = resp.headers.get("Content-Type", "")
        body = _parse_body(content_type, resp.text)
        scrubbed = scrub(resp.text)
        recorded = body if scrubbed is resp.text else _parse_body(content_type, scrubbed)
    exchange = Exchange(
        **call.record,
        status=None if resp is None else resp.status,
        response_headers={} if resp is None else redact_headers(resp.headers),
        body=recorded,
        duration_ms=duration_ms,
        attempt=attempt,
        error=None if error is None else scrub(f"{type(error).__name__}: {error}"),
    )
    return body, exchange


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Numeric ``Retry-After`` in seconds; HTTP-date forms are ignored (the API does not send them)."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if math.isnan(seconds) or seconds < 0:
        return None
    return seconds


@dataclass(frozen=True)
class PlannedRequest:
    """One request of a batch for `ApiClient.request_all`: the arguments of `ApiClient.request` a batch may vary
    (a batched POST gets its own idempotency key; the client's API key and retries always apply)."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    operation: str | None = None
    headers: Mapping[str, str] | None = None
    raw_body: bytes | None = None
    content_type: str | None = None


class ApiClient:
    """Session-pooled client that retries throttling/unavailability and records every attempt."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff: float = 0.25,
        max_backoff: float = 5.0,
        on_exchange: Callable[[Exchange], None] | None = None,
        user_agent: str = "stripe-contract-harness",
        default_headers: Mapping[str, str] | None = None,
        concurrency: int = 1,
    ) -> None:
        """
        :param base_url: the target's root, e.g. ``http://127.0.0.1:12111`` (a trailing ``/`` is dropped).
        :param api_key: sent as ``Authorization: Bearer <key>``; ``None`` sends no Authorization header. Registered
            with `harness.redaction`, so it never appears in an exchange, a report or a log.
        :param timeout: seconds, per attempt: how long to wait for the connection and then between bytes of the
            answer (requests' ``timeout``; not a bound on the whole request).
        :param max_retries: how many times one request is sent again after a 429, a 503 or a transport failure
            (so at most ``1 + max_retries`` attempts).
        :param backoff: seconds before the first retry; doubled on each further one (with equal jitter).
        :param max_backoff: seconds, the longest wait between attempts, ``Retry-After`` included.
        :param on_exchange: called with every attempt's `Exchange` (already redacted), retries included.
        :param user_agent: the ``User-Agent`` header.
        :param default_headers: headers sent with every request unless the call overrides them
            (``Stripe-Version``, ``Stripe-Account``).
        :param concurrency: how many requests of one `request_all` batch are in flight at once (1: one after
            another). Each in-flight request holds one kept-alive connection.
        :raises ValueError: `concurrency` is below 1.
        """
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1 (got {concurrency})")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.on_exchange = on_exchange
        self.user_agent = user_agent
        # Sent with every request unless the call overrides them (Stripe-Version, Stripe-Account).
        self.default_headers = dict(default_headers or {})
        register_secret(api_key)
        # Kept-alive connections to base_url (proxy and CA settings read from the environment once). No cookie jar:
        # Stripe's API is stateless, and cookies would make a replayed curl differ from what the test sent.
        self.concurrency = concurrency
        self._transport = Transport(self.base_url, timeout, pool_size=max(4, concurrency))
        # The threads of concurrent batches, made on the first one and shared with `with_key` siblings.
        self._threads: dict[str, ThreadPoolExecutor] = {}
        self._threads_lock = threading.Lock()
        # Counters shared with the `with_key` siblings (one-item lists, so copies share them): writes and requests.
        # A `thread_sibling` counts its own.
        self._writes = [0]
        self._sent = [0]
        self._gates: list[Callable[[], None]] = []
        self._random = random.Random()
        self._random_lock = threading.Lock()

    # -- construction helpers -------------------------------------------------------------------------

    def with_key(self, api_key: str | None) -> ApiClient:
        """A sibling acting as another account: same settings, hook and connection pool."""
        sibling = copy.copy(self)
        sibling.api_key = api_key
        register_secret(api_key)
        return sibling

    def thread_sibling(self) -> ApiClient:
        """A sibling for another thread of the same test: same key, settings, hook, gates, threads and connection
        pool, but `writes` and `sent` counts of its own, so that each thread reuses a read only until it (not the
        other thread) changes something. The two threads must act on objects of their own, as two workers do."""
        sibling = copy.copy(self)
        sibling._writes, sibling._sent = [0], [0]
        return sibling

    def gate(self, before_send: Callable[[], None]) -> None:
        """Call `before_send()` before every attempt, retries included (e.g. to pace requests or stop at a budget;
        it may raise to stop the request unsent); siblings made with `with_key` too."""
        self._gates.append(before_send)

    def pass_gates(self) -> None:
        """Call every `gate` once, as before each of this client's attempts: for a request sent outside the client
        (one it cannot send, such as a header given twice), so that the run's pace and budget count it too. Raises
        what a gate raises (a budget gate skips the test)."""
        for gate in self._gates:
            gate()

    @property
    def writes(self) -> int:
        """How many requests other than reads (GET, HEAD, ...) this client and its `with_key` siblings have sent or
        are sending. While it stays the same, a read's answer still describes the objects only this client changes
        (`suites.machines.ApiCalls` reuses such answers)."""
        return self._writes[0]

    @property
    def sent(self) -> int:
        """How many requests of any method this client and its `with_key` siblings have sent or are sending. While
        it stays the same since a read, nothing has been asked of the server through this client since that read
        (`suites.conftest.snapshot` reuses such a read)."""
        return self._sent[0]

    def close(self) -> None:
        """Release pooled connections and threads (shared with ``with_key`` siblings)."""
        with self._threads_lock:
            threads = self._threads.pop("pool", None)
        if threads is not None:
            threads.shutdown(wait=True)
        self._transport.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- requests ---------------------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Response:
        """GET with params in the query string."""
        return self.request("GET", path, params, **kwargs)

    def post(self, path: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Response:
        """POST with a form-encoded body and (by default) a fresh Idempotency-Key."""
        return self.request("POST", path, params, **kwargs)

    def delete(self, path: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Response:
        """DELETE with params in the query string."""
        return self.request("DELETE", path, params, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        operation: str | None = None,
        idempotency_key: str | Literal[False] | None = None,
        headers: Mapping[str, str] | None = None,
        api_key: str | EllipsisType | None = ...,
        raw_body: bytes | None = None,
        content_type: str | None = None,
        retry: bool = True,
    ) -> Response:
        """Send one logical request, retrying 429/503/transport failures when it is safe to repeat.

        :param path: the path after the base URL (``/v1/invoices/in_123``), optionally with a query string.
        :param params: Stripe-style nested params: the query string of a GET/DELETE, the form body of a POST.
        :param operation: the contract's operation ID when the caller knows it (``RetrieveInvoice``); recorded
            on every `Exchange` so nothing has to match the path against the contract again.
        :param idempotency_key: ``None`` generates one per logical POST; ``False`` sends none (so the POST is
            never retried).
        :param api_key: ``...`` uses the client's key, ``None`` sends no Authorization header, a string acts as
            another account.
        :param raw_body: bytes sent verbatim instead of `params` (possibly malformed on purpose).
        :raises TransportError: no HTTP answer arrived at all, after the retries.
        :raises ValueError: both `params` and `raw_body` were given.
        """
        return self._send(self._prepare(method.upper(), path, params, operation, idempotency_key, headers,
                                        api_key, raw_body, content_type, retry))

    def request_planned(self, planned: PlannedRequest) -> Response:
        """`request` for one `PlannedRequest` (what `request_all` takes several of); same errors."""
        return self.request(planned.method, planned.path, planned.params, operation=planned.operation,
                            headers=planned.headers, raw_body=planned.raw_body, content_type=planned.content_type)

    def request_all(self, planned: Sequence[PlannedRequest]) -> list[Response]:
        """Send a batch of requests whose order does not matter (reads of different objects), up to `concurrency`
        at once, and return their answers in the order given.

        Everything but the wire stays in the calling thread and in the given order: `on_exchange` sees every
        attempt of the first request, then of the second, and so on, once the batch is answered. So a batch is
        recorded, reported and checked exactly as the same requests sent one after another would be; only the
        waiting overlaps (what a target tens of milliseconds away makes worth it).

        :raises TransportError: a request got no HTTP answer after its retries (the first such in the given order,
            once the hook has seen every attempt of the batch).
        """
        calls = [self._prepare(p.method.upper(), p.path, p.params, p.operation, None, p.headers, ..., p.raw_body,
                               p.content_type, True) for p in planned]
        if self.concurrency == 1 or len(calls) < 2:
            return [self._send(call) for call in calls]
        futures = [self._thread_pool().submit(self._send, call, False) for call in calls]
        answers: list[Response] = []
        failed: TransportError | None = None
        for future in futures:
            try:
                answers.append(future.result())
                exchanges = answers[-1].exchanges
            except TransportError as exc:
                failed, exchanges = failed or exc, exc.exchanges
            if self.on_exchange is not None:
                for exchange in exchanges:
                    self.on_exchange(exchange)
        if failed is not None:
            raise failed
        return answers

    def _thread_pool(self) -> ThreadPoolExecutor:
        with self._threads_lock:
            if "pool" not in self._threads:
                self._threads["pool"] = ThreadPoolExecutor(self.concurrency, thread_name_prefix="harness-request")
            return self._threads["pool"]

    # -- internals: prepare -> send (with retries) -> record ----------------------------------------------------

    def _prepare(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        operation: str | None,
        idempotency_key: str | Literal[False] | None,
        headers: Mapping[str, str] | None,
        api_key: str | EllipsisType | None,
        raw_body: bytes | None,
        content_type: str | None,
        retry: bool,
    ) -> _Call:
        """Encode the request once, and build once the redacted record every attempt shares."""
        if raw_body is not None and params:
            raise ValueError("pass either params or raw_body, not both")
        key = self.api_key if api_key is ... else api_key
        register_secret(key)
        with self._threads_lock:
            self._sent[0] += 1
            if method not in _SAFE_METHODS:
                self._writes[0] += 1

        # requests' defaults first (Accept, Accept-Encoding, Connection), as Session.prepare_request merges them.
        send_headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(_REQUESTS_DEFAULT_HEADERS)
        send_headers.update({"User-Agent": self.user_agent, **self.default_headers})
        if key is not None:
            send_headers["Authorization"] = f"Bearer {key}"
        if idempotency_key is None and method == "POST":
            idempotency_key = f"harness-{uuid.uuid4()}"
        if idempotency_key:
            send_headers["Idempotency-Key"] = idempotency_key
        send_headers.update(self.default_headers)
        send_headers.update(headers or {})
        idem = send_headers.get("Idempotency-Key") or None

        url = f"{self.base_url}{path}"
        body: bytes | None = raw_body
        query = form = None
        if raw_body is None and method in _QUERY_METHODS:
            query = codec.encode_query(params) if params else None
            if query:  # brackets escaped, as requests would send them
                url = f"{url}{'&' if '?' in url else '?'}{query.replace('[', '%5B').replace(']', '%5D')}"
        elif raw_body is None:
            form = codec.encode_form(params or {})
            body = form.encode("ascii")
        if body is not None:
            send_headers.setdefault("Content-Type", content_type or FORM_CONTENT_TYPE)
        elif content_type is not None:
            send_headers["Content-Type"] = content_type
        # Prepared without the session's cookie jar and netrc lookup: the target is stateless, and a ~/.netrc entry
        # must never replace the Authorization this request was given.
        prepared = requests.PreparedRequest()
        prepared.prepare_method(method)
        prepared.url = _prepared_url(url)
        prepared.prepare_headers(send_headers)
        prepared.prepare_body(body, None)
        record = _record_request(prepared, method, path, params if raw_body is None else None, query, form,
                                 raw_body)
        record.update(operation_id=operation, idempotency_key=idem, raw_body=raw_body is not None)
        return _Call(prepared, record, retryable=retry and (method in _IDEMPOTENT_METHODS or idem is not None),
                     attempts=1 + (max(self.max_retries, 0) if retry else 0))

    def _send(self, call: _Call, hook: bool = True) -> Response:
        """Send until an answer that is not worth retrying, recording every attempt (and handing it to
        `on_exchange` unless `hook` is False); raises TransportError when the last attempt got no HTTP answer."""
        exchanges: list[Exchange] = []
        for attempt in range(1, call.attempts + 1):
            started = time.perf_counter()
            resp: _Answer | None = None
            error: Exception | None = None
            try:
                self.pass_gates()
                request = call.request
                resp = _Answer.read(self._transport.send(request.method or "GET", request.url or "", request.body,
                                                         request.headers))
            except TRANSPORT_ERRORS as exc:
                error = exc
            duration_ms = (time.perf_counter() - started) * 1000.0
            body, exchange = _record(call, attempt, resp, error, duration_ms)
            exchanges.append(exchange)
            transient = isinstance(error, RETRYABLE_ERRORS) or (
                resp is not None and resp.status in RETRY_STATUSES
            )
            # Any request may be repeated when the server says so (Stripe-Should-Retry: true, e.g. a 503 sent
            # before the request was applied); otherwise only idempotent ones and POSTs with a key.
            server_says_retry = resp is not None and resp.headers.get("Stripe-Should-Retry", "").lower() == "true"
            exchange.retried = transient and attempt < call.attempts and (call.retryable or server_says_retry)
            if hook and self.on_exchange is not None:
                self.on_exchange(exchange)
            if exchange.retried:
                time.sleep(self._delay(attempt, resp))
                continue
            if resp is None:
                raise TransportError(exchanges)
            return Response(status=resp.status, headers=resp.headers, body=body, exchanges=exchanges,
                            _answer=resp.wire, _request=call.request)
        raise AssertionError("unreachable: the last attempt always returns or raises")

    def _delay(self, attempt: int, resp: _Answer | None) -> float:
        """Seconds to wait before the next attempt: Retry-After if given, else jittered exponential."""
        if resp is not None:
            hinted = _retry_after(resp.headers)
            if hinted is not None:
                return min(hinted, self.max_backoff)
        ceiling = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        with self._random_lock:
            # "Equal jitter": never less than half the ceiling, so retries still back off under contention.
            return ceiling / 2 + self._random.uniform(0, ceiling / 2)
