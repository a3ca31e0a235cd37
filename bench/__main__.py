"""Run benchmarks: `python -m bench` (all), `python -m bench mock --quick`, `python -m bench --list`.

Options after the benchmark name go to that benchmark (`python -m bench mock --help` lists them); with no name,
the options go to every benchmark.
"""

from __future__ import annotations

import importlib
import sys

from bench import BENCHMARKS

# Run by name only, not by `python -m bench` (all): minutes long, it drives two tools against the mock.
ON_DEMAND = {
    "headtohead": ("bench.head_to_head", "plain Schemathesis vs our suites: requests/s, coverage, faults"),
    "suites": ("bench.suites_throughput", "our suites: checked requests/s, report weight, latency (--vs-ref REV)"),
    "firstfailure": ("bench.first_failure", "time to the first failure of `-x` runs on planted faults"),
}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        print("benchmarks:")
        for name, (_, about) in {**BENCHMARKS, **ON_DEMAND}.items():
            print(f"  {name:<10} {about}")
        return 0
    if args and args[0] == "--list":
        print("\n".join([*BENCHMARKS, *ON_DEMAND]))
        return 0
    if args and not args[0].startswith("-"):
        name = args.pop(0)
        if name not in BENCHMARKS and name not in ON_DEMAND and name != "all":
            print(f"error: unknown benchmark {name!r} (known: {', '.join([*BENCHMARKS, *ON_DEMAND])})", file=sys.stderr)
            return 2
        names = list(BENCHMARKS) if name == "all" else [name]
    else:
        names = list(BENCHMARKS)
    status = 0
    for name in names:
        module = importlib.import_module({**BENCHMARKS, **ON_DEMAND}[name][0])
        status = max(status, module.main(args))
    return status


if __name__ == "__main__":
    sys.exit(main())
