"""A stand-in engine for web-layer unit tests (the real engine is tested on the tiny model)."""

from __future__ import annotations

import threading

from PIL import Image

from sdturbo.schema import GenerationResult


def seed_color(seed: int) -> tuple[int, int, int]:
    """The solid color the fake engine paints for `seed`, so tests can tell images apart."""
    return (seed * 37 % 256, seed * 91 % 256, seed * 53 % 256)


class FakeEngine:
    """Paints one solid color per seed; can block on a gate or fail, and records batch sizes."""

    def __init__(
        self,
        gate: threading.Event | None = None,
        fail: str | None = None,
        preview_vae: str | None = None,
        label: str = "fake",
        fail_on: str | None = None,
    ) -> None:
        self.gate, self.fail, self.label = gate, fail, label
        self.fail_on = fail_on  # a batch holding a prompt with this text raises, as a poisoned tokenizer would
        self.preview_vae = preview_vae  # set: preview requests are "decoded" by it (GenerationResult.vae)
        self.requests: list = []
        self.loaded = False
        self.warms_by_default = False  # like the real engine on the CPU, uncompiled
        self.batches: list[int] = []

    def load(self) -> None:
        self.loaded = True

    def warmup(self) -> float:
        return 0.0

    def info(self) -> dict:
        return {
            "model": "fake",
            "label": self.label,
            "random_weights": True,
            "device": "cpu",
            "dtype": "fp32",
            "attention": "sdpa",
            "max_batch_size": 8,
            "loaded": self.loaded,
        }

    def generate(self, requests):
        self.batches.append(len(requests))
        self.requests += requests
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail:
            raise RuntimeError(self.fail)
        if self.fail_on and any(self.fail_on in r.prompt for r in requests):
            raise ValueError(f"cannot encode {self.fail_on!r}")
        return [
            GenerationResult(
                Image.new("RGB", (r.width, r.height), seed_color(r.seed)),
                r.prompt,
                r.seed,
                r.steps,
                r.width,
                r.height,
                self.label,
                1.0,
                len(requests),
                self.preview_vae if r.preview else None,
                r.strength,
            )
            for r in requests
        ]


class SlowLoad(FakeEngine):
    """Loading waits for `load_gate`: the model "loads" until the test says so."""

    def __init__(self, load_gate: threading.Event) -> None:
        super().__init__()
        self.load_gate = load_gate

    def load(self):
        self.load_gate.wait(30)
        super().load()
