"""Per-resource behaviour. Importing this package registers every handler in `HANDLERS`."""

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
from mockserver.handlers.registry import HANDLERS, handles

__all__ = ["HANDLERS", "handles"]
