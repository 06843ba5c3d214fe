"""What a kept image is: its settings (the PNG's `sdturbo` chunk) and, once stored, its library entry."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sdturbo import metadata, params
from sdturbo.errors import InvalidParameterError
from sdturbo.schema import GenerationRequest, GenerationResult

_SHA256 = re.compile(r"[0-9a-f]{64}")
CHUNK = "sdturbo"  # the PNG text chunk holding an ImageRecord as JSON
FORMAT_VERSION = 1


def utc_now() -> str:
    """The current time as the library writes it: ISO 8601, UTC, milliseconds ("2026-11-25T18:45:01.123Z")."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class ImageRecord:
    """Everything needed to make an image again, and to rebuild its library row from the file alone."""

    created: str
    prompt: str  # as the user typed it
    effective_prompt: str  # what the model rendered: the prompt inside the style template
    style: str
    seed: int
    steps: int
    width: int
    height: int
    model: str
    vae: str | None
    elapsed_ms: float
    strength: float | None = None  # image-to-image: the denoising strength
    init_sha256: str | None = None  # image-to-image: the init image, kept as inits/<sha256>.png

    @classmethod
    def of(cls, request: GenerationRequest, result: GenerationResult, init_sha256: str | None = None) -> ImageRecord:
        return cls(
            created=utc_now(),
            prompt=request.user_prompt or request.prompt,
            effective_prompt=result.prompt,
            style=request.style,
            seed=result.seed,
            steps=result.steps,
            width=result.width,
            height=result.height,
            model=result.model,
            vae=result.vae,
            elapsed_ms=round(result.elapsed_ms, 1),
            strength=result.strength,
            init_sha256=init_sha256,
        )

    @property
    def parameters(self) -> str:
        """The AUTOMATIC1111 "parameters" text of the image."""
        return metadata.a1111_parameters(
            self.effective_prompt, self.steps, self.seed, self.width, self.height, self.model, self.vae, self.strength
        )

    def to_json(self) -> str:
        return json.dumps({"v": FORMAT_VERSION, **dataclasses.asdict(self)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ImageRecord:
        """The record a PNG's `sdturbo` chunk holds; ValueError when it is not one."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("v") != FORMAT_VERSION:
                raise ValueError(f"unknown format version {data.get('v') if isinstance(data, dict) else data!r}")
            fields = dataclasses.fields(cls)
            required = {f.name: data[f.name] for f in fields if f.default is dataclasses.MISSING}
            record = cls(
                **required, **{f.name: data.get(f.name) for f in fields if f.default is not dataclasses.MISSING}
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"not an sdturbo record: {err}") from None
        try:
            record.check()
        except InvalidParameterError as err:
            raise ValueError(f"not an sdturbo record: {err}") from None
        return record

    def check(self) -> None:
        """Every field of the type and range this program writes; InvalidParameterError naming the first bad one."""
        for name in ("created", "prompt", "effective_prompt", "style", "model"):
            if not isinstance(getattr(self, name), str):
                raise InvalidParameterError(name, f"must be text, got {getattr(self, name)!r:.40}")
        if self.vae is not None and not isinstance(self.vae, str):
            raise InvalidParameterError("vae", f"must be text or null, got {self.vae!r:.40}")
        if isinstance(self.elapsed_ms, bool) or not isinstance(self.elapsed_ms, int | float):
            raise InvalidParameterError("elapsed_ms", f"must be a number, got {self.elapsed_ms!r:.40}")
        params.check_seed(self.seed)
        params.check_steps(self.steps, "steps")
        params.check_side(self.width, "width")
        params.check_side(self.height, "height")
        if self.strength is not None:
            params.check_strength(self.strength, self.steps)
        if self.init_sha256 is not None and not _SHA256.fullmatch(str(self.init_sha256)):
            raise InvalidParameterError("init_sha256", f"must be 64 hex digits, got {self.init_sha256!r:.40}")

    def png_chunks(self) -> dict[str, str]:
        """The extra PNG text chunks that carry this record."""
        return {CHUNK: self.to_json()}


@dataclass(frozen=True)
class Collection:
    id: int
    name: str
    count: int = 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Entry:
    """A stored image: its record, where its file is, and what the user added (star, note, collections)."""

    id: int
    record: ImageRecord
    file: str  # relative to the library folder: images/2026-11/....png
    sha256: str
    bytes: int
    starred: bool = False
    note: str = ""
    collections: tuple[Collection, ...] = ()

    def to_dict(self) -> dict:
        """The JSON form of docs/LIBRARY.md (without the URLs, which belong to the web layer)."""
        return {
            "id": self.id,
            **dataclasses.asdict(self.record),
            "file": self.file,
            "sha256": self.sha256,
            "bytes": self.bytes,
            "starred": self.starred,
            "note": self.note,
            "collections": [{"id": c.id, "name": c.name} for c in self.collections],
            "parameters": self.record.parameters,
        }
