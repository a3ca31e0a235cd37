"""Stripe-style errors: one exception type that every layer raises and the app serialises once."""

from __future__ import annotations

from typing import Any

DOC_URL = "https://docs.stripe.com/error-codes"


class ApiError(Exception):
    """An error answer: HTTP status plus Stripe's `{"error": {...}}` fields."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"{DOC_URL}#{self.code.replace('_', '-')}"
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    """A 400 for a request that is well-formed but not allowed (bad state, bad reference)."""
    return ApiError(400, message, code=code, param=param)


def not_found(kind: str, object_id: str, param: str | None = None) -> ApiError:
    return ApiError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def bad_state(message: str, code: str = "invalid_state") -> ApiError:
    """An action not allowed from the object's current state (illegal lifecycle transition)."""
    return ApiError(400, message, code=code)
