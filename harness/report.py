"""Run the suites and turn their results into the Allure 3 HTML report people read.

    python -m harness.report run [--reports-dir DIR] [--single-file] [--no-html] [-- PYTEST ARGS...]
    python -m harness.report generate [--reports-dir DIR] [--single-file] [RESULTS_DIR ...]

`run` cleans the previous run's outputs (keeping the bounded run history Allure uses for trends), runs pytest
on `suites` (unless paths are given) with `--alluredir` and `--junitxml`, renders the HTML with Allure 3 from
node_modules, and exits with pytest's exit code: Allure's own code is 0 even when tests fail, and CI must fail
on test failures, not on report rendering. `generate` only renders, from one or more results folders (e.g.
the shards of a split CI run), and merges their coverage matrices.

The report is steered through reports/allurerc.mjs (categories, history, single-file) by environment
variables set here; see reports/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REPORTS = ROOT / "reports"
CONFIG = DEFAULT_REPORTS / "allurerc.mjs"
ALLURE_BIN = ROOT / "node_modules" / ".bin" / "allure"

RESULTS = "allure-results"
HTML = "html"
JUNIT = "junit.xml"
COVERAGE_PARTS = "coverage-parts"  # per-worker coverage recorded by harness/plugin.py
COVERAGE_NAME = "API coverage matrix"
FINDINGS_NAME = "Findings"  # the findings overview (global attachment); failing tests are grouped by finding
FINDINGS_JSON = "findings.json"  # written by harness/findings_plugin.py
FINDINGS_STASH = "findings.json"  # its copy inside a results folder
SINGLE_FILE_WARN_MB = 100  # a single-file report inlines every attachment; past this browsers struggle

# Options whose value names a credential: the values are checked for (and scrubbed from) the outputs.
SECRET_OPTIONS = ("--api-key", "--second-api-key")
SECRET_ENV = ("HARNESS_API_KEY", "HARNESS_SECOND_API_KEY")
# Text-like outputs worth scanning; binary attachments (images) cannot hold a key in readable form.
_SCANNED_SUFFIXES = {".json", ".txt", ".xml", ".md", ".properties", ".html", ".js", ".csv", ".log", ".jsonl"}
# pytest options whose (space-separated) value is a path or node id, not a test to run.
PATH_VALUED_OPTIONS = frozenset({
    "-c", "--config-file", "--rootdir", "--basetemp", "--confcutdir", "--ignore", "--ignore-glob", "--deselect",
    "--junitxml", "--alluredir", "--durations-path", "--harness-config", "-p",
})


def shown(path: Path) -> str:
    """A path as a person would type it from the project root."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def say(message: str) -> None:
    """Report progress on stderr so stdout stays pytest's."""
    print(f"report: {message}", file=sys.stderr, flush=True)


# -- pytest ----------------------------------------------------------------------------------------------------


def has_test_paths(args: Sequence[str], cwd: Path = ROOT) -> bool:
    """Whether the pytest args already name tests to run (then `suites` is not added on top of them).

    A test path is an existing directory or .py file (optionally with ::node); values of options that take a
    path (`--ignore x`, `--durations-path .test_durations`) don't count.
    """
    skip_next = False
    for arg in args:
        if skip_next or arg.startswith("-"):
            skip_next = arg in PATH_VALUED_OPTIONS
            continue
        candidate = Path(arg.split("::", 1)[0])
        full = candidate if candidate.is_absolute() else cwd / candidate
        if full.is_dir() or (full.is_file() and full.suffix == ".py"):
            return True
    return False


def pytest_command(results: Path, junit: Path, args: Sequence[str]) -> list[str]:
    """The pytest command line of a report run: `args` as given, ``suites`` unless they name test paths, Allure
    results into `results` and JUnit XML into `junit`."""
    targets = [] if has_test_paths(args) else ["suites"]
    return [sys.executable, "-m", "pytest", *targets, "--alluredir", str(results), "--junitxml", str(junit), *args]


USAGE_ERROR = 4  # pytest.ExitCode.USAGE_ERROR: bad options, no test ran
PREVIOUS = ".previous-run"
"""Where the previous run's results, HTML and JUnit XML wait while pytest runs (put back if it never started)."""


