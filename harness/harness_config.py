"""The ``--harness-config`` file: IDs of objects that already exist on the target, for what the harness cannot make.

A JSON object from a kind to an ID, for example::

    {"financial_connections.account": "fca_123", "issuing.authorization": "iauth_123",
     "invoice_rendering_template": "inrtem_123", "identity.verification_report": "vr_123", "customer": "cus_123"}

Kinds are the contract's object names (the ``object`` field Stripe sends), plus ``:state`` where a state matters
(``"invoice:open"``); `harness.world.World.config_key` says which key names each kind. The keys of earlier
releases (``financial_connections_account``, ``identity_verification_report``, ...) still work: `normalize` renames
them and warns, naming the new key.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

# Keys earlier releases read -> the key that replaces them (the object's name in the contract).
RENAMED_KEYS: dict[str, str] = {
    "financial_connections_account": "financial_connections.account",
    "identity_verification_report": "identity.verification_report",
    "issuing_authorization": "issuing.authorization",
    "fc_session": "financial_connections.session",
    "fc_transaction": "financial_connections.transaction",
    "forwarding_request": "forwarding.request",
    "issuing_card": "issuing.card",
    "issuing_cardholder": "issuing.cardholder",
    "template:archived": "invoice_rendering_template:archived",
    "verification_session:requires_input": "identity.verification_session:requires_input",
    "verification_session:verified": "identity.verification_session:verified",
}


class HarnessConfigError(ValueError):
    """The file cannot be used; the message names the file and what to change."""


def normalize(config: dict[str, Any], source: str = "--harness-config") -> dict[str, Any]:
    """`config` with every renamed key under its new name.

    :param config: the decoded file: kind -> object ID.
    :param source: how messages name the file.
    :returns: a new dict; a key given under both names keeps the value of the new one.

    Each old key found emits a `FutureWarning` (shown to users by default, and in pytest's warnings summary):
    ``--harness-config: key "financial_connections_account" is deprecated; use "financial_connections.account"``.
    """
    out = dict(config)
    for old, new in RENAMED_KEYS.items():
        if old not in out:
            continue
        warnings.warn(f"{source}: key \"{old}\" is deprecated; use \"{new}\"", FutureWarning, stacklevel=2)
        value = out.pop(old)
        out.setdefault(new, value)
    return out


def read(path: str | Path | None) -> dict[str, Any]:
    """The file at `path`, decoded and normalized (`normalize`); ``{}`` when `path` is empty or None.

    :returns: kind -> object ID (strings, as written in the file).
    :raises HarnessConfigError: the file cannot be read, is not JSON, or is not a JSON object.
    """
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise HarnessConfigError(f"--harness-config {path}: {exc}") from None
    if not isinstance(data, dict):
        raise HarnessConfigError(f"--harness-config {path}: expected a JSON object of names to IDs")
    return normalize(data, f"--harness-config {path}")
