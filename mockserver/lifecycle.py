"""The mock's side of the business-rules table: refuse what `contracts/rules.yaml` does not allow.

Handlers ask `require(...)` before they change anything; the answer is the status the object moves to, or a
400 naming the rule that refuses it (the same table the suites read their expectations from).
"""

from __future__ import annotations

from contracts.rules import load_rules
from mockserver.errors import ApiError, bad_state


def require(obj: str, action: str, current: dict, label: str | None = None) -> str:
    """The status `current` moves to under `action`; raises a 400 when the rules table refuses it.

    :param obj: the table's object name (``invoice``, ``verification_session``, ``invoice_rendering_template``).
    :param current: the stored object (its ``status`` and, for invoices, ``collection_method`` decide).
    """
    method = current.get("collection_method") if obj == "invoice" else None
    decision = load_rules().decide(obj, action, current["status"], method)
    if decision.result is not None:
        return decision.result
    name = label or obj.replace("_", " ")
    rule = decision.rules[0]
    if rule.kind == "methods":
        allowed = " or ".join(rule.data["collection_methods"])
        raise bad_state(f"You can only {action.replace('_', ' ')} an {name} whose collection_method is {allowed}; "
                        f"{current['id']} has collection_method '{method}'.", code="invoice_not_editable"
                        if obj == "invoice" else "invalid_state")
    legal = ", ".join(sorted(load_rules().legal_from(obj, action)))
    raise bad_state(f"You cannot {action.replace('_', ' ')} {name} '{current['id']}' because its status is "
                    f"'{current['status']}'; only {legal} ones can be.")


def refuse_params(operation_id: str, params: dict, current: dict) -> None:
    """Parameters the table refuses in this state (e.g. `due_date` unless collection_method is send_invoice).

    `current` is the object as it will be after the request (create) or as stored merged with the request's
    values of the fields the rule looks at (update).
    """
    for rule in load_rules().param_rules(operation_id):
        sent = [p for p in rule.data["params"] if params.get(p) not in (None, "")]
        if not sent:
            continue
        unmet = {k: v for k, v in rule.data["when"].items() if current.get(k) != v}
        if unmet:
            key, value = next(iter(unmet.items()))
            raise ApiError(400, f"'{sent[0]}' can only be set when {key} is '{value}' (this invoice's {key} is "
                                f"'{current.get(key)}').", code="parameter_invalid", param=sent[0])
