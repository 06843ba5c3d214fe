"""The engine: load SD-Turbo once and turn typed requests into images. Imports torch; knows no HTTP."""

from sdturbo.engine.engine import Engine
from sdturbo.schema import GenerationRequest, GenerationResult

__all__ = ["Engine", "GenerationRequest", "GenerationResult"]
