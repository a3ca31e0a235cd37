"""Stripe's parameter errors: ``ParamError`` and the ``code`` values it carries.

Stripe answers a request whose parameters are wrong with HTTP 400 and an ``error`` object of type
``invalid_request_error`` that names a ``code`` and the full bracketed ``param`` (``lines[0][period][end]``). The mock
raises ``ParamError`` for it and serialises ``to_dict()`` as the body's ``error``; strategies name the code they
expect a bad request to draw. Source: the Stripe API reference, "Errors" (error object: type, code, param, message)
and "Error codes" (the ``parameter_*`` codes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = [
    "ERROR_CODES",
    "PARAMETER_INVALID",
    "PARAMETER_INVALID_BOOLEAN",
    "PARAMETER_INVALID_EMPTY",
    "PARAMETER_INVALID_INTEGER",
    "PARAMETER_INVALID_NUMBER",
    "PARAMETER_INVALID_STRING_TOO_LONG",
    "PARAMETER_MISSING",
    "PARAMETER_UNKNOWN",
    "ParamError",
]

PARAMETER_UNKNOWN: Final = "parameter_unknown"
PARAMETER_MISSING: Final = "parameter_missing"
PARAMETER_INVALID_EMPTY: Final = "parameter_invalid_empty"
PARAMETER_INVALID_INTEGER: Final = "parameter_invalid_integer"
PARAMETER_INVALID_NUMBER: Final = "parameter_invalid_number"
PARAMETER_INVALID_BOOLEAN: Final = "parameter_invalid_boolean"
PARAMETER_INVALID_STRING_TOO_LONG: Final = "parameter_invalid_string_too_long"
PARAMETER_INVALID: Final = "parameter_invalid"

ERROR_CODES: Final[Mapping[str, str]] = {
    PARAMETER_UNKNOWN: "a property the (closed) object schema does not declare",
    PARAMETER_MISSING: "a required property is absent, at any depth",
    PARAMETER_INVALID_EMPTY: '"" where it cannot mean "unset": a required property, a non-string type '
    'without a "" alternative, a string enum without "", or minLength >= 1',
    PARAMETER_INVALID_INTEGER: "not an integer (optional '-' then ASCII digits, or a Python int that is "
    "not a bool), outside minimum/maximum, or outside signed 64-bit",
    PARAMETER_INVALID_NUMBER: "not a finite plain decimal (no exponent, nan or inf), "
    "or outside minimum/maximum",
    PARAMETER_INVALID_BOOLEAN: "not exactly 'true' or 'false' (or a Python bool)",
    PARAMETER_INVALID_STRING_TOO_LONG: "a string (metadata values included) longer than maxLength",
    PARAMETER_INVALID: "everything else: value not in enum, wrong shape (object/array/string expected), "
    "maxItems/minItems, minLength, pattern (a decimal's digits and places), metadata key count (maxProperties) "
    "or key length (x-key-max-length)",
}
"""Every code a parameter check raises, with when it is raised (all are ``invalid_request_error``); the rules
are the contract's (``contracts.validation.validate`` applies them)."""


class ParamError(Exception):
    """One Stripe ``invalid_request_error``; the mock serialises it as the 400 body."""

    type: Final = "invalid_request_error"

    def __init__(self, code: str, param: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.param = param
        self.message = message

    def __repr__(self) -> str:
        return f"ParamError(code={self.code!r}, param={self.param!r}, message={self.message!r})"

    def to_dict(self) -> dict[str, str]:
        """The ``error`` object of a Stripe error response."""
        return {"type": self.type, "code": self.code, "param": self.param, "message": self.message}
