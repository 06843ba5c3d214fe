"""SD-Turbo concept-art engine: settings, loading, generation and metadata."""

from sdturbo.config import Settings
from sdturbo.errors import InvalidParameterError, ModelLoadError

__all__ = ["InvalidParameterError", "ModelLoadError", "Settings"]
