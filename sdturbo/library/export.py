"""Library images as one zip: the PNGs under their library names and a manifest.json like the asset tool's."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from typing import BinaryIO

from sdturbo.errors import TooLarge
from sdturbo.library.record import Entry, utc_now
from sdturbo.library.store import Library

MAX_EXPORT = 5000  # images
MAX_EXPORT_BYTES = 4 * 2**30  # what the temporary zip may take on disk


def check_size(entries: list[Entry]) -> None:
    """TooLarge when the zip of `entries` would pass MAX_EXPORT_BYTES."""
    total = sum(entry.bytes for entry in entries)
    if total > MAX_EXPORT_BYTES:
        raise TooLarge(
            "ids", f"the images take {total / 2**30:.1f} GB; export at most {MAX_EXPORT_BYTES // 2**30} GB at once"
        )


MANIFEST = "manifest.json"


def write_zip(library: Library, entries: list[Entry], out: BinaryIO) -> dict:
    """Write the zip of `entries` to `out` (PNGs stored as they are: already compressed); returns the manifest."""
    manifest = {"exported": utc_now(), "count": 0, "images": [], "missing": []}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for entry in entries:
            try:
                archive.write(library.path(entry), entry.file)
            except FileNotFoundError:  # deleted meanwhile (or by hand): listed, not fatal
                manifest["missing"].append({"id": entry.id, "file": entry.file})
                continue
            manifest["count"] += 1
            init = entry.record.init_sha256
            if init and library.init_path(init).is_file() and f"inits/{init}.png" not in archive.namelist():
                archive.write(library.init_path(init), f"inits/{init}.png")  # img2img: made again from these
            manifest["images"].append(
                {
                    "file": entry.file,
                    "id": entry.id,
                    **dataclasses.asdict(entry.record),
                    "parameters": entry.record.parameters,
                    "sha256": entry.sha256,
                    "starred": entry.starred,
                    "note": entry.note,
                    "collections": [c.name for c in entry.collections],
                }
            )
        text = json.dumps(manifest, indent=2, ensure_ascii=False)
        archive.writestr(MANIFEST, text, compress_type=zipfile.ZIP_DEFLATED)
    return manifest
