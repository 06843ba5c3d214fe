"""Labelled prompt files: the evaluation sets (`label<TAB>prompt`) and the embedding stage's memory
(`class<TAB>prompt`, sdturbo/data/domain_memory.tsv; built by `python -m sdturbo.domain.memory`)."""

from __future__ import annotations

from pathlib import Path

from sdturbo.domain.rules import DATA_DIR
from sdturbo.errors import InvalidParameterError

LABELS = ("accept", "reject")
MEMORY_FILE = DATA_DIR / "domain_memory.tsv"
CLASSES = ("accept", "photographic", "document_or_data")  # the embedding stage's classes


def read_tsv(
    path: Path, labels: tuple[str, ...] = LABELS, column: str = "label", flag: str = "eval"
) -> list[tuple[str, str]]:
    """(label, prompt) rows of a TSV with the header `label<TAB>prompt` (`column` names the first
    column); errors name the flag and the line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidParameterError(flag, f"cannot read {str(path)!r}: {err}") from None
    if not lines or lines[0].strip() != f"{column}\tprompt":
        raise InvalidParameterError(flag, f"{path}: the first line must be the header '{column}<TAB>prompt'")
    allowed = " or ".join(f"'{label}'" for label in labels)
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        label, _, prompt = line.partition("\t")
        if label not in labels or not prompt.strip():
            raise InvalidParameterError(
                flag, f"{path} line {number}: expected {allowed}, a TAB, then a prompt; got {line!r}"
            )
        rows.append((label, prompt))
    if not rows:
        raise InvalidParameterError(flag, f"{path} has no labeled prompts")
    return rows


def load_memory(path: Path = MEMORY_FILE) -> dict[str, list[str]]:
    """The remembered prompts of each class, from a `class<TAB>prompt` TSV; errors name the line."""
    memory: dict[str, list[str]] = {name: [] for name in CLASSES}
    for name, prompt in read_tsv(path, CLASSES, column="class", flag="memory"):
        memory[name].append(prompt)
    return memory
