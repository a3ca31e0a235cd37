"""Stripe's wire format, shared by the harness, the mock, the contract's validation and the strategies.

- ``wire.codec``: the ``application/x-www-form-urlencoded`` dialect with bracketed nested keys, both directions;
- ``wire.search_query``: the Search Query Language (``GET /v1/invoices/search``): grammar, parser and matcher;
- ``wire.errors``: ``ParamError``, the ``invalid_request_error`` a bad parameter draws, and its ``code`` table.

This package is the bottom layer: it imports nothing of the project's (``tests/test_layering.py`` checks it), so
both sides of a conversation (the harness's client and the mock server) can agree on the bytes without depending on
each other.
"""
