"""Invoice rendering templates: `active <-> archived` (rows `template.*` of contracts/rules.yaml) and versioned reads.

The real API creates templates in the Dashboard, so a mock-only test helper creates them (version 1). Each version
keeps a snapshot of the template's content as it was; `?version=N` reads it (the status is the template's
current one: archiving applies to the template, not to a version). Unknown versions are a 404 naming `version`.
Snapshots live in a side collection keyed `<template id>@v<N>`, so they never appear in lists or expansions.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from mockserver.errors import no_such
from mockserver.handlers.common import create, fetch
from mockserver.handlers.registry import handles
from mockserver.lifecycle import require

if TYPE_CHECKING:
    from mockserver.context import Context

KIND = "invoice_rendering_template"
VERSIONS = "invoice_rendering_template_version"  # side collection of snapshots, not an API resource
VERSIONED_FIELDS = ("nickname", "metadata", "version")


def _snapshot(ctx: Context, template: dict) -> None:
    """Remember the content of the template's current version."""
    content = {name: copy.deepcopy(template[name]) for name in VERSIONED_FIELDS}
    ctx.account.collection(VERSIONS).add({"id": f"{template['id']}@v{template['version']}", "content": content})


@handles("TestHelperCreateInvoiceRenderingTemplate")
def create_template(ctx: Context) -> dict:
    p = ctx.params
    template = create(ctx, KIND, nickname=p.get("nickname") or None, metadata=p.get("metadata") or {},
                      status="active", version=1)
    _snapshot(ctx, template)
    return template


@handles("RetrieveInvoiceRenderingTemplate")
def retrieve_template(ctx: Context) -> dict:
    template = fetch(ctx, KIND)
    version = ctx.params.get("version")
    if version is None or version == template["version"]:
        return template
    snapshot = ctx.account.collection(VERSIONS).get(f"{template['id']}@v{version}")
    if not 1 <= version < template["version"] or snapshot is None:
        raise no_such("version", version, param="version", status=404,
                      detail=f"invoice rendering template '{template['id']}' is at version {template['version']}")
    return {**template, **copy.deepcopy(snapshot["content"])}


def _transition(ctx: Context, action: str) -> dict:
    """archive / unarchive, as the rules table allows (rules template.archive, template.unarchive)."""
    template = fetch(ctx, KIND)
    template["status"] = require("invoice_rendering_template", action, template)
    return template


@handles("ArchiveInvoiceRenderingTemplate")
def archive_template(ctx: Context) -> dict:
    return _transition(ctx, "archive")


@handles("UnarchiveInvoiceRenderingTemplate")
def unarchive_template(ctx: Context) -> dict:
    return _transition(ctx, "unarchive")
