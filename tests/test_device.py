"""Device, precision and attention choices (sdturbo.engine.device), as on a machine without CUDA or MPS.

CUDA and MPS availability are patched off so the results are the same on a GPU machine; CUDA-only
rules are checked with torch.device("cuda") objects, which need no GPU to exist.
"""

import importlib.util
import logging

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend

from sdturbo.engine.device import (
    SDPA_KERNELS,
    attention_context,
    dtype_name,
    resolve_attention,
    resolve_device,
    resolve_dtype,
)
from sdturbo.errors import InvalidParameterError

CPU = torch.device("cpu")
CUDA = torch.device("cuda")
MPS = torch.device("mps")


@pytest.fixture
def no_accelerator(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.fixture
def xformers_installed(monkeypatch):
    """Make importlib report xFormers as installed (True) or not (False); returns the switch."""
    real = importlib.util.find_spec
    state = {"installed": False}

    def find_spec(name, *args, **kwargs):
        if name == "xformers":
            return object() if state["installed"] else None
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    return lambda installed: state.update(installed=installed)


# --- device


def test_auto_device_is_cpu_without_an_accelerator(no_accelerator, caplog):
    with caplog.at_level(logging.INFO, logger="sdturbo.engine.device"):
        assert resolve_device("auto") == CPU
    assert "device auto -> cpu" in caplog.text


def test_auto_device_prefers_cuda_then_mps(monkeypatch, no_accelerator):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("auto") == MPS
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == CUDA


def test_explicit_cpu_is_always_available(no_accelerator):
    assert resolve_device("cpu") == CPU


@pytest.mark.parametrize("requested", ["cuda", "cuda:0", "cuda:1"])
def test_cuda_asked_for_without_cuda_is_refused(no_accelerator, requested):
    with pytest.raises(InvalidParameterError) as err:
        resolve_device(requested)
    assert err.value.field == "device"
    assert str(err.value) == f"device: {requested!r} was asked for but CUDA is not available here; use auto or cpu"


def test_mps_asked_for_without_mps_is_refused(no_accelerator):
    with pytest.raises(InvalidParameterError, match="^device: 'mps' was asked for but Apple MPS is not available"):
        resolve_device("mps")


def test_a_cuda_index_past_the_last_gpu_is_refused(monkeypatch, no_accelerator):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(InvalidParameterError, match=r"^device: 'cuda:2' does not exist; this machine has 2 CUDA"):
        resolve_device("cuda:2")


# --- dtype


def test_auto_dtype_is_fp32_on_cpu_and_fp16_on_accelerators():
    assert resolve_dtype("auto", CPU) == torch.float32
    assert resolve_dtype("auto", CUDA) == torch.float16
    assert resolve_dtype("auto", MPS) == torch.float16


def test_fp16_on_cpu_is_refused_with_the_alternatives():
    with pytest.raises(InvalidParameterError) as err:
        resolve_dtype("fp16", CPU)
    assert err.value.field == "dtype"
    assert str(err.value) == "dtype: fp16 is not supported on the CPU; use fp32 or bf16"


@pytest.mark.parametrize(
    ("requested", "device", "dtype"),
    [
        ("bf16", CPU, torch.bfloat16),
        ("fp32", CPU, torch.float32),
        ("fp16", CUDA, torch.float16),
        ("bf16", CUDA, torch.bfloat16),
        ("fp32", CUDA, torch.float32),
    ],
)
def test_explicit_dtypes_are_kept(requested, device, dtype):
    assert resolve_dtype(requested, device) == dtype


@pytest.mark.parametrize(
    ("dtype", "name"), [(torch.float16, "fp16"), (torch.bfloat16, "bf16"), (torch.float32, "fp32")]
)
def test_dtype_name_is_what_users_type(dtype, name):
    assert dtype_name(dtype) == name
    assert resolve_dtype(name, CUDA) == dtype  # the name round-trips


# --- attention


@pytest.mark.parametrize("requested", ["sdpa-efficient", "sdpa-cudnn"])
def test_cuda_only_kernels_are_refused_on_cpu_with_the_usable_ones(requested):
    with pytest.raises(InvalidParameterError) as err:
        resolve_attention(requested, CPU)
    assert err.value.field == "attention"
    assert str(err.value) == f"attention: {requested} does not run on cpu; use sdpa, sdpa-flash, sdpa-math"


def test_flash_is_refused_on_mps_with_the_usable_ones():
    with pytest.raises(InvalidParameterError, match="^attention: sdpa-flash does not run on mps; use sdpa, sdpa-math$"):
        resolve_attention("sdpa-flash", MPS)


@pytest.mark.parametrize("requested", ["sdpa-flash", "sdpa-cudnn"])
def test_flash_and_cudnn_on_cuda_need_half_precision(requested):
    with pytest.raises(InvalidParameterError, match=f"^attention: {requested} on CUDA needs fp16 or bf16; use sdpa"):
        resolve_attention(requested, CUDA, torch.float32)
    assert resolve_attention(requested, CUDA, torch.float16) == requested
    assert resolve_attention(requested, CUDA, torch.bfloat16) == requested


@pytest.mark.parametrize(
    ("requested", "dtype"),
    [
        ("sdpa", torch.float32),
        ("sdpa-flash", torch.float32),
        ("sdpa-math", torch.float32),
        ("sdpa-math", torch.bfloat16),
    ],
)
def test_cpu_accepts_sdpa_and_its_cpu_kernels(requested, dtype):
    assert resolve_attention(requested, CPU, dtype) == requested


def test_efficient_and_math_run_on_cuda_in_fp32():
    assert resolve_attention("sdpa-efficient", CUDA, torch.float32) == "sdpa-efficient"
    assert resolve_attention("sdpa-math", CUDA, torch.float32) == "sdpa-math"


def test_auto_on_cpu_is_sdpa_without_a_warning(xformers_installed, caplog):
    xformers_installed(True)  # installed or not, xFormers is CUDA-only
    with caplog.at_level(logging.WARNING, logger="sdturbo.engine.device"):
        assert resolve_attention("auto", CPU) == "sdpa"
    assert caplog.records == []


def test_xformers_on_cpu_falls_back_to_sdpa_and_says_why(xformers_installed, caplog):
    xformers_installed(True)
    with caplog.at_level(logging.WARNING, logger="sdturbo.engine.device"):
        assert resolve_attention("xformers", CPU) == "sdpa"
    assert "xFormers was asked for but is CUDA-only (device is cpu)" in caplog.text


def test_xformers_on_cuda_when_not_installed_falls_back_to_sdpa(xformers_installed, caplog):
    xformers_installed(False)
    with caplog.at_level(logging.WARNING, logger="sdturbo.engine.device"):
        assert resolve_attention("xformers", CUDA, torch.float16) == "sdpa"
        assert resolve_attention("auto", CUDA, torch.float16) == "sdpa"
    assert [r.getMessage() for r in caplog.records] == [
        "xFormers was asked for but is not installed; using PyTorch SDPA attention"
    ]  # auto falls back silently


def test_installed_xformers_on_cuda_is_used_unless_compiling(xformers_installed):
    xformers_installed(True)
    assert resolve_attention("xformers", CUDA, torch.float16) == "xformers"
    assert resolve_attention("auto", CUDA, torch.float16) == "xformers"
    assert resolve_attention("auto", CUDA, torch.float16, compiled=True) == "sdpa"
    assert resolve_attention("xformers", CUDA, torch.float16, compiled=True) == "xformers"  # asked for explicitly
    assert resolve_attention("sdpa", CUDA, torch.float16) == "sdpa"


# --- attention_context


def sdpa_state() -> dict:
    """Which SDPA kernels are enabled, process-wide, and the order SDPA tries them in."""
    cuda = torch.backends.cuda
    return {
        SDPBackend.FLASH_ATTENTION: cuda.flash_sdp_enabled(),
        SDPBackend.EFFICIENT_ATTENTION: cuda.mem_efficient_sdp_enabled(),
        SDPBackend.CUDNN_ATTENTION: cuda.cudnn_sdp_enabled(),
        SDPBackend.MATH: cuda.math_sdp_enabled(),
        "priority": [SDPBackend(i) for i in torch._C._get_sdp_priority_order()],
    }


@pytest.mark.parametrize("backend", ["sdpa-flash", "sdpa-efficient", "sdpa-cudnn", "sdpa-math"])
def test_preferred_kernel_is_tried_first_then_efficient_then_math(backend):
    chosen = getattr(SDPBackend, SDPA_KERNELS[backend][0])
    before = sdpa_state()
    with attention_context(backend):
        inside = sdpa_state()
    expected = list(dict.fromkeys([chosen, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]))
    assert inside["priority"][: len(expected)] == expected
    enabled = {b for b, on in inside.items() if b != "priority" and on}
    assert enabled == set(expected)  # math stays enabled for other threads (the validator's CPU model)
    assert sdpa_state() == before  # restored on exit


def test_preferred_kernel_state_is_restored_after_an_error():
    before = sdpa_state()
    with pytest.raises(RuntimeError, match="boom"), attention_context("sdpa-cudnn"):
        raise RuntimeError("boom")
    assert sdpa_state() == before


@pytest.mark.parametrize("backend", ["sdpa", "xformers", "auto"])
def test_other_backends_leave_sdpa_alone(backend):
    before = sdpa_state()
    with attention_context(backend):
        assert sdpa_state() == before


@pytest.mark.parametrize("backend", ["sdpa", "sdpa-flash", "sdpa-math"])
def test_cpu_attention_gives_the_same_result_under_each_cpu_backend(backend):
    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 2, 16, 8, generator=generator) for _ in range(3))
    reference = torch.softmax(q @ k.transpose(-1, -2) / 8**0.5, dim=-1) @ v
    with attention_context(backend):
        out = F.scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(out, reference, atol=1e-5, rtol=1e-5)
