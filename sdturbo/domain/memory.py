"""The labelled prompts the embedding stage remembers (sdturbo/data/domain_memory.tsv), and how that file
is built from labelled sets.

The embedding stage compares a prompt with its classes' examples: a short curated list (prototypes.toml)
and this memory, a few thousand prompts written from docs/DOMAIN_POLICY.md in many ways of asking. A set
joins it once it has been scored fresh and tuned on; a set still used as a test is named with --hold-out
and none of its prompts is remembered (its score would mean nothing once remembered).

    python -m sdturbo.domain.memory OUT.tsv SET.tsv [SET.tsv ...] [--hold-out TEST.tsv ...]

It also writes OUT.npz, the prompts' embeddings by the default multilingual model (float16, keyed by the
model and the prompts), which the validator loads instead of embedding them at every start.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from sdturbo.cli.args import Parser, run
from sdturbo.domain.embedding import MULTILINGUAL_MODEL, in_batches, memory_texts, save_packaged, shared_encoder
from sdturbo.domain.labelled import CLASSES, read_tsv
from sdturbo.domain.validator import DomainValidator
from sdturbo.errors import InvalidParameterError


def classify(validator: DomainValidator, label: str, prompt: str) -> str | None:
    """The memory class of a labelled prompt: accept, or the reject class the validator names for it.

    None for what the embedding stage must not learn from: real people (a name says nothing about its
    neighbours: an original character's name would sit next to a politician's) and rejects with no
    photographic or document evidence at all.
    """
    if label == "accept":
        return "accept"
    verdict = validator.validate(prompt, "none", with_suggestions=False)
    if not verdict.allowed:
        return verdict.category if verdict.category in CLASSES else None
    category, weight = validator.rules.scan(prompt).strongest_reject()
    return category if weight > 0 and category in CLASSES else None


def build(
    validator: DomainValidator, rows: list[tuple[str, str]], held_out: frozenset[str] = frozenset()
) -> tuple[list[tuple[str, str]], int]:
    """(class, prompt) rows for the memory, without repeats or `held_out` prompts, and how many labelled rows
    were left out."""
    seen: set[str] = set(held_out)
    kept = []
    for label, prompt in tqdm(rows, desc="classifying", unit="prompt", file=sys.stderr):
        if prompt in seen:
            continue
        seen.add(prompt)
        if (name := classify(validator, label, prompt)) is not None:
            kept.append((name, prompt))
    return kept, len(rows) - len(kept)


def build_parser() -> Parser:
    parser = Parser(prog="python -m sdturbo.domain.memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, metavar="OUT.tsv", help="the memory file to write (class<TAB>prompt)")
    parser.add_argument("sets", type=Path, nargs="+", metavar="SET.tsv", help="labelled sets (label<TAB>prompt)")
    parser.add_argument(
        "--no-embeddings",
        dest="embeddings",
        action="store_false",
        help="write OUT.tsv only, not OUT.npz (the prompts' embeddings; without it every start makes them)",
    )
    parser.add_argument(
        "--hold-out",
        type=Path,
        action="append",
        default=[],
        metavar="TEST.tsv",
        help="a set scored as a test: none of its prompts is remembered, even where another set repeats one",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), _main, argv, {"eval": "SET.tsv", "hold_out": "--hold-out", "out": "OUT.tsv"})


def _main(args) -> int:
    if not args.out.parent.is_dir():  # said before minutes of work, not after
        raise InvalidParameterError("out", f"no folder {str(args.out.parent)!r} to write {args.out.name!r} in")
    rows = [row for path in args.sets for row in read_tsv(path)]
    held_out = frozenset(prompt for path in args.hold_out for _, prompt in read_tsv(path, flag="hold_out"))
    # judged without a memory, so the file does not depend on the one it replaces
    kept, left_out = build(DomainValidator(memory=None).load(), rows, held_out)
    counts = {name: sum(1 for row in kept if row[0] == name) for name in CLASSES}
    partial = args.out.with_name(args.out.name + ".partial")  # an interrupted rebuild leaves the old file whole
    partial.write_text("class\tprompt\n" + "".join(f"{name}\t{prompt}\n" for name, prompt in kept), encoding="utf-8")
    partial.replace(args.out)
    print(f"{args.out}: {len(kept)} prompts ({', '.join(f'{n} {c}' for c, n in counts.items())}); {left_out} left out")
    if not args.embeddings:
        return 0
    # their embeddings by the default model, in the order the validator reads them, so a start does not make them
    texts = memory_texts({name: [prompt for row, prompt in kept if row == name] for name in CLASSES}, CLASSES)
    matrix = in_batches(shared_encoder(MULTILINGUAL_MODEL), texts)
    save_packaged(args.out.with_suffix(".npz"), MULTILINGUAL_MODEL, texts, matrix)
    print(f"{args.out.with_suffix('.npz')}: their embeddings by {MULTILINGUAL_MODEL}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
