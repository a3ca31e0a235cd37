"""How every benchmark hands over its report: printed on stdout and written to a Markdown file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def publish(text: str, path: Path, note: Callable[[str], None] | None = None) -> None:
    """Print the report `text` and write it to `path` (its folder made if needed, ending with one newline).

    :param note: the benchmark's progress line on stderr, told where the report went; None says nothing.
    :raises OSError: the file cannot be written.
    """
    print(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text.endswith("\n") else text + "\n")
    if note is not None:
        note(f"written to {path}")
