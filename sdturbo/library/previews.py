"""Live-mode previews: held in memory (last few per client), written to the library only when kept."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from sdturbo.errors import NotFound
from sdturbo.schema import GenerationRequest, GenerationResult

PER_CLIENT = 8
TOTAL = 64  # images held at most: about 50 MB at 512x512, 200 MB at 1024x1024


@dataclass
class Held:
    """A preview: what made it and the image; `entry_id` once it was kept."""

    client: str
    request: GenerationRequest
    result: GenerationResult
    entry_id: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # one keep at a time


class PreviewRing:
    """The newest previews, at most `per_client` per client and `total` in all; the oldest go first."""

    def __init__(self, per_client: int = PER_CLIENT, total: int = TOTAL) -> None:
        self.per_client = per_client
        self.total = total
        self._held: OrderedDict[str, Held] = OrderedDict()  # oldest first
        self._lock = threading.Lock()

    def add(self, client: str | None, request: GenerationRequest, result: GenerationResult) -> str:
        """Hold a preview; returns its id ("p-" and 16 hex digits)."""
        preview_id = f"p-{secrets.token_hex(8)}"
        client = client or ""
        with self._lock:
            self._held[preview_id] = Held(client, request, result)
            mine = [key for key, held in self._held.items() if held.client == client]
            for key in mine[: max(0, len(mine) - self.per_client)]:
                del self._held[key]
            while len(self._held) > self.total:
                self._held.popitem(last=False)
        return preview_id

    def get(self, preview_id: str) -> Held:
        with self._lock:
            held = self._held.get(preview_id)
        if held is None:
            raise NotFound(
                f"preview {preview_id} is no longer held (the server keeps the last {self.per_client} "
                "previews of each page); generate it again to keep it"
            )
        return held

    def __len__(self) -> int:
        return len(self._held)
