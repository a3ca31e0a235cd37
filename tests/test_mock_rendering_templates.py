"""The mock's invoice rendering templates: active <-> archived, versions, status filter, isolation."""

from __future__ import annotations

import functools

from mockserver.app import MockApp
from mockserver.testing import TEST_KEY, InProcessClient, fails, listed, ok

HELPER = "/v1/test_helpers/invoice_rendering_templates"
TEMPLATES = "/v1/invoice_rendering_templates"







def new_template(client: InProcessClient, **params: object) -> dict:
    return ok(client.post(HELPER, params), "TestHelperCreateInvoiceRenderingTemplate")


def get(client: InProcessClient, template_id: str, **params: object) -> dict:
    return ok(client.get(f"{TEMPLATES}/{template_id}", params), "RetrieveInvoiceRenderingTemplate")


def test_create_and_retrieve(client: InProcessClient) -> None:
    template = new_template(client, nickname="Classic", metadata={"team": "billing"})
    assert template["id"].startswith("inrtem_")
    assert (template["status"], template["version"]) == ("active", 1)
    assert template["nickname"] == "Classic" and template["metadata"] == {"team": "billing"}
    assert get(client, template["id"]) == template
    assert get(client, template["id"], version=1) == template
    bare = new_template(client)
    assert bare["nickname"] is None and bare["metadata"] == {}


def test_archive_unarchive_lifecycle(client: InProcessClient) -> None:
    template = new_template(client)
    path = f"{TEMPLATES}/{template['id']}"
    fails(client.post(f"{path}/unarchive"), 400, code="invalid_state")
    assert get(client, template["id"]) == template
    archived = ok(client.post(f"{path}/archive"), "ArchiveInvoiceRenderingTemplate")
    assert archived["status"] == "archived" and archived["version"] == 1
    fails(client.post(f"{path}/archive"), 400, code="invalid_state")
    assert get(client, template["id"]) == archived
    active = ok(client.post(f"{path}/unarchive"), "UnarchiveInvoiceRenderingTemplate")
    assert active["status"] == "active"
    assert active == template


def test_versions(app: MockApp, client: InProcessClient) -> None:
    template = new_template(client, nickname="v1 name")
    fails(client.get(f"{TEMPLATES}/{template['id']}", {"version": 2}), 404, "version", "resource_missing")
    fails(client.get(f"{TEMPLATES}/{template['id']}", {"version": 0}), 404, "version")
    fails(client.get(f"{TEMPLATES}/{template['id']}", {"version": "one"}), 400, "version",
          "parameter_invalid_integer")
    # Simulate a Dashboard edit (the API cannot edit content): version 2 with a new nickname.
    stored = app.store.account(TEST_KEY).collection("invoice_rendering_template").get(template["id"])
    stored.update(version=2, nickname="v2 name")
    assert get(client, template["id"])["nickname"] == "v2 name"
    old = get(client, template["id"], version=1)
    assert (old["version"], old["nickname"]) == (1, "v1 name")
    assert get(client, template["id"], version=2)["nickname"] == "v2 name"
    fails(client.get(f"{TEMPLATES}/{template['id']}", {"version": 3}), 404, "version")


def test_list_status_filter(client: InProcessClient) -> None:
    a, b, c = (new_template(client, nickname=n) for n in "abc")
    ok(client.post(f"{TEMPLATES}/{b['id']}/archive"), "ArchiveInvoiceRenderingTemplate")

    ids = functools.partial(listed, client, TEMPLATES, "ListInvoiceRenderingTemplates")

    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids(status="active") == [c["id"], a["id"]]
    assert ids(status="archived") == [b["id"]]
    assert ids(status="active", limit=1) == [c["id"]]
    assert ids(status="active", starting_after=c["id"]) == [a["id"]]
    fails(client.get(TEMPLATES, {"status": "deleted"}), 400, "status")


def test_isolation(client: InProcessClient, other: InProcessClient) -> None:
    template = new_template(client)
    path = f"{TEMPLATES}/{template['id']}"
    fails(other.get(path), 404, code="resource_missing")
    fails(other.post(f"{path}/archive"), 404, code="resource_missing")
    fails(other.post(f"{path}/unarchive"), 404, code="resource_missing")
    assert ok(other.get(TEMPLATES), "ListInvoiceRenderingTemplates")["data"] == []
    assert get(client, template["id"]) == template
