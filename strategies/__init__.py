"""Hypothesis strategies generated from the contract: schema values, whole API requests, search queries.

`strategies.schema` walks a request schema (valid, boundary and minimal values, single-defect mutations);
`strategies.hints` holds, as data, what the contract cannot say; `strategies.requests` combines both with the
pools of existing objects (`Refs`) into `ApiRequest`s; `strategies.search` builds search queries.
"""

from strategies.hints import GLOBAL_HINTS, OPERATION_HINTS, HintTable, OperationHints, Scenario
from strategies.requests import (
    ApiRequest,
    Expected,
    MissingReference,
    Refs,
    boundary_requests,
    invalid_requests,
    valid_requests,
)
from strategies.schema import Defect, Unbuildable, boundary_values, defects, minimal_values, values
from strategies.search import DEFAULT_METADATA_KEY, malformed_queries, search_queries

__all__ = [
    "DEFAULT_METADATA_KEY",
    "GLOBAL_HINTS",
    "OPERATION_HINTS",
    "ApiRequest",
    "Defect",
    "Expected",
    "HintTable",
    "MissingReference",
    "OperationHints",
    "Refs",
    "Scenario",
    "Unbuildable",
    "boundary_requests",
    "boundary_values",
    "defects",
    "invalid_requests",
    "malformed_queries",
    "minimal_values",
    "search_queries",
    "valid_requests",
    "values",
]
