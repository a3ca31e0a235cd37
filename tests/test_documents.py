"""The JSON copies `contracts.documents.read_yaml` keeps of the YAML documents."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from contracts.documents import cache_path, read_yaml
from contracts.loader import CONTRACT_PATH, SUPPORT_PATH
from contracts.rules import RULES_FILE


def _copies(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "__pycache__").glob("*.json"))


def test_the_first_read_keeps_a_copy_and_the_next_reads_it(tmp_path):
    doc = tmp_path / "doc.yaml"
    doc.write_text("a: [1, 2.5, null, true]\nb: {c: text}\n")
    first = read_yaml(doc)
    assert first == {"a": [1, 2.5, None, True], "b": {"c": "text"}}
    copy = cache_path(doc, doc.read_bytes())
    assert copy.exists()
    copy.write_text('{"from": "the copy"}')  # proves the second read comes from the copy
    assert read_yaml(doc) == {"from": "the copy"}


def test_an_edited_document_is_never_read_stale_and_its_old_copy_goes(tmp_path):
    doc = tmp_path / "doc.yaml"
    doc.write_text("version: 1\n")
    assert read_yaml(doc) == {"version": 1}
    doc.write_text("version: 2\n")
    assert read_yaml(doc) == {"version": 2}
    assert _copies(tmp_path) == [cache_path(doc, doc.read_bytes()).name]


def test_a_document_json_cannot_hold_is_parsed_every_time(tmp_path):
    doc = tmp_path / "doc.yaml"
    doc.write_text("200: ok\nwhen: 2024-01-02\n")  # an integer key and a date
    assert read_yaml(doc) == yaml.safe_load(doc.read_text())
    assert _copies(tmp_path) == []


def test_a_torn_copy_is_replaced(tmp_path):
    doc = tmp_path / "doc.yaml"
    doc.write_text("a: 1\n")
    copy = cache_path(doc, doc.read_bytes())
    copy.parent.mkdir()
    copy.write_text('{"a": ')
    assert read_yaml(doc) == {"a": 1}
    assert read_yaml(doc) == {"a": 1} and copy.read_text() == '{"a":1}'


def test_a_folder_that_cannot_be_written_only_means_no_copy(tmp_path):
    doc = tmp_path / "doc.yaml"
    doc.write_text("a: 1\n")
    (tmp_path / "__pycache__").write_text("a file where the folder would go")  # fails even for root
    assert read_yaml(doc) == {"a": 1}
    assert read_yaml(doc) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["__pycache__", "doc.yaml"]


@pytest.mark.parametrize("path", [CONTRACT_PATH, SUPPORT_PATH, RULES_FILE], ids=lambda p: p.name)
def test_the_projects_documents_are_read_as_yaml_parses_them(path):
    """The copies are used for every document of contracts/ (JSON holds each one as it is)."""
    assert read_yaml(path) == yaml.load(path.read_bytes(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert cache_path(path, path.read_bytes()).exists()
