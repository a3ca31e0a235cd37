"""What a handler sees (`Context`) and what a handler is (`Handler`): the API of mockserver/handlers/.

Handlers receive a request that the app has already routed, authenticated and validated against the contract; they
hold only behaviour. They import this module, never the app (mockserver/app.py imports them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contracts.loader import Contract, Operation
from mockserver.store import Account, Store


@dataclass
class Context:
    """What a handler sees: the validated request, the caller's account and the contract.

    `params` are the validated and coerced request parameters (query for GET and DELETE, form body for POST), `path`
    the path parameters by name (decoded), `request_path` the path as sent (a list's `url`).
    """

    op: Operation
    params: dict
    path: dict[str, str]
    account: Account
    contract: Contract
    store: Store
    request_path: str

    @property
    def livemode(self) -> bool:
        return self.account.livemode


# An operation's behaviour: the object (a dict, as the contract's 200 schema describes it) or raises ApiError.
Handler = Callable[[Context], Any]
