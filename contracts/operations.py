"""The table of the 50 operations this harness covers: the one place that names them.

Each row says how to build the operation (which `stripe` params class holds the exact nesting, which object class
the 200 response returns) and how to talk about it (operationId, tag, summary). `contracts/generate.py` turns this
table into `openapi.yaml`; nothing at run time imports the `stripe` package.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OperationRow:
    method: str
    path: str
    operation_id: str
    tag: str
    summary: str
    params: str | None  # dotted name of the stripe params TypedDict (relative to stripe.params)
    returns: str  # "object:<schema>", "list:<schema>", "search:<schema>", "deleted:<schema>"


def _row(method: str, path: str, op_id: str, tag: str, summary: str, params: str | None, returns: str):
    return OperationRow(method, path, op_id, tag, summary, params, returns)


FC = "Financial Connections"
FWD = "Forwarding"
IDV = "Identity"
INV = "Invoices"
II = "Invoice Items"
IL = "Invoice Line Items"
IP = "Invoice Payments"
IRT = "Invoice Rendering Templates"
ISS = "Issuing Authorizations"

OPERATIONS: tuple[OperationRow, ...] = (
    _row("post", "/v1/financial_connections/accounts/{account}/refresh", "RefreshFinancialConnectionsAccount",
         FC, "Refresh balance, ownership or transactions of an account",
         "financial_connections.AccountRefreshParams", "object:financial_connections.account"),
    _row("post", "/v1/financial_connections/accounts/{account}/subscribe", "SubscribeFinancialConnectionsAccount",
         FC, "Subscribe an account to periodic data refreshes",
         "financial_connections.AccountSubscribeParams", "object:financial_connections.account"),
    _row("post", "/v1/financial_connections/accounts/{account}/unsubscribe",
         "UnsubscribeFinancialConnectionsAccount", FC, "Stop periodic data refreshes of an account",
         "financial_connections.AccountUnsubscribeParams", "object:financial_connections.account"),
    _row("post", "/v1/financial_connections/sessions", "CreateFinancialConnectionsSession",
         FC, "Start an authorization session", "financial_connections.SessionCreateParams",
         "object:financial_connections.session"),
    _row("get", "/v1/financial_connections/sessions/{session}", "RetrieveFinancialConnectionsSession",
         FC, "Read a session", "financial_connections.SessionRetrieveParams", "object:financial_connections.session"),
    _row("get", "/v1/financial_connections/transactions", "ListFinancialConnectionsTransactions",
         FC, "List an account's transactions", "financial_connections.TransactionListParams",
         "list:financial_connections.transaction"),
    _row("get", "/v1/financial_connections/transactions/{transaction}", "RetrieveFinancialConnectionsTransaction",
         FC, "Read a transaction", "financial_connections.TransactionRetrieveParams",
         "object:financial_connections.transaction"),
    _row("get", "/v1/forwarding/requests", "ListForwardingRequests", FWD, "List forwarding requests",
         "forwarding.RequestListParams", "list:forwarding.request"),
    _row("post", "/v1/forwarding/requests", "CreateForwardingRequest", FWD,
         "Forward card data to a third-party endpoint", "forwarding.RequestCreateParams", "object:forwarding.request"),
    _row("get", "/v1/forwarding/requests/{id}", "RetrieveForwardingRequest", FWD, "Read a forwarding request",
         "forwarding.RequestRetrieveParams", "object:forwarding.request"),
    _row("get", "/v1/identity/verification_reports", "ListIdentityVerificationReports", IDV,
         "List verification reports", "identity.VerificationReportListParams",
         "list:identity.verification_report"),
    _row("get", "/v1/identity/verification_reports/{report}", "RetrieveIdentityVerificationReport", IDV,
         "Read a verification report", "identity.VerificationReportRetrieveParams",
         "object:identity.verification_report"),
    _row("get", "/v1/identity/verification_sessions", "ListIdentityVerificationSessions", IDV,
         "List verification sessions", "identity.VerificationSessionListParams",
         "list:identity.verification_session"),
    _row("post", "/v1/identity/verification_sessions", "CreateIdentityVerificationSession", IDV,
         "Create a verification session", "identity.VerificationSessionCreateParams",
         "object:identity.verification_session"),
    _row("get", "/v1/identity/verification_sessions/{session}", "RetrieveIdentityVerificationSession", IDV,
         "Read a verification session", "identity.VerificationSessionRetrieveParams",
         "object:identity.verification_session"),
    _row("post", "/v1/identity/verification_sessions/{session}", "UpdateIdentityVerificationSession", IDV,
         "Update a session that still requires input", "identity.VerificationSessionUpdateParams",
         "object:identity.verification_session"),
    _row("post", "/v1/identity/verification_sessions/{session}/cancel", "CancelIdentityVerificationSession", IDV,
         "Cancel a session that requires input", "identity.VerificationSessionCancelParams",
         "object:identity.verification_session"),
    _row("post", "/v1/identity/verification_sessions/{session}/redact", "RedactIdentityVerificationSession", IDV,
         "Redact the personal data of a session", "identity.VerificationSessionRedactParams",
         "object:identity.verification_session"),
    _row("get", "/v1/invoice_payments", "ListInvoicePayments", IP, "List invoice payments",
         "InvoicePaymentListParams", "list:invoice_payment"),
    _row("get", "/v1/invoice_payments/{invoice_payment}", "RetrieveInvoicePayment", IP, "Read an invoice payment",
         "InvoicePaymentRetrieveParams", "object:invoice_payment"),
    _row("get", "/v1/invoice_rendering_templates", "ListInvoiceRenderingTemplates", IRT,
         "List rendering templates", "InvoiceRenderingTemplateListParams", "list:invoice_rendering_template"),
    _row("get", "/v1/invoice_rendering_templates/{template}", "RetrieveInvoiceRenderingTemplate", IRT,
         "Read a rendering template", "InvoiceRenderingTemplateRetrieveParams", "object:invoice_rendering_template"),
    _row("post", "/v1/invoice_rendering_templates/{template}/archive", "ArchiveInvoiceRenderingTemplate", IRT,
         "Archive a rendering template", "InvoiceRenderingTemplateArchiveParams",
         "object:invoice_rendering_template"),
    _row("post", "/v1/invoice_rendering_templates/{template}/unarchive", "UnarchiveInvoiceRenderingTemplate", IRT,
         "Make an archived rendering template active again", "InvoiceRenderingTemplateUnarchiveParams",
         "object:invoice_rendering_template"),
    _row("get", "/v1/invoiceitems", "ListInvoiceItems", II, "List invoice items", "InvoiceItemListParams",
         "list:invoiceitem"),
    _row("post", "/v1/invoiceitems", "CreateInvoiceItem", II, "Create a pending or draft-attached invoice item",
         "InvoiceItemCreateParams", "object:invoiceitem"),
    _row("delete", "/v1/invoiceitems/{invoiceitem}", "DeleteInvoiceItem", II,
         "Delete an invoice item that is pending or on a draft", None, "deleted:deleted_invoiceitem"),
    _row("get", "/v1/invoiceitems/{invoiceitem}", "RetrieveInvoiceItem", II, "Read an invoice item",
         "InvoiceItemRetrieveParams", "object:invoiceitem"),
    _row("post", "/v1/invoiceitems/{invoiceitem}", "UpdateInvoiceItem", II,
         "Update an invoice item that is pending or on a draft", "InvoiceItemUpdateParams", "object:invoiceitem"),
    _row("get", "/v1/invoices", "ListInvoices", INV, "List invoices", "InvoiceListParams", "list:invoice"),
    _row("post", "/v1/invoices", "CreateInvoice", INV, "Create a draft invoice", "InvoiceCreateParams",
         "object:invoice"),
    _row("post", "/v1/invoices/create_preview", "CreateInvoicePreview", INV,
         "Compute an invoice without storing it", "InvoiceCreatePreviewParams", "object:invoice"),
    _row("get", "/v1/invoices/search", "SearchInvoices", INV, "Search invoices with the query language",
         "InvoiceSearchParams", "search:invoice"),
    _row("delete", "/v1/invoices/{invoice}", "DeleteInvoice", INV, "Delete a draft invoice", None,
         "deleted:deleted_invoice"),
    _row("get", "/v1/invoices/{invoice}", "RetrieveInvoice", INV, "Read an invoice", "InvoiceRetrieveParams",
         "object:invoice"),
    _row("post", "/v1/invoices/{invoice}", "UpdateInvoice", INV, "Update an invoice", "InvoiceUpdateParams",
         "object:invoice"),
    _row("post", "/v1/invoices/{invoice}/add_lines", "AddInvoiceLines", INV, "Add lines to a draft invoice",
         "InvoiceAddLinesParams", "object:invoice"),
    _row("post", "/v1/invoices/{invoice}/attach_payment", "AttachInvoicePayment", INV,
         "Attach a payment intent to an invoice", "InvoiceAttachPaymentParams", "object:invoice"),
    _row("post", "/v1/invoices/{invoice}/finalize", "FinalizeInvoice", INV, "Finalize a draft invoice",
         "InvoiceFinalizeInvoiceParams", "object:invoice"),
    _row("get", "/v1/invoices/{invoice}/lines", "ListInvoiceLines", IL, "List an invoice's line items",
         "InvoiceListLinesParams", "list:line_item"),
    _row("post", "/v1/invoices/{invoice}/lines/{line_item_id}", "UpdateInvoiceLine", IL,
         "Update one line item of a draft invoice", "InvoiceLineItemUpdateParams", "object:line_item"),
    _row("post", "/v1/invoices/{invoice}/mark_uncollectible", "MarkInvoiceUncollectible", INV,
         "Mark an open invoice uncollectible", "InvoiceMarkUncollectibleParams", "object:invoice"),
    _row("post", "/v1/invoices/{invoice}/pay", "PayInvoice", INV, "Pay an invoice", "InvoicePayParams",
         "object:invoice"),
    _row("post", "/v1/invoices/{invoice}/remove_lines", "RemoveInvoiceLines", INV,
         "Remove lines from a draft invoice", "InvoiceRemoveLinesParams", "object:invoice"),
    _row("post", "/v1/invoices/{invoice}/send", "SendInvoice", INV, "Send an invoice to the customer",
         "InvoiceSendInvoiceParams", "object:invoice"),
    _row("post", "/v1/invoices/{invoice}/update_lines", "UpdateInvoiceLines", INV,
         "Update lines of a draft invoice", "InvoiceUpdateLinesParams", "object:invoice"),
    _row("post", "/v1/invoices/{invoice}/void", "VoidInvoice", INV, "Void a finalized invoice",
         "InvoiceVoidInvoiceParams", "object:invoice"),
    _row("get", "/v1/issuing/authorizations", "ListIssuingAuthorizations", ISS, "List authorizations",
         "issuing.AuthorizationListParams", "list:issuing.authorization"),
    _row("get", "/v1/issuing/authorizations/{authorization}", "RetrieveIssuingAuthorization", ISS,
         "Read an authorization", "issuing.AuthorizationRetrieveParams", "object:issuing.authorization"),
    _row("post", "/v1/issuing/authorizations/{authorization}", "UpdateIssuingAuthorization", ISS,
         "Update an authorization's metadata", "issuing.AuthorizationUpdateParams", "object:issuing.authorization"),
)

# Response object name -> the stripe class whose annotations describe it.
OBJECT_CLASSES: dict[str, str] = {
    "invoice": "Invoice",
    "invoiceitem": "InvoiceItem",
    "line_item": "InvoiceLineItem",
    "invoice_payment": "InvoicePayment",
    "invoice_rendering_template": "InvoiceRenderingTemplate",
    "financial_connections.account": "financial_connections.Account",
    "financial_connections.session": "financial_connections.Session",
    "financial_connections.transaction": "financial_connections.Transaction",
    "forwarding.request": "forwarding.Request",
    "identity.verification_report": "identity.VerificationReport",
    "identity.verification_session": "identity.VerificationSession",
    "issuing.authorization": "issuing.Authorization",
}
