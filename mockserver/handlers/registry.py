"""The operationId -> handler table that the app dispatches through."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockserver.app import Context

Handler = Callable[["Context"], Any]

HANDLERS: dict[str, Handler] = {}


def handles(*operation_ids: str) -> Callable[[Handler], Handler]:
    """Register one function as the behaviour of one or more operations."""

    def register(fn: Handler) -> Handler:
        for op_id in operation_ids:
            if op_id in HANDLERS:
                raise RuntimeError(f"two handlers for {op_id}")
            HANDLERS[op_id] = fn
        return fn

    return register
