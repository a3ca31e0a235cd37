"""Chaos mode: a correct but unfriendly server (slow, rate-limited, flaky, chatty). The suites must stay green.

Settings (`--chaos NAME[=VALUE]`, repeatable):
  latency=S         add S seconds (float) before every answer
  rate_limit=P      answer a fraction P of requests with 429 + Retry-After, before applying them
  unavailable=P     answer a fraction P of requests with 503, before applying them
  extra_fields      add undocumented fields to every object and list in every answer
  extra_headers     add unknown response headers
A request is turned away at most twice in a row, so a client that retries always gets through: transient
means transient.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from dataclasses import dataclass
from typing import Any

from mockserver.errors import ApiError
from mockserver.hooks import Hooks
from mockserver.messages import Request, Response

MAX_REJECTIONS_IN_A_ROW = 2
KNOWN = ("latency", "rate_limit", "unavailable", "extra_fields", "extra_headers")


@dataclass
class ChaosSettings:
    latency: float = 0.0
    rate_limit: float = 0.0
    unavailable: float = 0.0
    extra_fields: bool = False
    extra_headers: bool = False


class ChaosHooks(Hooks):
    def __init__(self, settings: ChaosSettings, seed: int | None = None):
        self.settings = settings
        self.random = random.Random(seed)
        self.rejections: dict[str, int] = {}

    @classmethod
    def from_settings(cls, items: list[str]) -> ChaosHooks:
        settings = ChaosSettings()
        for item in items:
            for part in item.split(","):
                name, _, value = part.strip().partition("=")
                if name not in KNOWN:
                    raise ValueError(f"unknown chaos setting {name!r}; known: {', '.join(KNOWN)}")
                if name in ("extra_fields", "extra_headers"):
                    setattr(settings, name, value.lower() not in ("0", "false", "no"))
                    continue
                try:
                    number = float(value)
                except ValueError:
                    raise ValueError(f"chaos setting {name} needs a number, e.g. {name}=0.1") from None
                if name != "latency" and not 0 <= number < 1:
                    raise ValueError(f"chaos setting {name} is a fraction in [0, 1)")
                setattr(settings, name, number)
        return cls(settings)

    def _fingerprint(self, req: Request) -> str:
        key = req.headers.get("idempotency-key", "")
        raw = b"|".join([req.method.encode(), req.path.encode(), req.query, req.body, key.encode()])
        return hashlib.blake2b(raw, digest_size=12).hexdigest()

    async def before(self, req: Request) -> Response | None:
        s = self.settings
        if s.latency:
            await asyncio.sleep(s.latency)
        if not (s.rate_limit or s.unavailable):
            return None
        fingerprint = self._fingerprint(req)
        streak = self.rejections.get(fingerprint, 0)
        roll = self.random.random()
        error = None
        if streak < MAX_REJECTIONS_IN_A_ROW:
            if roll < s.rate_limit:
                error = ApiError(429, "Too many requests hit the API too quickly (chaos mode).",
                                 type="rate_limit_error", code="rate_limit",
                                 headers={"retry-after": "0", "stripe-should-retry": "true"})
            elif roll < s.rate_limit + s.unavailable:
                error = ApiError(503, "The service is temporarily unavailable (chaos mode).", type="api_error",
                                 headers={"stripe-should-retry": "true"})
        if error is None:
            self.rejections.pop(fingerprint, None)
            return None
        self.rejections[fingerprint] = streak + 1
        if len(self.rejections) > 100_000:
            self.rejections.clear()
        return Response.from_error(error)

    def after_handler(self, req: Request, ctx: Any, body: Any) -> Any:
        if self.settings.extra_fields:
            _decorate(body)
        return body

    def before_send(self, req: Request, resp: Response) -> Response:
        if self.settings.extra_headers:
            resp.headers.update({"x-chaos-region": "mock-1", "x-undocumented": "yes"})
        return resp


def _decorate(value: Any) -> None:
    if isinstance(value, dict):
        for child in value.values():
            _decorate(child)
        if "object" in value:
            value["x_undocumented_field"] = {"added_by": "chaos", "n": 1}
    elif isinstance(value, list):
        for child in value:
            _decorate(child)
