"""Concept-art batches: a curated catalog rendered into folders, a manifest and contact sheets.

Resumable: images already on disk that match the manifest (same run settings, prompt and
SHA-256) are skipped, so an interrupted run finishes where it stopped. Every file is written whole
or not at all (temporary file, fsync, rename): a full disk raises OSError naming the file and
leaves the files before it as they were.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from sdturbo.assets import manifest as manifests
from sdturbo.assets.contact_sheet import Tile, make_sheet
from sdturbo.config import Settings
from sdturbo.domain.rules import load_data
from sdturbo.errors import InvalidParameterError
from sdturbo.metadata import slug, write_atomically
from sdturbo.params import check_count, check_seed
from sdturbo.schema import encode_pngs
from sdturbo.studio import OutOfDomain, Studio

log = logging.getLogger(__name__)
SHEET = "contact_sheet.png"
SEED_STRIDE = 1000  # category k's image j uses seed + k * 1000 + j: stable when categories are chosen differently


@functools.cache
def catalog() -> dict[str, dict]:
    """Categories of sdturbo/data/assets.toml, in file order."""
    return load_data("assets.toml")["categories"]


def prompts_of(category: str) -> list[str]:
    """Every prompt of a category; subjects vary fastest so the first few are already diverse."""
    spec = catalog()[category]
    subjects, variations = spec["subjects"], spec["variations"]
    return [
        f"{subjects[i % len(subjects)]}, {variations[i // len(subjects)]}"
        for i in range(len(subjects) * len(variations))
    ]


@dataclass(frozen=True)
class AssetSpec:
    """One planned image."""

    category: str
    index: int
    prompt: str
    seed: int
    file: str  # relative to the output folder


def plan(categories: list[str] | None, per_category: int, seed: int) -> list[AssetSpec]:
    """The images of a run, category by category; raises InvalidParameterError for bad choices."""
    names = list(catalog())
    chosen = names if categories is None else list(dict.fromkeys(categories))
    unknown = [c for c in chosen if c not in catalog()]
    if unknown or not chosen:
        raise InvalidParameterError("categories", f"unknown {unknown or 'empty list'}; choose from {', '.join(names)}")
    most = min(len(prompts_of(c)) for c in chosen)
    check_count(per_category, "per_category", 1, most)
    check_seed(seed, count=len(names) * SEED_STRIDE)
    specs = []
    for category in chosen:
        for j, prompt in enumerate(prompts_of(category)[:per_category]):
            seed_j = seed + names.index(category) * SEED_STRIDE + j
            specs.append(AssetSpec(category, j, prompt, seed_j, f"{category}/{j:03d}-{slug(prompt, 48)}.png"))
    return specs


def generate_anime_assets(
    out_dir: str | Path = "anime_assets",
    *,
    categories: list[str] | None = None,
    per_category: int = 4,
    steps: int = 2,
    seed: int = 0,
    width: int = 512,
    height: int = 512,
    style: str = "anime",
    studio: Studio | None = None,
    force: bool = False,
    progress: bool = True,
) -> dict:
    """Render the catalog into `out_dir`; return the manifest (also written to manifest.json).

    `studio`: the service that validates and renders (default: one on Settings.from_env()).
    """
    # 1. every image as a checked request and the saved manifest checked, before any work
    specs = plan(categories, per_category, seed)
    studio = studio or Studio(Settings.from_env())
    if studio.served:
        raise InvalidParameterError("studio", "must not be started: asset batches run on the caller's thread")
    requests = {(s.category, s.index): _request(studio, s, style, steps, width, height) for s in specs}
    saved = manifests.read(Path(out_dir), list(catalog()), force)
    out = _prepare_folder(Path(out_dir), {s.category for s in specs})
    # 2. the model, and what identifies this run
    engine = studio.load().engine
    run = {
        "seed": seed,
        "steps": steps,
        "width": width,
        "height": height,
        "style": style,
        "model": engine.source.label,
    }
    manifest = manifests.resume(out, saved, run)
    # 3. generate what is missing, category by category, saving the manifest after every batch
    started, made = time.perf_counter(), 0
    for category in dict.fromkeys(s.category for s in specs):
        todo = [s for s in specs if s.category == category and not _is_done(out, manifest, s)]
        made += _render(out, manifest, todo, requests, studio, progress)
    seconds = time.perf_counter() - started
    # 4. contact sheets and the summary
    _write_sheets(out, manifest, run, engine.source.is_random)
    total = len(specs)
    manifest["summary"] = {
        "images": total,
        "generated": made,
        "skipped": total - made,
        "seconds": round(seconds, 2),
        "images_per_s": round(made / seconds, 2) if made else 0.0,
    }
    manifests.save(out, manifest)
    log.info(
        "%d images (%d new, %d already done) in %.1f s, %.2f images/s -> %s",
        total,
        made,
        total - made,
        seconds,
        manifest["summary"]["images_per_s"],
        out,
    )
    return manifest


def _prepare_folder(out: Path, categories: set[str]) -> Path:
    try:
        for category in categories:
            (out / category).mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()  # a file can be made here
    except OSError as err:
        raise InvalidParameterError("out_dir", f"cannot write to {str(out)!r}: {err.strerror or err}") from None
    return out


def _is_done(out: Path, manifest: dict, spec: AssetSpec) -> bool:
    entry = _entry(manifest, spec.category, spec.index)
    path = out / spec.file
    return (
        entry is not None
        and entry["prompt"] == spec.prompt
        and entry["file"] == spec.file
        and path.is_file()
        and _sha256(path.read_bytes()) == entry["sha256"]
    )


def _entry(manifest: dict, category: str, index: int) -> dict | None:
    return next((e for e in manifest["images"] if (e["category"], e["index"]) == (category, index)), None)


def _render(out, manifest, todo: list[AssetSpec], requests: dict, studio: Studio, progress: bool) -> int:
    """Generate `todo` (one category) in batches of the engine's size; returns how many images were written."""
    from tqdm import tqdm

    size, category = studio.settings.max_batch_size, todo[0].category if todo else ""
    bar = tqdm(total=len(todo), desc=category, unit="img", disable=not progress or None)
    for start in range(0, len(todo), size):
        chunk = todo[start : start + size]
        results = studio.run([requests[(s.category, s.index)] for s in chunk])
        for spec, result, data in zip(chunk, results, encode_pngs(results), strict=True):
            write_atomically(out / spec.file, data)
            manifest["images"] = [
                e for e in manifest["images"] if (e["category"], e["index"]) != (category, spec.index)
            ]
            manifest["images"].append(
                {
                    **asdict(spec),
                    "effective_prompt": result.prompt,
                    "steps": result.steps,
                    "width": result.width,
                    "height": result.height,
                    "sha256": _sha256(data),
                    "elapsed_ms": round(result.elapsed_ms / result.batch_size, 1),
                    "model": result.model,
                }
            )
        manifest["images"].sort(key=lambda e: (list(catalog()).index(e["category"]), e["index"]))
        manifests.save(out, manifest)  # an interrupted run keeps every finished batch
        bar.update(len(chunk))
    bar.close()
    return len(todo)


