"""Top-level pytest configuration: the harness plugin (options, profiles, target, clients, coverage), its staging
side (pace, budget, run tagging, clean-up), capability discovery (which operations the target implements), the
findings plugin (typed findings, run summary, reports, replay, exit code), the first pass (one example of every
generating test before the deep ones) and the state-machine depth count."""

pytest_plugins = ["harness.staging", "harness.operations_plugin", "harness.plugin", "harness.findings_plugin",
                  "harness.passes", "harness.depth"]
