"""Read the YAML documents of `contracts/` through a JSON copy kept beside them, as Python keeps bytecode.

Every process of a run reads the contract: each pytest-xdist worker (fourteen against a distant target), the mock,
each run of the fault matrix. PyYAML takes ~0.2 CPU s to build the 570 KB `openapi.yaml`, even with libyaml's
parser, while `json` loads the same document in ~5 ms. So the first reader writes
`contracts/__pycache__/<name>.<sha256 of the YAML>.json` and later readers load that.

- The copy is named after the SHA-256 of the YAML bytes, so an edited document is never read stale; older copies
  of the same document are removed when a new one is written.
- A document JSON cannot hold as it is (a non-string key, a date) is never copied, only parsed every time.
- A directory that cannot be written (a read-only checkout) only means that no copy is kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when PyYAML was built with it


def cache_path(path: Path, text: bytes) -> Path:
    """Where the JSON copy of the YAML document `path`, whose bytes are `text`, is kept."""
    digest = hashlib.sha256(text).hexdigest()[:16]
    return path.parent / "__pycache__" / f"{path.name}.{digest}.json"


def read_yaml(path: Path) -> Any:
    """The YAML document at `path` as PyYAML's safe loader builds it (dicts, lists, strings, numbers, ...).

    :raises OSError: `path` cannot be read.
    :raises yaml.YAMLError: it is not YAML.
    """
    text = path.read_bytes()
    copy = cache_path(path, text)
    try:
        return json.loads(copy.read_bytes())
    except (OSError, ValueError):  # no copy yet, or a torn one: parse the YAML
        pass
    document = yaml.load(text, Loader=_Loader)
    try:
        encoded = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):  # a date, a set, bytes ...
        return document
    if json.loads(encoded) == document:  # not so for an integer key (back as a string) or a NaN
        _keep(copy, encoded.encode())
    return document


def _keep(copy: Path, data: bytes) -> None:
    """Write `copy` whole (a temporary file renamed over it) and remove older copies of the same document."""
    tmp = None
    try:
        copy.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=copy.parent, prefix=copy.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, copy)
        tmp = None
        stem = copy.name.rsplit(".", 2)[0]  # "<name>" of "<name>.<digest>.json"
        for old in copy.parent.glob(f"{stem}.*.json"):
            if old != copy and old.name.count(".") == copy.name.count("."):
                old.unlink(missing_ok=True)
    except OSError:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
