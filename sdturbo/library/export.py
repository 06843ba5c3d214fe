"""Library images as one zip: the PNGs under their library names and a manifest.json like the asset tool's."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from typing import BinaryIO

from sdturbo.library.record import Entry, utc_now
from sdturbo.library.store import Library

MAX_EXPORT = 5000
MANIFEST = "manifest.json"


def write_zip(library: Library, entries: list[Entry], out: BinaryIO) -> dict:
    """Write the zip of `entries` to `out` (PNGs stored as they are: already compressed); returns the manifest."""
    manifest = {"exported": utc_now(), "count": len(entries), "images": []}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for entry in entries:
            archive.write(library.path(entry), entry.file)
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
