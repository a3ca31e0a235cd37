"""The ASGI app: one generic request path for every operation, driven by the contract.

Validate first, then act: route (raw path, no normalising) -> headers (duplicates, Idempotency-Key) ->
authenticate -> decode (codec) -> validate and coerce (contract schema) -> expand paths (from the schema alone)
-> idempotency replay; only then the handler runs, inside a store transaction (`Account.transaction`), so a
request refused by a late check (a state rule, a derived amount out of range) or by a bug leaves no trace.
Handlers (mockserver/handlers/) hold only behaviour and see a `Context` (mockserver/context.py); errors are shaped
here, once. Every client mistake becomes a Stripe-style 4xx; a 500 means a bug in the mock, and says so.

The app imports the handlers; nothing it is built from imports the app. Its pieces: the request and response
(mockserver/messages.py), the extension points faults and chaos use (`Hooks`, mockserver/hooks.py) and the
Idempotency-Key rules (mockserver/idempotency.py: a request refused before its endpoint began executing saves
nothing; once the handler has run, its first result is saved and replayed for the same key, 500s included).
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson

from contracts.loader import Contract, Operation, load_contract
from contracts.validation import validate
from mockserver import idempotency
from mockserver.context import Context, Handler
from mockserver.errors import ApiError
from mockserver.expand import check_expand, expand
from mockserver.handlers import handlers_for
from mockserver.hooks import Hooks
from mockserver.includable import Hider, kept_paths
from mockserver.messages import Request, Response
from mockserver.objects import public_copy
from mockserver.store import Store
from wire.codec import FormError, decode_body, decode_query
from wire.errors import ParamError

log = logging.getLogger("mockserver")

MAX_BODY = 1024 * 1024
MAX_QUERY = 64 * 1024
# Headers whose value decides what a request does: sent twice, which one counts is ambiguous, so refuse.
SINGLE_HEADERS = ("authorization", "idempotency-key", "content-type", "stripe-account", "stripe-version")
KEY_PATTERN = re.compile(r"^(sk|rk)_test_[A-Za-z0-9_]{1,200}$")
LIVE_PATTERN = re.compile(r"^(sk|rk)_live_")
CONNECTED_ACCOUNT_PATTERN = re.compile(r"^acct_[A-Za-z0-9]{1,100}$")
FORM = "application/x-www-form-urlencoded"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


def _mock_bug(req: Request) -> Response:
    """The 500 for an exception that is not an ApiError (a bug in the mock), logged with its traceback."""
    log.exception("mock bug while serving %s %s", req.method, req.path)
    return Response.from_error(ApiError(500, "The mock server hit an internal error (a bug in the mock).",
                                        type="api_error"))


class MockApp:
    def __init__(self, contract: Contract | None = None, hooks: Hooks | None = None, store: Store | None = None):
        self.contract = contract or load_contract()
        self.store = store or Store()
        self.hooks = hooks or Hooks()
        self.hider = Hider(self.contract)
        # operationId -> behaviour: the hand-written handlers, and a retrieve or list derived from the contract
        # for every plain one
        self.handlers: dict[str, Handler] = handlers_for(self.contract)
        # Every answer names the API version its shapes follow: the one the contract was generated from.
        self.stripe_version = self.contract.stripe_version
        self._stripe_version_bytes = self.stripe_version.encode("latin-1")
        # (method, path) -> operation for the contract's parameter-free paths, each taken from contract.match
        # itself, so a hit is exactly what match() would answer; every other path goes through match().
        self._literal_routes: dict[tuple[str, str], Operation] = {}
        for op in self.contract.operations.values():
            if "{" not in op.path:
                found = self.contract.match(op.method, op.path)
                if found is not None:
                    self._literal_routes[(op.method, op.path)] = found[0]

    # -- ASGI ------------------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers: dict[str, str] = {}
        repeated: list[str] = []
        for raw_name, raw_value in scope.get("headers", []):
            name = raw_name.decode("latin-1").lower()
            if name in headers and name in SINGLE_HEADERS:
                repeated.append(name)
            headers[name] = raw_value.decode("latin-1")
        body, too_large, complete = await self._read_body(receive, headers)
        if not complete:  # the client left mid-body: never act on a truncated request (nobody reads the answer)
            return
        path = scope.get("path", "/")
        req = Request(scope["method"].upper(), path, scope.get("query_string", b""), headers, body,
                      raw_path=scope.get("raw_path") or path.encode("utf-8"), repeated=tuple(repeated))
        if too_large:
            resp = Response.from_error(ApiError(413, f"Request bodies are limited to {MAX_BODY} bytes.",
                                                code="request_too_large"))
        else:
            resp = await self.handle(req)
        await self._send(send, req, resp)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _read_body(self, receive: Receive, headers: dict[str, str]) -> tuple[bytes, bool, bool]:
        """(body, too large, complete): complete is False when the client disconnected before the end."""
        declared = headers.get("content-length", "")
        # ASCII digits only ("²".isdigit() is True), and no int() of thousands of digits (ValueError in 3.11)
        digits = declared.lstrip("0") if declared.isascii() and declared.isdigit() else ""
        too_large = len(digits) > len(str(MAX_BODY)) or (digits != "" and int(digits) > MAX_BODY)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"", too_large, False
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                too_large = True
            elif not too_large:
                chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks), too_large, True

    async def _send(self, send: Send, req: Request, resp: Response) -> None:
        resp = self.hooks.before_send(req, resp)
        payload = resp.body if isinstance(resp.body, bytes) else orjson.dumps(resp.body)
        if resp.headers:
            extra = {k.lower(): v for k, v in resp.headers.items()}
            base = {"content-type": "application/json", "request-id": req.request_id,
                    "stripe-version": self.stripe_version}
            base.update(extra)  # a hook may override the defaults; an empty value drops the header
            base["content-length"] = str(len(payload))
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in base.items() if v != ""]
        else:  # the common case, built directly (same headers, same order)
            headers = [(b"content-type", b"application/json"), (b"request-id", req.request_id.encode("latin-1")),
                       (b"stripe-version", self._stripe_version_bytes),
                       (b"content-length", str(len(payload)).encode("latin-1"))]
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    # -- the pipeline ----------------------------------------------------------------------------------------

    async def handle(self, req: Request) -> Response:
        try:
            early = await self.hooks.before(req)
            if early is not None:
                return early
            return self._pipeline(req)
        except ApiError as exc:
            return Response.from_error(exc)
        except Exception:  # a bug in the mock: say so, and keep serving
            return _mock_bug(req)

    def _pipeline(self, req: Request) -> Response:
        # -- validate: nothing below may change state ------------------------------------------------------------
        req.operation, req.path_params = self._route(req)
        self._check_headers(req)
        try:
            key = self._api_key(req.headers)
        except ApiError as exc:
            key = self.hooks.on_auth_error(req, exc)
        req.account = self.store.account(self._account_key(key, req.headers))
        req.params = self._params(req)
        self.hooks.after_validation(req)
        op = req.operation
        if req.params.get("expand"):
            check_expand(self.contract, op.responses["200"], req.params["expand"])
        handler = self.handlers.get(op.operation_id)
        if handler is None:
            raise ApiError(500, f"The mock has no behaviour for {op.label} (a bug in the mock).", type="api_error")
        idem_key = idempotency.key_of(req)
        fingerprint = ""
        if idem_key is not None:
            fingerprint = idempotency.fingerprint(req)
            replay = req.account.idempotency.replay(idem_key, fingerprint)
            if replay is not None:
                return replay
        # -- act: the endpoint begins executing; its result, whatever it is, is the request's result -------------
        ctx = Context(op, req.params, req.path_params, req.account, self.contract, self.store, req.path)
        resp = self._execute(req, ctx, handler)
        if idem_key is not None:
            req.account.idempotency.remember(idem_key, fingerprint, resp)
        return resp

    def _execute(self, req: Request, ctx: Context, handler: Handler) -> Response:
        """Run the handler and build the answer inside one transaction: an error anywhere undoes every change."""
        assert req.account is not None and req.operation is not None
        try:
            if req.method == "GET" or not self.hooks.atomic(req):
                return self._respond(req, ctx, handler)
            with req.account.transaction():
                return self._respond(req, ctx, handler)
        except ApiError as exc:
            return Response.from_error(exc)
        except Exception:  # a bug in the mock: undone (above), said so, and kept as this request's result
            return _mock_bug(req)

    def _respond(self, req: Request, ctx: Context, handler: Handler) -> Response:
        op = req.operation
        assert op is not None and req.account is not None
        result = self.hooks.call_handler(req, ctx, handler)
        schema = op.responses["200"]
        if not req.params.get("expand") and self._answers_unedited():
            # Nothing changes this answer before it is sent: serialise it once, now (the bytes are the
            # snapshot that public_copy's round trip made, and exactly what _send would have produced).
            return Response(200, orjson.dumps(self.hider.hide(result, schema)))
        body = public_copy(result)
        if req.params.get("expand"):
            body = expand(self.contract, req.account, body, schema, req.params["expand"])
        body = self.hider.hide(body, schema, kept_paths(req.params.get("expand")))
        body = self.hooks.after_handler(req, ctx, body)
        return Response(200, body)

    def _route(self, req: Request) -> tuple[Operation, dict[str, str]]:
        """The operation for the path as sent: segments split on `/` first, then percent-decoded, so `%2F` is
        part of an ID; an empty segment (`//`, a trailing `/`) is an unknown URL, as in Stripe."""
        raw = req.raw_path
        matched = None
        if b"%" not in raw:
            literal = self._literal_routes.get((req.method, req.path))
            matched = (literal, {}) if literal is not None else None
        if matched is None and raw.startswith(b"/"):
            try:
                segments = [unquote_to_bytes(seg).decode("utf-8") for seg in raw[1:].split(b"/")]
            except UnicodeDecodeError:
                segments = [""]
            matched = self.contract.match_segments(req.method, segments)
        if matched is None:
            shown = raw.decode("latin-1")
            shown = shown if len(shown) <= 200 else shown[:200] + "..."
            raise ApiError(404, f"Unrecognized request URL ({req.method}: {shown}). Please see "
                                "https://stripe.com/docs or we can help at https://support.stripe.com/.")
        return matched

    @staticmethod
    def _check_headers(req: Request) -> None:
        if req.repeated:
            name = req.repeated[0]
            raise ApiError(400, f"The '{name}' header was sent more than once; send it exactly once.",
                           code="header_duplicated")
        idempotency.check_key(req)

    def _answers_unedited(self) -> bool:
        """True when no hook may edit a 200 body (the default after_handler and before_send)."""
        hooks = type(self.hooks)
        return hooks.after_handler is Hooks.after_handler and hooks.before_send is Hooks.before_send

    def _api_key(self, headers: dict[str, str]) -> str:
        auth = headers.get("authorization", "").strip()
        scheme, _, credential = auth.partition(" ")
        key = ""
        if scheme.lower() == "bearer":
            key = credential.strip()
        elif scheme.lower() == "basic":
            try:
                key = base64.b64decode(credential.strip(), validate=True).decode("utf-8").partition(":")[0]
            except (ValueError, UnicodeDecodeError):
                key = ""
        if not auth:
            raise ApiError(401, "You did not provide an API key. Provide it in the Authorization header, "
                                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
                           type="invalid_request_error", headers={"www-authenticate": 'Bearer realm="Stripe"'})
        if LIVE_PATTERN.match(key):
            raise ApiError(401, "This mock accepts test-mode keys only (sk_test_... or rk_test_...).",
                           headers={"www-authenticate": 'Bearer realm="Stripe"'})
        if not KEY_PATTERN.match(key):
            raise ApiError(401, "Invalid API Key provided: the key must look like sk_test_...",
                           headers={"www-authenticate": 'Bearer realm="Stripe"'})
        return key

    @staticmethod
    def _account_key(key: str, headers: dict[str, str]) -> str:
        """Whose objects the request acts on: the key's own account, or with `Stripe-Account: acct_...` that
        connected account (each key + account pair is a separate, empty account; the mock treats every
        well-formed account ID as connected to the key's platform)."""
        account = headers.get("stripe-account")
        if account is None:
            return key
        if not CONNECTED_ACCOUNT_PATTERN.match(account):
            raise ApiError(403, f"The provided key does not have access to account '{account[:100]}' (or that "
                                "account does not exist). Application access may have been revoked.",
                           code="account_invalid")
        return f"{key}/{account}"

    def _params(self, req: Request) -> dict:
        op = req.operation
        assert op is not None
        if len(req.query) > MAX_QUERY:
            raise ApiError(414, "The query string is too long.", code="request_too_large")
        try:
            params = decode_query(req.query)
            if req.method == "POST" and req.body:
                ctype = req.headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype != FORM:
                    raise ApiError(400, f"Invalid request: bodies must be sent as {FORM} (got "
                                        f"'{ctype or 'no content type'}').", code="invalid_content_type")
                body = decode_body(req.body)
                clash = set(params) & set(body)
                if clash:
                    name = sorted(clash)[0]
                    raise ApiError(400, f"Received '{name}' both in the query string and in the body.",
                                   code="parameter_duplicated", param=name)
                params.update(body)
            elif req.method != "POST" and req.body:
                raise ApiError(400, f"{req.method} requests take their parameters in the query string, "
                                    "not in a body.", code="invalid_request_body")
        except FormError as exc:
            raise ApiError(400, f"Invalid request: {exc.message}",
                           code="parameter_malformed" if exc.param else "invalid_request_body",
                           param=exc.param or None) from exc
        try:
            return validate(params, op.request_schema)
        except ParamError as exc:
            try:
                return self.hooks.on_param_error(req, exc, params)
            except ParamError as final:
                raise ApiError(400, final.message, code=final.code, param=final.param) from final
