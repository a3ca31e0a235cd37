"""Per-resource behaviour. Importing this package registers every hand-written handler in `HANDLERS`;
`handlers_for(contract)` adds the plain retrieves and lists derived from the contract (handlers/defaults.py)."""

from mockserver.handlers import (  # noqa: F401  (imported for their registrations)
    financial_connections,
    forwarding,
    identity,
    invoice_items,
    invoices,
    issuing,
    rendering_templates,
    support,
)
from mockserver.handlers.defaults import default_handler, handlers_for
from mockserver.handlers.registry import HANDLERS, handles

__all__ = ["HANDLERS", "default_handler", "handlers_for", "handles"]