def set_aside(reports: Path) -> Path:
    """Move the previous run's outputs out of the way (into `PREVIOUS`); the history file stays, it is what the
    trend charts are built from. Returns the folder they are in."""
    aside = reports / PREVIOUS
    shutil.rmtree(aside, ignore_errors=True)
    aside.mkdir(parents=True)
    for name in (RESULTS, HTML, JUNIT):
        if (reports / name).exists():
            (reports / name).rename(aside / name)
    return aside


def put_back(aside: Path, reports: Path) -> None:
    """Undo `set_aside`: the previous run's outputs return, whatever the failed start left in their place."""
    for name in (RESULTS, HTML, JUNIT):
        if (aside / name).exists():
            target = reports / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
            (aside / name).rename(target)
    shutil.rmtree(aside, ignore_errors=True)


# -- secrets ---------------------------------------------------------------------------------------------------


def secrets_in(args: Sequence[str], env: dict[str, str] | None = None) -> set[str]:
    """API keys this run was given (command line or environment): they must not appear in any output."""
    env = os.environ if env is None else env
    found = {env[name] for name in SECRET_ENV if env.get(name)}
    for n, arg in enumerate(args):
        for opt in SECRET_OPTIONS:
            if arg == opt and n + 1 < len(args):
                found.add(args[n + 1])
            elif arg.startswith(f"{opt}="):
                found.add(arg.split("=", 1)[1])
    return {s for s in found if len(s) >= 8}


def _files(paths: Iterable[Path]) -> Iterable[Path]:
    for path in paths:
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from (p for p in sorted(path.rglob("*")) if p.is_file())


def scrub_leaks(paths: Iterable[Path], secrets: Iterable[str]) -> list[Path]:
    """Replace any of `secrets` found in text files under `paths`; return the files that held one.

    The last line of defence before results are shared (CI artifacts): the harness redacts at the source, so
    anything found here is a redaction bug, scrubbed now and reported loudly.
    """
    from harness.redaction import redact_text  # lazily: keeps `--help` and missing-Allure paths fast

    needles = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not needles:
        return []
    leaked = []
    for path in _files(paths):
        if path.suffix.lower() not in _SCANNED_SUFFIXES:
            continue
        data = path.read_bytes()
        if not any(s.encode() in data for s in needles):
            continue
        text = data.decode("utf-8", errors="surrogateescape")
        path.write_bytes(redact_text(text, needles).encode("utf-8", errors="surrogateescape"))
        leaked.append(path)
    return leaked


# -- coverage matrix -------------------------------------------------------------------------------------------


def stash_coverage_parts(results: Path, started: float, reports: Path) -> int:
    """Copy this run's per-worker coverage into the results, so it travels with them (CI shards merge it later).

    harness/plugin.py records coverage under its own reports folder; this run's parts are the ones written
    since the run started (older ones belong to another run, e.g. before a usage error stopped pytest early).
    """
    from harness.plugin import REPORTS  # the plugin's folder, wherever that is

    for folder in dict.fromkeys([reports / COVERAGE_PARTS, REPORTS / COVERAGE_PARTS]):
        parts = [p for p in folder.glob("*.json") if p.stat().st_mtime >= started - 1]
        if parts:
            dest = results / COVERAGE_PARTS
            dest.mkdir(parents=True, exist_ok=True)
            for part in parts:
                shutil.copy2(part, dest / part.name)
            return len(parts)
    return 0


def coverage_markdown(results_dirs: Sequence[Path]) -> str | None:
    """The coverage matrix merged over every results folder's stashed parts (None when there are none)."""
    from contracts.loader import load_contract
    from harness.coverage import matrix, merge

    parts = [json.loads(p.read_text()) for d in results_dirs for p in sorted((d / COVERAGE_PARTS).glob("*.json"))]
    if not parts:
        return None
    return matrix(load_contract(), merge(parts)).markdown()


