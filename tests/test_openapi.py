"""/openapi.json describes exactly the routes the app has, is a valid OpenAPI 3.1 document, and /docs shows it."""

import pytest
from openapi_spec_validator import validate

from sdturbo.web import a1111
from sdturbo.web.openapi import ANY, OPERATIONS, field_schema, route_operations


@pytest.fixture(scope="module")
def app():
    from sdturbo.config import Settings
    from sdturbo.web import create_app
    from tests.fakes import FakeEngine

    return create_app(Settings(model="tiny", device="cpu", validator_model="none"), FakeEngine(), background=False)


def test_every_route_is_documented_and_every_documented_operation_is_a_route(app):
    documented = {(op.method, op.path) for op in OPERATIONS}
    routes = route_operations(app)
    assert routes - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented operations the app does not have"


def test_the_served_document_is_valid_openapi_3_1(app):
    document = app.test_client().get("/openapi.json").json
    validate(document)  # raises on an invalid document
    assert document["openapi"] == "3.1.0"
    generations = document["paths"]["/v1/images/generations"]["post"]["requestBody"]["content"]["application/json"]
    assert generations["schema"]["properties"]["size"]["pattern"]


def test_every_field_a_studio_or_openai_route_reads_has_its_own_schema():
    """Only A1111 fields that cannot change the image may be documented as plain "accepted"."""
    a1111_ops = {"/sdapi/v1/txt2img", "/sdapi/v1/img2img"}
    for op in OPERATIONS:
        for name in op.fields:
            if op.path in a1111_ops and name not in a1111.GENERATION_FIELDS | a1111.IMG2IMG_FIELDS or name == "*":
                continue  # "*": A1111's options, any of its settings
            assert field_schema(name, op.tag) is not ANY, f"{op.method} {op.path}: field {name} has no schema"


def test_a1111_operations_list_the_fields_the_route_knows(app):
    """A field the document does not list is ignored, as A1111 ignores it, and the answer says so."""
    import json

    txt2img = next(op for op in OPERATIONS if op.path == "/sdapi/v1/txt2img")
    assert set(txt2img.fields) == a1111.known_fields(img2img=False)
    answer = app.test_client().post("/sdapi/v1/txt2img", json={"prompt": "anime fox", "cfg_scale_typo": 1})
    assert answer.status_code == 200
    assert "cfg_scale_typo" in json.loads(answer.json["info"])["warnings"][0]


def test_docs_page_lists_every_operation_and_is_linked_from_the_studio(app):
    client = app.test_client()
    page = client.get("/docs").get_data(as_text=True)
    for op in OPERATIONS:
        assert op.path in page
    assert 'href="/openapi.json"' in page
    assert 'href="/docs"' in client.get("/").get_data(as_text=True)


def test_multipart_images_are_files_and_required(app):
    paths = app.test_client().get("/openapi.json").json["paths"]
    for path in ("/v1/images/edits", "/v1/images/variations"):
        schema = paths[path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert "image" in schema["required"] and "contentMediaType" in schema["properties"]["image"]
    both = paths["/api/img2img"]["post"]["requestBody"]["content"]
    assert set(both) == {"application/json", "multipart/form-data"}
    txt2img = paths["/sdapi/v1/txt2img"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert txt2img["properties"]["enable_hr"]["enum"] == [False]  # A1111 features SD-Turbo lacks: off only
