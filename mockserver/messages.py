"""The pipeline's view of one HTTP exchange: the `Request` as it is validated step by step, and the `Response`.

Both are plain data: the app (mockserver/app.py) fills them in, and hooks (mockserver/hooks.py: faults, chaos) may
read and change them. Neither knows about the app, the handlers or the server.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contracts.loader import Operation
    from mockserver.errors import ApiError
    from mockserver.store import Account


@dataclass
class Request:
    """What the pipeline knows about one request; hooks (faults, chaos) may read and change it.

    `path` is percent-decoded, `raw_path` is as sent (an encoded slash stays part of its segment); header names
    are lower case. `operation`, `path_params`, `account` and `params` are set as the request passes routing,
    authentication and validation (`params`: the decoded, validated and coerced query or body).
    """

    method: str
    path: str
    query: bytes
    headers: dict[str, str]
    body: bytes
    request_id: str = field(default_factory=lambda: f"req_{secrets.token_hex(7)}")
    operation: Operation | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    account: Account | None = None
    params: dict = field(default_factory=dict)
    raw_path: bytes = b""  # as sent (percent-encoded): an encoded slash stays part of its segment
    repeated: tuple[str, ...] = ()  # header names sent more than once


@dataclass
class Response:
    """An answer: HTTP status, a JSON-able body (or its serialised bytes) and extra headers (names any case)."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_error(cls, error: ApiError) -> Response:
        """The Stripe-style JSON answer for an error (its status, `{"error": {...}}` body and headers)."""
        return cls(error.status, error.body(), dict(error.headers))
