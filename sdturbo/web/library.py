"""The library over HTTP (docs/LIBRARY.md): the gallery page, entries, files, collections, export, PNG info."""

from __future__ import annotations

import datetime
import re
import tempfile

from flask import Blueprint, jsonify, render_template, request, send_file

from sdturbo.errors import InvalidParameterError, NotFound
from sdturbo.library import Query
from sdturbo.library.export import MAX_EXPORT, check_size, write_zip
from sdturbo.library.pnginfo import read_png_info
from sdturbo.library.store import DEFAULT_PAGE, ids_field, note_field
from sdturbo.web.api import client_options
from sdturbo.web.common import entry_json, field, json_body, library, only, studio

bp = Blueprint("library", __name__)
PATCH_FIELDS = ("starred", "note", "collections")


@bp.get("/library")
def page():
    return render_template("library.html", options=client_options(), page_size=DEFAULT_PAGE)


@bp.get("/api/library")
def list_images():
    found = library().search(Query.parse(request.args.to_dict()))
    return jsonify(
        items=[entry_json(e) for e in found.items],
        next_cursor=None if found.next_cursor is None else str(found.next_cursor),
        total=found.total,
    )


@bp.get("/api/library/<int(max=9223372036854775807):entry_id>")
def entry(entry_id: int):
    return jsonify(entry_json(library().get(entry_id)))


@bp.patch("/api/library/<int(max=9223372036854775807):entry_id>")
def update(entry_id: int):
    body = json_body()
    only(body, PATCH_FIELDS)
    changed = library().update(
        entry_id,
        starred=field(body, "starred", None, _check_starred),
        note=field(body, "note", None, note_field),
        collections=field(body, "collections", None, _collection_ids),
    )
    return jsonify(entry_json(changed))


@bp.delete("/api/library/<int(max=9223372036854775807):entry_id>")
def delete(entry_id: int):
    deleted, _ = library().delete([entry_id])
    if not deleted:
        raise NotFound(f"no image {entry_id} in the library")
    return jsonify(deleted=deleted)


@bp.post("/api/library/delete")
def delete_many():
    deleted, missing = library().delete(ids_field(field(json_body(), "ids")))
    return jsonify(deleted=deleted, missing=missing)


@bp.post("/api/library/export")
def export():
    """A zip of the images named by `ids`, or of every image matching the list's filters."""
    body = json_body()
    store = library()
    if "ids" in body:
        if len(body) > 1:
            raise InvalidParameterError("ids", "give either ids or filters, not both")
        entries, missing = store.many(ids_field(body["ids"], most=MAX_EXPORT))
        if missing:
            raise NotFound(f"no image {', '.join(map(str, missing[:10]))} in the library")
    else:
        entries = store.all(Query.parse(body, paged=False), MAX_EXPORT)
    if not entries:
        raise InvalidParameterError("ids", "no image matches: nothing to export")
    check_size(entries)
    out = tempfile.SpooledTemporaryFile(max_size=64 * 2**20)  # noqa: SIM115 - send_file closes it
    write_zip(store, entries, out)
    out.seek(0)
    name = f"sdturbo-library-{datetime.datetime.now(datetime.UTC):%Y%m%d-%H%M%S}.zip"
    return send_file(out, mimetype="application/zip", as_attachment=True, download_name=name)


@bp.post("/api/library/<preview_id>/keep")
def keep(preview_id: str):
    """Keep a live preview (made again with the full VAE when a preview VAE drew it)."""
    body = json_body() if request.data else {}  # e.g. {"starred": true}, or empty
    starred = field(body, "starred", False, _check_starred)
    if re.fullmatch(r"[0-9]{1,18}", preview_id):  # a library id: it is kept already
        store = library()
        kept = store.update(int(preview_id), starred=True) if starred else store.get(int(preview_id))
        return jsonify(entry_json(kept)), 200
    library()  # the library must be usable before a preview is made again
    kept, created = studio().keep_preview(preview_id, starred=starred)
    return jsonify(entry_json(kept)), 201 if created else 200


@bp.get("/library/<int(max=9223372036854775807):entry_id>.png")
def image(entry_id: int):
    store = library()
    found = store.get(entry_id)
    download = request.args.get("download") in ("1", "true")
    name = f"sdturbo-{found.id}-{found.record.seed}.png"
    path = store.path(found)
    if not path.is_file():
        raise NotFound(f"the file of image {entry_id} is missing from the library folder ({found.file})")
    return send_file(path, mimetype="image/png", as_attachment=download, download_name=name, max_age=86400)


@bp.get("/library/<int(max=9223372036854775807):entry_id>.thumb")
def thumbnail(entry_id: int):
    store = library()
    path = store.thumbnail(store.get(entry_id))
    mimetype = "image/webp" if path.suffix == ".webp" else "image/jpeg"
    return send_file(path, mimetype=mimetype, max_age=86400)


@bp.get("/api/collections")
def collections():
    return jsonify(collections=[c.to_dict() for c in library().collections()])


@bp.post("/api/collections")
def create_collection():
    return jsonify(library().create_collection(field(json_body(), "name")).to_dict()), 201


@bp.patch("/api/collections/<int(max=9223372036854775807):cid>")
def rename_collection(cid: int):
    return jsonify(library().rename_collection(cid, field(json_body(), "name")).to_dict())


@bp.delete("/api/collections/<int(max=9223372036854775807):cid>")
def delete_collection(cid: int):
    library().delete_collection(cid)
    return jsonify(deleted=cid)


@bp.post("/api/collections/<int(max=9223372036854775807):cid>/images")
def collect(cid: int):
    body = json_body()
    unknown = sorted(set(body) - {"add", "remove"})
    if unknown:
        raise InvalidParameterError(unknown[0], "unknown field; allowed: add, remove")
    add = ids_field(body["add"], "add") if body.get("add") else []
    remove = ids_field(body["remove"], "remove") if body.get("remove") else []
    if not add and not remove:
        raise InvalidParameterError("add", "give image ids to add or remove")
    return jsonify(library().collect(cid, add, remove).to_dict())


@bp.post("/api/png-info")
def png_info():
    """The settings inside an uploaded PNG: multipart field `file`, or the PNG as the raw body."""
    upload = request.files.get("file")
    if upload is None and request.files:
        raise InvalidParameterError("file", f"the upload field must be named 'file', got {next(iter(request.files))!r}")
    data = upload.read() if upload is not None else request.get_data()
    return jsonify(read_png_info(data, studio().validator.styles))


def _check_starred(value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameterError("starred", f"must be true or false, got {value!r}")
    return value


def _collection_ids(value: object) -> list[int]:
    return [] if value == [] else ids_field(value, "collections")
