"""The operationId -> hand-written handler table (`HANDLERS`), filled by `@handles`.

Plain retrieves and lists are not registered here: the app derives them from the contract (handlers/defaults.py).
"""

from __future__ import annotations

from collections.abc import Callable

from mockserver.context import Handler

HANDLERS: dict[str, Handler] = {}


def handles(*operation_ids: str) -> Callable[[Handler], Handler]:
    """Register one function as the behaviour of one or more operations.

    :raises RuntimeError: when an operation already has a handler.
    """

    def register(fn: Handler) -> Handler:
        for op_id in operation_ids:
            if op_id in HANDLERS:
                raise RuntimeError(f"two handlers for {op_id}")
            HANDLERS[op_id] = fn
        return fn

    return register