def write_globals(folder: Path, documents: dict[str, str]) -> None:
    """An Allure results folder holding markdown documents as global attachments (the report's Global Attachments
    tab): the coverage matrix, the findings overview.

    Global attachments rather than synthetic tests: they are visible from the overview without adding fake
    results to the pass/fail counts.
    """
    folder.mkdir(parents=True, exist_ok=True)
    attachments = []
    for name, markdown in documents.items():
        source = f"{uuid.uuid4()}-attachment.md"
        (folder / source).write_text(markdown, encoding="utf-8")
        attachments.append({"name": f"{name}.md", "source": source, "type": "text/markdown",
                            "timestamp": int(time.time() * 1000)})
    globals_file = {"attachments": attachments, "errors": []}
    (folder / f"{uuid.uuid4()}-globals.json").write_text(json.dumps(globals_file), encoding="utf-8")


# -- findings --------------------------------------------------------------------------------------------------


def stash_findings(results: Path, started: float, reports: Path) -> bool:
    """Copy this run's findings.json (merged and replayed by the pytest controller) into the results, so it
    travels with them and `generate` can show it (CI shards: merged again there)."""
    source = reports / FINDINGS_JSON
    if not source.exists() or source.stat().st_mtime < started - 1:
        return False
    shutil.copy2(source, results / FINDINGS_STASH)
    return True


def findings_markdown(results_dirs: Sequence[Path]) -> str | None:
    """The findings overview merged over every results folder's stashed findings (None when none was stashed)."""
    from harness.findings import Finding, merge
    from harness.findings_output import markdown

    stashed = [d / FINDINGS_STASH for d in results_dirs if (d / FINDINGS_STASH).exists()]
    if not stashed:
        return None
    found = [Finding.from_dict(item) for path in stashed
             for item in json.loads(path.read_text(encoding="utf-8")).get("findings", [])]
    return markdown(merge(found))


# -- Allure ----------------------------------------------------------------------------------------------------


def allure_missing() -> str | None:
    """Why the HTML can't be rendered here, or None when Allure 3 is runnable."""
    if shutil.which("node") is None:
        return "Node.js is not installed (Allure 3 needs Node.js 20+)"
    if not ALLURE_BIN.exists():
        return f"Allure 3 is not installed ({shown(ALLURE_BIN)} is missing): run `npm ci` in {ROOT}"
    return None


def generate(reports: Path, results_dirs: Sequence[Path], *, single_file: bool) -> int:
    """Render the HTML report into <reports>/html; returns Allure's exit code (2 when Allure is unavailable)."""
    missing = allure_missing()
    if missing:
        say(f"no HTML report: {missing}. The raw results are in {', '.join(map(str, results_dirs))}.")
        return 2
    existing = [d for d in results_dirs if d.is_dir()]
    if not existing:
        say(f"no results to render: {', '.join(map(str, results_dirs))} not found")
        return 2
    shutil.rmtree(reports / HTML, ignore_errors=True)
    env = {**os.environ, "HARNESS_REPORTS_DIR": str(reports), "HARNESS_SINGLE_FILE": "1" if single_file else "0"}
    with tempfile.TemporaryDirectory(prefix="harness-report-") as extra:
        inputs = [str(d) for d in existing]
        documents = {COVERAGE_NAME: coverage_markdown(existing), FINDINGS_NAME: findings_markdown(existing)}
        documents = {name: text for name, text in documents.items() if text}
        if documents:
            write_globals(Path(extra), documents)
            inputs.append(extra)
        cmd = [str(ALLURE_BIN), "generate", "--config", str(CONFIG), *inputs]
        started = time.monotonic()
        done = subprocess.run(cmd, cwd=ROOT, env=env, check=False)
        took = time.monotonic() - started
    index = reports / HTML / "index.html"
    if done.returncode != 0 or not index.exists():
        say(f"Allure failed to render the report (exit {done.returncode}); results are in {', '.join(inputs)}")
        return done.returncode or 1
    say(f"HTML report ({took:.0f} s to render): {shown(index)}")
    if single_file:
        size_mb = index.stat().st_size / 1e6
        say(f"  a single self-contained file ({size_mb:.0f} MB): open it directly in a browser")
        if size_mb > SINGLE_FILE_WARN_MB:
            say("  that is heavy for a browser; the multi-file report (without --single-file) loads lazily")
    else:
        say(f"  serve it (browsers block file:// data loads): {shown(ALLURE_BIN)} open {shown(reports / HTML)}")
        say("  or run with --single-file (HARNESS_SINGLE_FILE=1) for one file that opens from disk")
    return 0


