"""Folders of JSON files that the pytest processes of a run write side by side (one part per xdist worker, or one
file per finding), emptied when a new run or report starts."""

from __future__ import annotations

from pathlib import Path


def clear_json(folder: Path) -> None:
    """Remove the ``*.json`` files of `folder`, made if missing.

    Several pytest processes may share the folder (the harness's own tests start collections side by side), and
    each clears it when it starts: a file another one removed first is not an error."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.json"):
        old.unlink(missing_ok=True)
