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


def no_such(label: str, object_id: object, *, param: str | None = None, status: int = 400,
            detail: str | None = None) -> ApiError:
    """Stripe's `resource_missing` error: ``No such <label>: '<id>'`` (then `` (<detail>)`` when given).

    :param label: what was looked for, as Stripe words it (``"invoice"``, ``"PaymentMethod"``).
    :param param: the request parameter that named it (a body or query parameter), or None for a path ID.
    :param status: 404 when the object is the one the URL names, 400 when a parameter refers to it (Stripe's
        usage: a missing ``customer=cus_x`` is a 400 naming ``customer``).
    :param detail: what helps the caller find the right one (e.g. which versions exist).
    """
    message = f"No such {label}: '{object_id}'" + (f" ({detail})" if detail else "")
    return ApiError(status, message, code="resource_missing", param=param)


def bad_state(message: str, code: str = "invalid_state") -> ApiError:
    """An action not allowed from the object's current state (illegal lifecycle transition)."""
    return ApiError(400, message, code=code)
