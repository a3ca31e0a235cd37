"""Top-level pytest configuration: the harness plugin (options, profiles, target, clients, coverage) and capability
discovery (which operations the target implements)."""

pytest_plugins = ["harness.operations_plugin", "harness.plugin"]
