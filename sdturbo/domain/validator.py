"""Is a prompt anime-domain? Keyword rules decide clear cases, embeddings the rest. No Flask, no diffusers."""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sdturbo.domain.described import Described
from sdturbo.domain.embedding import MULTILINGUAL_MODEL, PrototypeIndex
from sdturbo.domain.labelled import MEMORY_FILE, load_memory
from sdturbo.domain.rewrite import suggest
from sdturbo.domain.rules import FOUND_BY_FRAME, Evidence, Hit, Rules, Term, default_rules, normalize, prototypes
from sdturbo.domain.tags import is_tag_prompt, scene_tags, to_phrase
from sdturbo.errors import InvalidParameterError
from sdturbo.params import check_prompt

log = logging.getLogger(__name__)

DEFAULT_STYLE = "anime"
STRONG = 2.0  # keyword weight that decides alone when the other side is silent
DOMINATES = 2.0  # in mixed prompts, one side decides alone when it has this many times the other's weight
# a document first named this many words into a prompt is not a clear case ("a ghost conductor waving a baton at
# an orchestra of skeletons, sheet music glowing on the stands"): the embedding stage decides, with the keyword
# weights in its logit (6 cut wrong rejections from 6 to 3 and errors from 24 to 23 over 3,530 labelled prompts,
# each set scored with a memory without it; 3 and 4 words lost accuracy, 8 kept a wrong rejection)
LATE_DOCUMENT = 6
EMBEDDING_GAIN = 20.0  # logit per unit of (accept - reject) similarity
EMBEDDING_BIAS = 0.4  # leans to accept: a false rejection costs an artist more than a false accept
KEYWORD_GAIN = 0.5  # logit per unit of keyword weight difference, added to the embedding logit
# the middle band: an embedding decision this close to the line (|logit| < MIDDLE) is allowed with a
# note and the anime rewrites, not rejected: near the line one cut is a coin flip, and a wrong
# rejection costs an artist more than a wrong acceptance
MIDDLE = 1.0
DESCRIBED_ROLE = "legendary hero"  # the original character offered for a real person described without a name
BANDS = ("accept", "middle", "reject")
# booru tag prompts ("1girl, solo, silver hair"): "suggest" shows the natural phrase the model draws
# better, "apply" generates from it, "off" leaves tags alone (the prompt is judged as written either way)
TAG_MODES = ("suggest", "apply", "off")


@dataclass(frozen=True)
class Verdict:
    """The validator's answer for one prompt."""

    allowed: bool
    category: str  # "anime", "neutral", or a rejection: "photographic", "document_or_data", "real_person"
    score: float  # 0..1, how in-domain the prompt looks; below 0.5 is near the line (allowed in the middle band)
    reasons: list[str]  # human readable: matched terms, nearest examples
    suggestions: list[str] = field(default_factory=list)  # anime rewrites (rejected prompts only)
    effective_prompt: str | None = None  # the prompt with the style preset applied (allowed prompts only)
    mode: str = "keywords+embedding"  # or "keywords" when the embedding model is unavailable
    stage: str = "keywords"  # which stage decided: "keywords" or "embedding"
    style: str = DEFAULT_STYLE
    band: str = "accept"  # "accept" (clearly in), "middle" (allowed, near the line: see note), "reject"
    note: str | None = None  # for the middle band: why it was close, and that rewrites are offered
    tag_phrase: str | None = None  # a tag prompt as a natural phrase (see TAG_MODES); None for other prompts
    tag_applied: bool = False  # whether the phrase is what gets drawn (tags="apply")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Decision:
    allowed: bool
    category: str
    logit: float
    reasons: list[str]
    stage: str
    near: str | None = None  # the reject class an allowed prompt was closest to (the middle band's note)


