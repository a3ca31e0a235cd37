"""Compose the mock's optional behaviours (planted faults, chaos) into one Hooks object for the app."""

from __future__ import annotations

from typing import Any

from mockserver.app import Hooks, Request, Response


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

    def call_handler(self, req: Request, ctx: Any, handler: Any) -> Any:
        call = handler
        for hook in reversed(self.hooks):
            call = (lambda h, inner: lambda c: h.call_handler(req, c, inner))(hook, call)
        return call(ctx)

    def atomic(self, req: Request) -> bool:
        return all(hook.atomic(req) for hook in self.hooks)

    def after_handler(self, req: Request, ctx: Any, body: Any) -> Any:
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
