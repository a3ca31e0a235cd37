"""The app's extension points (`Hooks`), used by the fault catalogue, chaos mode and `--disable`, and how several
are composed into the one Hooks object the app is given (`HookChain`, `build_hooks`).

Every default is the correct behaviour: an app built without hooks is the correct mock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mockserver.context import Context
from mockserver.messages import Request, Response

if TYPE_CHECKING:
    from mockserver.errors import ApiError
    from wire.errors import ParamError


class Hooks:
    """Extension points used by the fault catalogue and chaos mode; every default is the correct behaviour."""

    async def before(self, req: Request) -> Response | None:
        """Called first for every request; a Response returned here is sent as is."""
        return None

    def on_auth_error(self, req: Request, error: ApiError) -> str:
        """The API key to use when authentication failed (the default refuses: re-raise)."""
        raise error

    def on_param_error(self, req: Request, error: ParamError, raw: dict) -> dict:
        """The params to go on with when validation failed (the default refuses: re-raise)."""
        raise error

    def after_validation(self, req: Request) -> None:
        """May change `req.params` (after they were validated) or raise ApiError."""

    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        """Runs the operation's behaviour (faults may wrap it)."""
        return handler(ctx)

    def atomic(self, req: Request) -> bool:
        """Whether the handler runs in a store transaction (the default; a planted fault may say no)."""
        return True

    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        """May change the handler's result (a copy, safe to edit)."""
        return body

    def before_send(self, req: Request, resp: Response) -> Response:
        """May change or replace the answer just before it is sent (every answer, errors included)."""
        return resp


class HookChain(Hooks):
    """Several Hooks applied in order."""

    def __init__(self, hooks: list[Hooks]):
        self.hooks = hooks

    async def before(self, req: Request) -> Response | None:
        for hook in self.hooks:
            resp = await hook.before(req)
            if resp is not None:
                return resp
        return None

    def on_auth_error(self, req: Request, error: Any) -> str:
        for hook in self.hooks:
            try:
                return hook.on_auth_error(req, error)
            except type(error):
                continue
        raise error

    def on_param_error(self, req: Request, error: Any, raw: dict) -> dict:
        for hook in self.hooks:
            try:
                return hook.on_param_error(req, error, raw)
            except type(error):
                continue
        raise error

    def after_validation(self, req: Request) -> None:
        for hook in self.hooks:
            hook.after_validation(req)

    def call_handler(self, req: Request, ctx: Context, handler: Callable[[Context], Any]) -> Any:
        call = handler
        for hook in reversed(self.hooks):
            call = (lambda h, inner: lambda c: h.call_handler(req, c, inner))(hook, call)
        return call(ctx)

    def atomic(self, req: Request) -> bool:
        return all(hook.atomic(req) for hook in self.hooks)

    def after_handler(self, req: Request, ctx: Context, body: Any) -> Any:
        for hook in self.hooks:
            body = hook.after_handler(req, ctx, body)
        return body

    def before_send(self, req: Request, resp: Response) -> Response:
        for hook in self.hooks:
            resp = hook.before_send(req, resp)
        return resp


def build_hooks(faults: list[str], chaos: list[str], disabled: list[str] | None = None) -> Hooks:
    """Hooks for the named faults, chaos settings and disabled operations; ValueError names what is unknown."""
    hooks: list[Hooks] = []
    if disabled:
        from mockserver.disabled import DisabledOperations

        hooks.append(DisabledOperations(disabled))
    if faults:
        from mockserver.faults import fault_hooks

        hooks.extend(fault_hooks(faults))
    if chaos:
        from mockserver.chaos import ChaosHooks

        hooks.append(ChaosHooks.from_settings(chaos))
    if not hooks:
        return Hooks()
    return hooks[0] if len(hooks) == 1 else HookChain(hooks)
