"""Top-level pytest configuration: the harness plugin (options, profiles, target, clients, coverage)."""

pytest_plugins = ["harness.plugin"]
