"""Server setting `--disable OPERATION`: the mock answers as a server without those endpoints would.

A disabled operation (one of the 50, a supporting endpoint or a test helper, by operationId) gets the same 404
"Unrecognized request URL" as any unknown route, before authentication, so a client cannot tell it from a
server that never had it. Used to show how the harness and `python -m harness.doctor` cope with partial targets.
"""

from __future__ import annotations

from contracts.loader import Contract, load_contract
from mockserver.errors import ApiError
from mockserver.hooks import Hooks
from mockserver.messages import Request, Response


class DisabledOperations(Hooks):
    def __init__(self, operation_ids: list[str], contract: Contract | None = None) -> None:
        self.contract = contract or load_contract()
        unknown = sorted(set(operation_ids) - set(self.contract.operations))
        if unknown:
            raise ValueError(f"--disable: no operation {', '.join(unknown)} in the contract")
        self.disabled = frozenset(operation_ids)

    async def before(self, req: Request) -> Response | None:
        found = self.contract.match(req.method, req.path)
        if found is None or found[0].operation_id not in self.disabled:
            return None
        error = ApiError(404, f"Unrecognized request URL ({req.method}: {req.path}).")
        return Response.from_error(error)
