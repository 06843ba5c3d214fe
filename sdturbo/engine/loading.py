"""Finding the model (hub id, local folder, random build) and loading it with helpful errors."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from sdturbo.engine.random_models import RANDOM_MODELS, random_model_dir
from sdturbo.errors import ModelLoadError, first_line

log = logging.getLogger(__name__)

COMPONENTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")
_WEIGHTED = ("unet", "vae", "text_encoder")
_HOW_TO_GET = (
    "To use the real model offline, download it once on a machine with internet: "
    "`hf download stabilityai/sd-turbo --local-dir DIR` (older huggingface_hub: `huggingface-cli download ...`), "
    "then pass --model DIR or set SDTURBO_MODEL=DIR. For a weight-free smoke test use --model tiny."
)


@dataclass(frozen=True)
class ModelSource:
    """Where the weights come from."""

    kind: str  # "hub", "local" or "random"
    location: str  # hub id or folder path handed to from_pretrained
    label: str  # short name for logs and image metadata, e.g. "sd-turbo"

    @property
    def is_random(self) -> bool:
        return self.kind == "random"


def resolve_source(model: str, cache_dir: Path) -> ModelSource:
    """Decide what `model` names; random models are built into `cache_dir` on first use."""
    if model in RANDOM_MODELS:
        folder = random_model_dir(model, cache_dir)
        return ModelSource("random", str(folder), f"{model}-random")
    path = Path(model).expanduser()
    if path.exists() or _looks_like_path(model):
        check_local_folder(path)
        return ModelSource("local", str(path), path.resolve().name)
    return ModelSource("hub", model, model.rsplit("/", 1)[-1])


def _looks_like_path(model: str) -> bool:
    # "org/name" is a hub id; anything with a leading ./ ~ / or deeper nesting is meant as a folder
    return model.startswith((".", "/", "~", "\\")) or model.count("/") > 1 or os.sep != "/" and os.sep in model


def check_local_folder(path: Path) -> None:
    """Raise ModelLoadError naming what is missing if `path` is not a complete diffusers folder."""
    if not path.is_dir():
        raise ModelLoadError(f"Model folder {str(path)!r} does not exist. {_HOW_TO_GET}")
    missing = [] if (path / "model_index.json").is_file() else ["model_index.json"]
    for part in COMPONENTS:
        if not (path / part).is_dir():
            missing.append(f"{part}/")
        elif (
            part in _WEIGHTED and not any((path / part).glob("*.safetensors")) and not any((path / part).glob("*.bin"))
        ):
            missing.append(f"{part}/*.safetensors")
    if missing:
        raise ModelLoadError(
            f"Model folder {str(path)!r} is not a complete diffusers SD-Turbo folder: missing "
            f"{', '.join(missing)}. A partial download? {_HOW_TO_GET}"
        )


def has_fp16_variant(source: ModelSource) -> bool:
    """True when fp16 weight files should be asked for (local: they exist; hub: sd-turbo ships them)."""
    if source.kind == "local":
        return any(Path(source.location, "unet").glob("*.fp16.*"))
    return source.kind == "hub"


def load_pipeline(source: ModelSource, dtype):
    """`StableDiffusionPipeline.from_pretrained` on `source`, wrapping any failure in ModelLoadError."""
    from diffusers import StableDiffusionPipeline

    kwargs = dict(dtype=dtype, safety_checker=None, requires_safety_checker=False)
    if str(dtype) == "torch.float16" and has_fp16_variant(source):
        try:
            return StableDiffusionPipeline.from_pretrained(source.location, variant="fp16", **kwargs)
        except Exception as err:  # any failure: try the full-precision files before giving up
            log.info(
                "fp16 weight files not loadable from %s (%s); loading the default files",
                source.location,
                type(err).__name__,
            )
    try:
        return StableDiffusionPipeline.from_pretrained(source.location, **kwargs)
    except Exception as err:  # hub, filesystem and format errors all mean "could not load"
        raise ModelLoadError(_describe_failure(source, err)) from err


def _describe_failure(source: ModelSource, err: Exception) -> str:
    message = first_line(err) or type(err).__name__
    if source.kind == "hub":
        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false", "False")
        where = "the local Hugging Face cache (HF_HUB_OFFLINE is set)" if offline else "the Hugging Face Hub"
        return f"Could not load {source.location!r} from {where}: {message}. {_HOW_TO_GET}"
    return f"Could not load the model in {source.location!r}: {message}. {_HOW_TO_GET}"


TAESD = "madebyollin/taesd"  # the AutoencoderTiny weights for SD 1.x/2.x latents


def load_preview_vae(source: str, dtype):
    """AutoencoderTiny from `source` ("tiny" means madebyollin/taesd), with the same helpful errors."""
    from diffusers import AutoencoderTiny

    location = TAESD if source == "tiny" else source
    try:
        return AutoencoderTiny.from_pretrained(location, dtype=dtype)
    except Exception as err:  # hub, filesystem and format errors all mean "could not load"
        message = first_line(err) or type(err).__name__
        raise ModelLoadError(
            f"Could not load the preview VAE {location!r}: {message}. Download it once online "
            f"(`hf download {TAESD} --local-dir DIR`) and pass that folder, or leave the preview VAE off."
        ) from err