# -- commands --------------------------------------------------------------------------------------------------


def cmd_run(opts: argparse.Namespace, pytest_args: list[str]) -> int:
    reports: Path = opts.reports_dir
    results, junit = reports / RESULTS, reports / JUNIT
    aside = set_aside(reports)
    results.mkdir(parents=True, exist_ok=True)
    cmd = pytest_command(results, junit, pytest_args)
    started = time.time()
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "HARNESS_REPORTS_DIR": str(reports)})
    try:
        code = proc.wait()
    except KeyboardInterrupt:  # pytest got the same Ctrl-C: it stops and writes what it has, which we render
        code = proc.wait()
        say("interrupted: the report covers the tests that finished")
    say(f"pytest took {time.time() - started:.0f} s")
    if code == USAGE_ERROR:  # nothing ran: keep the last run's report as it was
        put_back(aside, reports)
        say(f"pytest stopped on a usage error (above) before any test ran; the last report in {shown(reports)} "
            "is unchanged")
        return code
    shutil.rmtree(aside, ignore_errors=True)
    stash_coverage_parts(results, started, reports)
    stash_findings(results, started, reports)
    findings_outputs = [reports / FINDINGS_JSON, reports / "findings.md", reports / "findings"]
    leaked = scrub_leaks([results, junit, *findings_outputs], secrets_in(pytest_args))
    if leaked:
        say(f"WARNING: an API key was written to {len(leaked)} file(s) and has been scrubbed "
            f"(a redaction bug, please report it): {', '.join(str(p) for p in leaked[:10])}")
    say(f"results: {results}  junit: {junit}")
    if opts.no_html:
        say("--no-html: skipping the HTML report (render later with `python -m harness.report generate`)")
    else:
        generate(reports, [results], single_file=opts.single_file)
    say(f"pytest exit code: {code}")
    return code


def cmd_generate(opts: argparse.Namespace) -> int:
    reports: Path = opts.reports_dir
    dirs = [Path(d).resolve() for d in opts.results] or [reports / RESULTS]
    return generate(reports, dirs, single_file=opts.single_file)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m harness.report", description=__doc__.split("\n\n")[0],
                                  allow_abbrev=False)
    sub = top.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--reports-dir", type=lambda s: Path(s).resolve(),
                       default=Path(os.environ.get("HARNESS_REPORTS_DIR") or DEFAULT_REPORTS).resolve(),
                       help="where results, junit.xml, html/ and history.jsonl go [HARNESS_REPORTS_DIR; "
                            "default: reports/]")
        p.add_argument("--single-file", action="store_true", default=os.environ.get("HARNESS_SINGLE_FILE") == "1",
                       help="one self-contained index.html that opens from disk [HARNESS_SINGLE_FILE=1]")

    run = sub.add_parser("run", allow_abbrev=False, help="run pytest on the suites, then render the report",
                         usage="%(prog)s [--reports-dir DIR] [--single-file] [--no-html] [-- PYTEST ARGS...]")
    common(run)
    run.add_argument("--no-html", action="store_true", default=os.environ.get("HARNESS_NO_HTML") == "1",
                     help="results and junit.xml only (e.g. a CI shard) [HARNESS_NO_HTML=1]")
    gen = sub.add_parser("generate", allow_abbrev=False, help="render the report from existing results")
    common(gen)
    gen.add_argument("results", nargs="*", help="results folders to merge (default: <reports-dir>/allure-results)")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" in argv:
        cut = argv.index("--")
        own, pytest_args = argv[:cut], argv[cut + 1:]
        opts = parser().parse_args(own)
    else:
        opts, pytest_args = parser().parse_known_args(argv)
        if opts.command == "generate" and pytest_args:
            parser().error(f"unrecognized arguments: {' '.join(pytest_args)}")
    if opts.command == "run":
        return cmd_run(opts, pytest_args)
    return cmd_generate(opts)


if __name__ == "__main__":
    sys.exit(main())
