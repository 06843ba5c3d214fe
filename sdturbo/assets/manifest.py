"""manifest.json of an asset run: what identifies the run and every image made, checked on resume.

A manifest is read before any work and refused whole when it is not one this tool wrote (wrong JSON
shape, missing keys, wrong types, a file outside its category folder), so a bad one is never
overwritten nor half-trusted.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from sdturbo.errors import InvalidParameterError
from sdturbo.metadata import write_atomically

MANIFEST = "manifest.json"
# the keys a resumed run reads from each image entry, and their JSON types
ENTRY_FIELDS = {"category": str, "index": int, "prompt": str, "seed": int, "file": str, "sha256": str}


def read(out: Path, categories: list[str], force: bool) -> dict | None:
    """The manifest saved in `out`, checked; None when there is none or `force` starts over."""
    path = out / MANIFEST
    if force or not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InvalidParameterError("out_dir", f"{path} is not a readable manifest ({err}); use --force") from None
    problem = _problem(manifest, categories)
    if problem:
        raise InvalidParameterError(
            "out_dir",
            f"{path} is not a manifest of this tool: {problem}; fix or remove it, or use --force to start over",
        )
    return manifest


def resume(out: Path, saved: dict | None, run: dict) -> dict:
    """The manifest this run continues: `saved` when it holds the same run, a new one when there is none."""
    if saved is None:
        return {"run": run, "images": []}
    if saved["run"] != run:
        raise InvalidParameterError(
            "out_dir",
            f"{out} holds a run with other settings ({saved['run']}); this run is {run}. "
            "Use another --out, or --force to replace it",
        )
    return saved


def save(out: Path, manifest: dict) -> None:
    """Write manifest.json whole or not at all."""
    write_atomically(out / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8"))


def _problem(manifest: object, categories: list[str]) -> str | None:
    """What makes `manifest` unusable, or None."""
    if not isinstance(manifest, dict):
        return f"the top level is {_kind(manifest)}, not an object"
    for key, kind, name in (("run", dict, "an object"), ("images", list, "an array")):
        if key not in manifest:
            return f"{key!r} is missing"
        if not isinstance(manifest[key], kind):
            return f"{key!r} must be {name}, got {_kind(manifest[key])}"
    seen = set()
    for i, entry in enumerate(manifest["images"]):
        problem = _entry_problem(entry, categories)
        if problem:
            return f"images[{i}]{problem}"
        if (entry["category"], entry["index"]) in seen:
            return f"images[{i}] repeats {entry['category']} #{entry['index']}"
        seen.add((entry["category"], entry["index"]))
    return None


def _entry_problem(entry: object, categories: list[str]) -> str | None:
    """What is wrong with one image entry (as a suffix of `images[i]`), or None."""
    if not isinstance(entry, dict):
        return f" must be an object, got {_kind(entry)}"
    for key, kind in ENTRY_FIELDS.items():
        value = entry.get(key)
        if key not in entry:
            return f".{key} is missing"
        if not isinstance(value, kind) or isinstance(value, bool):
            return f".{key} must be {'a string' if kind is str else 'an integer'}, got {_kind(value)}"
    if entry["category"] not in categories:
        return f".category {entry['category']!r} is not in the catalog"
    parts = PurePosixPath(entry["file"]).parts
    if len(parts) != 2 or parts[0] != entry["category"] or parts[1].startswith(".") or "\\" in entry["file"]:
        return f".file {entry['file']!r} is not a file of {entry['category']}/"
    return None


def _kind(value: object) -> str:
    """How JSON names a decoded value's type: "a JSON array", "null", "true"."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON array"
    return "a JSON string" if isinstance(value, str) else "a JSON number"
