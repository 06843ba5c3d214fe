"""The image library: kept images as PNG files plus a SQLite index (docs/LIBRARY.md). No Flask, no torch."""

from sdturbo.library.previews import PreviewRing
from sdturbo.library.record import Collection, Entry, ImageRecord
from sdturbo.library.store import Library, LibraryError, Query

__all__ = ["Collection", "Entry", "ImageRecord", "Library", "LibraryError", "PreviewRing", "Query"]
