"""Top-level pytest configuration: the harness plugin (options, profiles, target, clients, coverage), capability
discovery (which operations the target implements) and the findings plugin (typed findings, run summary, reports,
replay, exit code)."""

pytest_plugins = ["harness.operations_plugin", "harness.plugin", "harness.findings_plugin"]