class DomainValidator:
    """Validates prompts against the anime domain; safe to share between threads once loaded."""

    def __init__(
        self,
        embedding_model: str | None = MULTILINGUAL_MODEL,
        rules: Rules | None = None,
        tags: str = "suggest",
        memory: Path | None = MEMORY_FILE,
        cache_dir: Path | None = None,
    ) -> None:
        if tags not in TAG_MODES:
            raise InvalidParameterError("tags", f"must be one of {', '.join(TAG_MODES)}, got {tags!r}")
        self.tags = tags
        self.rules = rules or default_rules()
        self.embedding_model = embedding_model  # None or "none": keyword-only
        # labelled prompts the embedding stage remembers (None: its curated examples only); a bad file is
        # said here, at once, not turned into a keywords-only validator by load()
        self.memory = load_memory(memory) if memory is not None and self._embeds else None
        # its embeddings, shipped beside it (OUT.npz of `python -m sdturbo.domain.memory`): a start skips ~12 s
        self._packaged = Path(memory).with_suffix(".npz") if self.memory is not None else None
        self.cache_dir = cache_dir  # where embedded examples are kept between runs (None: embedded every start)
        self.index: PrototypeIndex | None = None
        self.described: Described | None = None  # with the multilingual model: people described without a name
        self._loaded = False

    @property
    def _embeds(self) -> bool:
        return self.embedding_model not in (None, "", "none")

    @property
    def mode(self) -> str:
        return "keywords+embedding" if self.index is not None else "keywords"

    @property
    def styles(self) -> dict[str, str]:
        return dict(self.rules.styles)

    def load(self) -> DomainValidator:
        """Load the embedding model once; on any failure log one warning and run on keywords."""
        if self._loaded:
            return self
        self._loaded = True
        if not self._embeds:
            log.info("domain validator: embedding stage off, keywords only")
            return self
        try:
            self.index = PrototypeIndex.load(
                self.embedding_model, prototypes(), self.memory, self.cache_dir, self._packaged
            )
        except Exception as err:  # missing package, bad path, broken weights: all mean "no embeddings"
            log.warning(
                "domain validator: embedding model %r unavailable (%s: %s); using keywords only",
                self.embedding_model,
                type(err).__name__,
                err,
            )
        if self.index is not None and self.index.multilingual:  # its thresholds were chosen on that model
            # outside the try: a broken descriptions file is an error to see, not "keywords only"
            self.described = Described(self.index.embed_one, self.index.embed, self.embedding_model)
        return self

    def validate(self, prompt: str, style: str = DEFAULT_STYLE, with_suggestions: bool = True) -> Verdict:
        """Decide whether `prompt` is in the anime domain; raise InvalidParameterError for bad input."""
        return self.judge(*self.check_input(prompt, style), with_suggestions)

    def check_input(self, prompt: object, style: object) -> tuple[str, str]:
        """The one check of a user's prompt (1-1000 characters) and style name, before any judging.

        The style template is applied after it, so a styled prompt longer than the limit is fine
        (CLIP truncates it and diffusers logs what was cut).
        """
        return check_prompt(prompt), self.rules.check_style(style)

    def tag_phrase(self, prompt: str) -> str | None:
        """The natural phrase for a booru tag prompt (None for other prompts, or with tags="off")."""
        if self.tags == "off" or not is_tag_prompt(prompt):
            return None
        phrase = to_phrase(prompt).phrase
        return phrase if phrase and phrase != prompt.strip() else None  # a phrase already: nothing to offer

    def render(self, prompt: str, style: str) -> str:
        """What the model draws for an accepted prompt: the style applied to it (to its phrase, with
        tags="apply" and a tag prompt)."""
        return self._styled(prompt, self.tag_phrase(prompt) if self.tags == "apply" else None, style)

    def _styled(self, prompt: str, phrase: str | None, style: str) -> str:
        return self.rules.apply_style(phrase if phrase and self.tags == "apply" else prompt, style)

    def judge(self, prompt: str, style: str, with_suggestions: bool = True) -> Verdict:
        """The verdict for a prompt and style that passed `check_input` (they are not checked again)."""
        phrase = self.tag_phrase(prompt)
        effective = self._styled(prompt, phrase, style)
        self.load()
        evidence = self.rules.scan(prompt)
        documents = [hit.found.lower() for hit in evidence.rejects.get("document_or_data", [])]  # as written
        if len(documents) == 1 and documents[0] in self.rules.tag_props and documents[0] in scene_tags(prompt):
            # "1girl, piano, sheet music": one document, a whole tag of its own among character tags, is on the stand
            evidence.explain("document_or_data")
        decision = self._decide(evidence, prompt)
        score = 1 / (1 + math.exp(-max(-30.0, min(30.0, decision.logit))))
        allowed = decision.allowed
        middle = allowed and decision.stage == "embedding" and decision.logit < MIDDLE
        band = "reject" if not allowed else "middle" if middle else "accept"
        offered = not allowed or middle
        wanted = with_suggestions and offered
        kind = "middle" if middle else decision.category  # a middle prompt's rewrites keep its own subject
        suggestions = self._suggestions(evidence, kind, decision.near) if wanted else []
        note = None
        if middle:
            looks = self.rules.labels.get(decision.near, "looks out of this tool's domain").replace("asks for", "")
            note = f"close to the line: it reads a little like a request for{looks}; drawn anyway" + (
                ", or try an anime rewrite below" if suggestions else ""
            )
        return Verdict(
            allowed,
            decision.category,
            round(score, 3),
            decision.reasons,
            suggestions,
            effective if allowed else None,
            self.mode,
            decision.stage,
            style,
            band,
            note,
            phrase,
            bool(phrase) and self.tags == "apply",
        )

    def _decide(self, evidence: Evidence, prompt: str) -> _Decision:
        """Keywords first; what they leave open goes to the embedding stage (or leans to accept); an allowed
        prompt is then checked for a clause that describes a real person ("the Jamaican sprinter who won …"),
        which only a rejection's category would change otherwise (and costs an embedding)."""
        decision = self._decide_on_words(evidence, prompt)
        if not decision.allowed or self.described is None or (found := self.described.find(prompt)) is None:
            return decision
        example = f"\u201c{found.example}\u201d (similarity {found.similarity:.2f})"
        who = f"closest to a description of {found.person}: {example}"
        term = Term(found.clause, FOUND_BY_FRAME, role=DESCRIBED_ROLE, person=who)
        clause = normalize(found.clause)
        start = evidence.text.find(clause)
        evidence.people.append(Hit(term, found.clause, max(start, 0), max(start, 0) + len(clause)))
        if start >= 0:  # where the rewrite cuts it out
            evidence.removed.append((start, start + len(clause)))
        return _Decision(False, "real_person", -30.0, self._keyword_reasons(evidence, False), "embedding")

    def _decide_on_words(self, evidence: Evidence, prompt: str) -> _Decision:
        """Keywords first; what they leave open goes to the embedding stage (or leans to accept)."""
        anime, photo = evidence.anime_weight, evidence.reject_weight("photographic")
        document = evidence.reject_weight("document_or_data")
        rejected, allowed = self._keyword_reasons(evidence, False), self._keyword_reasons(evidence, True)
        if evidence.people:
            return _Decision(False, "real_person", -30.0, rejected, "keywords")
        asked = any(hit.weight >= STRONG for hit in evidence.rejects.get("photographic", []))
        documents = evidence.rejects.get("document_or_data", [])
        if not asked and max(document, photo) >= STRONG and self.rules.acts_before(evidence):
            # someone named first, then the chart or camera: it may be a thing in their scene, not the request
            return self._embedding_decision(evidence, prompt, rejected, allowed)
        if document >= STRONG and evidence.words_before(documents) >= LATE_DOCUMENT:
            if not asked:
                return self._embedding_decision(evidence, prompt, rejected, allowed)
            evidence.explain("document_or_data")  # the photograph is what is asked for: the chart is in it
            document, rejected = 0.0, self._keyword_reasons(evidence, False)
        if document >= STRONG:  # a chart in anime style is still a chart: style words do not offset it
            return _Decision(False, "document_or_data", -document, rejected, "keywords")
        # a photograph asked for in so many words ("photorealistic", "dslr", "unreal engine") is a photograph
        # in anime style too, as a chart is; looser photo words (hints) must outweigh the anime ones
        if photo >= STRONG and (asked or photo >= DOMINATES * anime):
            return _Decision(False, "photographic", anime - photo, rejected, "keywords")
        if anime > 0 and anime >= DOMINATES * (photo + document):
            return _Decision(True, "anime", anime - photo - document, allowed, "keywords")
        if anime >= STRONG and not asked and not document:  # an anime request with loose photo-ish words
            return _Decision(True, "anime", anime - photo, allowed, "keywords")
        if evidence.explained and not evidence.rejects:  # the only look-alike words were explained away
            return _Decision(True, "anime" if anime else "neutral", 1.0, allowed, "keywords")
        return self._embedding_decision(evidence, prompt, rejected, allowed)

    def _embedding_decision(
        self, evidence: Evidence, prompt: str, rejected: list[str], accepted: list[str]
    ) -> _Decision:
        anime = evidence.anime_weight
        category, weight = evidence.strongest_reject()
        keyword_logit = KEYWORD_GAIN * (anime - weight)
        allowed_category = "anime" if anime > 0 else "neutral"
        if self.index is None or (not self.index.multilingual and _mostly_non_latin(prompt)):
            # keywords only (or an English-only model and a prompt in another script): undecided prompts
            # are accepted unless reject words outweigh
            logit = keyword_logit if keyword_logit else 0.5
            allowed = logit >= 0
            reasons = accepted or ["no out-of-domain terms: drawn in the chosen style"]
            return _Decision(
                allowed, allowed_category if allowed else category, logit, reasons if allowed else rejected, "keywords"
            )
        near = self.index.nearest(prompt)
        reject_class = max((c for c in near if c != "accept"), key=lambda c: near[c].score)
        logit = EMBEDDING_BIAS + keyword_logit + EMBEDDING_GAIN * (near["accept"].score - near[reject_class].score)
        allowed = logit >= -MIDDLE  # the middle band is allowed (with a note): only clear cases are rejected
        winner = near["accept"] if allowed else near[reject_class]
        example = f"closest example: \u201c{winner.example}\u201d (similarity {winner.similarity:.2f})"
        reasons = [*(accepted if allowed else rejected), example]
        return _Decision(
            allowed, allowed_category if allowed else reject_class, logit, reasons, "embedding", near=reject_class
        )

    def _keyword_reasons(self, evidence: Evidence, allowed: bool) -> list[str]:
        """What the keyword stage found, worded for the decision: reject words are accusations in a
        rejection, and in an allowed prompt words that were read as part of the picture."""
        reasons = []
        if evidence.people:
            who = [f", {h.term.person}" if h.term.person else "" for h in evidence.people]
            names = ", ".join(f"\u2018{h.found}\u2019{that}" for h, that in zip(evidence.people, who, strict=True))
            verb = "describes" if all(h.term.person for h in evidence.people) else "names"
            reasons.append(f"{verb} a real person ({names}): this tool draws original characters")
        for category, hits in evidence.rejects.items():
            words = ", ".join(f"\u2018{h.found}\u2019" for h in hits)
            if allowed:
                what = self.rules.labels[category].removeprefix("asks for ")
                reasons.append(f"{words}: read as part of the picture, not as a request for {what}")
            else:
                reasons.append(f"{self.rules.labels[category]}: {words}")
        if evidence.rejects.get("document_or_data") and not allowed:
            reasons.append("this tool draws illustrations, not documents")
        if evidence.anime:
            reasons.append("anime/illustration style: " + ", ".join(f"\u2018{h.found}\u2019" for h in evidence.anime))
        if evidence.explained:
            words = ", ".join(f"\u2018{h.found}\u2019" for h in evidence.explained)
            reasons.append(f"fine here (a prop in the scene, a style reference or another sense of the word): {words}")
        return reasons

    def _suggestions(self, evidence: Evidence, category: str, near: str | None = None) -> list[str]:
        """Up to three rewrites, each one checked to pass this validator (see `suggest` for "middle")."""
        passing = []
        for candidate in suggest(evidence, category, self.rules, near):
            if self.judge(candidate, "none", with_suggestions=False).allowed:
                passing.append(candidate)
        return passing[:3]


def _mostly_non_latin(text: str) -> bool:
    """True when most letters are outside Latin script (CJK, Cyrillic, ...): all-MiniLM reads English."""
    letters = [c for c in text if c.isalpha()]
    return sum(not c.isascii() and not "\u00c0" <= c <= "\u024f" for c in letters) > len(letters) / 2