def _request(studio: Studio, spec: AssetSpec, style, steps, width, height):
    try:
        return studio.prepare(spec.prompt, style=style, steps=steps, seed=spec.seed, width=width, height=height)
    except OutOfDomain as err:  # the catalog is curated data: a rejected entry is a bug in it
        raise ValueError(f"catalog prompt {spec.prompt!r} fails the domain validator: {err.verdict.reasons}") from None


def _write_sheets(out: Path, manifest: dict, run: dict, random_weights: bool) -> None:
    images = manifest["images"]
    subtitle = (
        f"seed {run['seed']} · {run['steps']} step(s) · {run['width']}x{run['height']} · style {run['style']} "
        f"· model {run['model']}" + (" · random weights: images are noise" if random_weights else "")
    )
    for category in dict.fromkeys(e["category"] for e in images):
        entries = [e for e in images if e["category"] == category]
        tiles = [Tile(out / e["file"], f"#{e['index']} seed {e['seed']}: {e['prompt']}") for e in entries]
        sheet = make_sheet(tiles, catalog()[category]["title"], subtitle, run["width"], run["height"])
        write_atomically(out / category / SHEET, _png(sheet))
    tiles = [Tile(out / e["file"], f"{catalog()[e['category']]['title']} #{e['index']}: {e['prompt']}") for e in images]
    write_atomically(out / SHEET, _png(make_sheet(tiles, "Concept library", subtitle, run["width"], run["height"])))


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
