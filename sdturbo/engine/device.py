"""Choosing the device, precision and attention backend, each logged once."""

from __future__ import annotations

import contextlib
import importlib.util
import logging

import torch

from sdturbo.errors import InvalidParameterError

log = logging.getLogger(__name__)

_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}


def resolve_device(requested: str) -> torch.device:
    """CUDA, then Apple MPS, then CPU for "auto"; an explicit device must exist."""
    if requested == "auto":
        if torch.cuda.is_available():
            device = torch.device("cuda")
        elif torch.backends.mps.is_available():
            device = torch.device("mps")
        else:
            device = torch.device("cpu")
        log.info("device auto -> %s", device)
        return device
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(
            "device", f"{requested!r} was asked for but CUDA is not available here; use auto or cpu"
        )
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise InvalidParameterError(
            "device", f"{requested!r} does not exist; this machine has {torch.cuda.device_count()} CUDA device(s)"
        )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise InvalidParameterError(
            "device", "'mps' was asked for but Apple MPS is not available here; use auto or cpu"
        )
    return device


def resolve_dtype(requested: str, device: torch.device) -> torch.dtype:
    """fp16 on CUDA/MPS and fp32 on CPU for "auto"; fp16 on CPU is refused."""
    if requested == "auto":
        requested = "fp32" if device.type == "cpu" else "fp16"
    if requested == "fp16" and device.type == "cpu":
        raise InvalidParameterError("dtype", "fp16 is not supported on the CPU; use fp32 or bf16")
    return _DTYPES[requested]


def dtype_name(dtype: torch.dtype) -> str:
    """Short name of a torch dtype, as users type it ("fp16")."""
    return next(name for name, value in _DTYPES.items() if value == dtype)


# the SDPA kernels a user can prefer, and the devices each runs on (flash and cuDNN need fp16/bf16 on CUDA)
SDPA_KERNELS = {
    "sdpa-flash": ("FLASH_ATTENTION", ("cuda", "cpu")),
    "sdpa-efficient": ("EFFICIENT_ATTENTION", ("cuda",)),
    "sdpa-cudnn": ("CUDNN_ATTENTION", ("cuda",)),
    "sdpa-math": ("MATH", ("cuda", "cpu", "mps")),
}


def resolve_attention(
    requested: str, device: torch.device, dtype: torch.dtype = torch.float32, compiled: bool = False
) -> str:
    """ "xformers" when asked (or auto) and usable on this device, else "sdpa" or the preferred SDPA kernel.

    With torch.compile, "auto" means SDPA: inductor traces and fuses around SDPA, whereas an
    xFormers kernel is opaque to it and may break the full graph.
    """
    if requested in SDPA_KERNELS:
        _, devices = SDPA_KERNELS[requested]
        if device.type not in devices:
            usable = ", ".join(["sdpa"] + [k for k, (_, on) in SDPA_KERNELS.items() if device.type in on])
            raise InvalidParameterError("attention", f"{requested} does not run on {device.type}; use {usable}")
        if requested in ("sdpa-flash", "sdpa-cudnn") and device.type == "cuda" and dtype == torch.float32:
            raise InvalidParameterError("attention", f"{requested} on CUDA needs fp16 or bf16; use sdpa for fp32")
        return requested
    if requested == "sdpa":
        return "sdpa"
    if requested == "auto" and compiled:
        return "sdpa"
    usable = device.type == "cuda" and importlib.util.find_spec("xformers") is not None
    if usable:
        return "xformers"
    if requested == "xformers":
        log.warning(
            "xFormers was asked for but is %s; using PyTorch SDPA attention",
            "not installed" if device.type == "cuda" else f"CUDA-only (device is {device.type})",
        )
    return "sdpa"


def attention_context(backend: str):
    """For "sdpa-<kernel>": SDPA tries that kernel first, then the memory-efficient one, then math.

    A preference, not a pin: the VAE's attention has one 512-wide head, over the head-size limits
    of the flash and cuDNN kernels on CUDA, and these flags are process-wide, so math has to stay
    available to other threads (the validator's CPU model). No-op for other backends. Entered
    around every pipeline call, so compiled graphs are traced with the same choice.
    """
    if backend not in SDPA_KERNELS:
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    chosen = getattr(SDPBackend, SDPA_KERNELS[backend][0])
    order = list(dict.fromkeys([chosen, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]))
    return sdpa_kernel(order, set_priority=True)


def apply_attention(pipe, backend: str) -> str:
    """Switch the pipeline to `backend`; fall back to SDPA with one log line if xFormers fails."""
    if backend != "xformers":
        return backend  # diffusers' default processors already use torch SDPA; a preferred kernel is a context
    try:
        pipe.enable_xformers_memory_efficient_attention()
    except Exception as err:  # xformers wheels break in many ways (ABI, arch); SDPA always works
        log.warning("xFormers could not be enabled (%s); using PyTorch SDPA attention", err)
        return "sdpa"
    return "xformers"
