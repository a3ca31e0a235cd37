"""Run profiles: how hard each suite tries. `quick` is a smoke run, `ci` the default, `deep` for nightly runs."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, settings


@dataclass(frozen=True)
class Profile:
    """How hard one run tries (`PROFILES`; chosen with --profile): counts, never times."""

    name: str
    examples: int  # Hypothesis examples per property test
    steps: int  # state machine steps per run
    machines: int  # state machine runs (examples) per machine
    page_objects: int  # objects created to walk pagination
    schemathesis_examples: int


PROFILES = {
    "quick": Profile("quick", examples=4, steps=8, machines=2, page_objects=7, schemathesis_examples=3),
    "ci": Profile("ci", examples=15, steps=60, machines=32, page_objects=12, schemathesis_examples=10),
    "deep": Profile("deep", examples=100, steps=50, machines=40, page_objects=40, schemathesis_examples=60),
}


_active = PROFILES["ci"]


def activate(name: str) -> Profile:
    """Make `name` the profile of this process (the plugin does it at configure time)."""
    global _active
    _active = PROFILES[name]
    settings.load_profile(name)
    return _active


def active() -> Profile:
    """The profile of this run, for code that is set up at import time (Schemathesis parametrisation)."""
    return _active


def register_hypothesis_profiles() -> None:
    """Register one Hypothesis settings profile per `Profile` (same name): its example count and state-machine
    steps, no deadline (a shared machine's pauses are not the target's), the health checks a networked test trips
    left off."""
    common = {"deadline": None, "print_blob": True, "derandomize": False,
              "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture]}
    for profile in PROFILES.values():
        settings.register_profile(profile.name, max_examples=profile.examples,
                                  stateful_step_count=profile.steps, **common,
                                  phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink])
