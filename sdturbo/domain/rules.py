"""The keyword stage of the domain validator: terms from data/domain.toml, matched on word boundaries."""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from sdturbo.domain.deeds import ROLES, Deeds
from sdturbo.errors import InvalidParameterError

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
WEIGHTS = {"strong": 2.0, "hint": 1.0, "weak": 0.5}
_REGEX_SYNTAX = frozenset("\\^$.|?*+()[]{}")
PHOTOGRAPHER = "acclaimed photographer"  # real_people.toml's role of photographers: their style is a photograph
_EAST_ASIAN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\u1100-\u11ff\uf900-\ufaff]")
# "by Miyazaki" names a style; "played by Johnny Depp" names the actor
_STYLE_BEFORE = re.compile(
    r"(?:style of|styled after|inspired by|in the manner of|(?<!played )(?<!voiced )(?<!portrayed )\bby|"
    r"\bà la|\ba la)\s*$"
)
# a surname alone is the subject when a verb, a preposition or the clause's end follows it ("Beethoven
# conducting", "Picasso in his studio", "Ohtani, anime"), not when it names a work, a thing or a look ("playing
# Bach", "a Galileo telescope", "like van Gogh", "an Escher-like castle", "a girl named Adele", "Orwell's 1984")
_BARE_BEFORE = re.compile(
    r"\b(?:play|plays|playing|played|listen|listens|listening|hum|hums|humming|read|reads|reading|named|called|"
    r"like|copy of|by|of)\s+$"
)
_BARE_AFTER = re.compile(
    r"\s*(?:$|[,;:!?)(\[\].]|(?:lookalike|look-alike|doppelganger|in|at|on|with|from|while|and|as|during|for|to|"
    r"by|who|is|was|riding|wearing|"
    r"holding|standing|sitting|walking|playing|giving|reading|writing|drawn|portrayed|reimagined|but|or|"
    r"(?!(?:building|painting|drawing|ring|thing|string|wing|king|ceiling|setting|ending|opening|staircase)\b)"
    r"[a-z]+(?:ing|ed|es|s))\b)"
)
_BARE_LOOK = re.compile(r"(?:'s\b|[\s\-]*(?:like|esque|ian)\b)")  # "Orwell's 1984", "an Escher-like castle"
_STYLE_AFTER = re.compile(r"(?:'s)?[\s\-]*(?:art )?(?:style|inspired|esque|lighting|palette|brushwork)\b")
# a name, then what they wrote: the subject comes from their story ("Count Dracula from the Bram Stoker novel")
_AUTHOR_OF = re.compile(r"(?:'s)? (?:novel|book|story|stories|tale|tales|play|poem|saga|universe)s?\b")
# "a hamster named Einstein", "Napoleon the pig": the name is a pet's (not "a man named Barack Obama")
_PETS = (
    r"(?:pig|cat|dog|hamster|rabbit|bunny|parrot|goldfish|horse|pony|cow|goat|sheep|duck|chicken|rooster|mouse|"
    r"rat|ferret|turtle|tortoise|frog|owl|fox|raccoon|corgi|shiba|puppy|kitten)"
)
_NAMED_BEFORE = re.compile(rf"\b{_PETS}s?\s+(?:named|called|nicknamed|dubbed)\s+$")
# the pet word ends the phrase: "Napoleon the pig from Animal Farm", not "Taylor Swift the cat girl"
_PET_AFTER = re.compile(rf",?\s+the\s+{_PETS}s?(?=\s*$|\s*[,.;:!?)]|\s+(?:from|of|who|in)\b)")
# digits and signs written for letters inside a word: "t4ylor sw1ft", "3lon mu$k" (not "85mm", "1girl", "5e")
_LEET = str.maketrans({"4": "a", "@": "a", "3": "e", "1": "i", "0": "o", "5": "s", "$": "s", "7": "t"})
_TOKEN = re.compile(r"[a-z0-9@$]*[a-z][a-z0-9@$]*")
_NOT_LEET = re.compile(r"\d+(?:girls?|boys?|others?|k|p|d|e|s|x|mm|cm|px|st|nd|rd|th)")  # tags, sizes, ordinals
_CLAUSE_START = re.compile(r",\s*$")  # a tag after others, not the prompt itself
_ARTICLE_BEFORE = re.compile(
    r"\b(?:a|an|the|her|his|their|its|my|some|old|faded|glowing|two|three|several)\s+(?:[\w\-]+\s+)?$"
)
# things in motion, slung on someone or tucked under an arm are props whatever comes before them: "sheet music
# sliding off the stand", "sheet music tucked under her arm"
_MOVING = frozenset(
    ("sliding", "falling", "fluttering", "drifting", "blowing", "slung", "strapped", "tucked", "rolled")
)
# a rejected word followed by where it lies in the scene is a prop too: "polaroids scattered on the bed"
# ("a polaroid camera hanging around his neck", "a telephoto lens slung over his shoulder")
_PROP_AFTER = re.compile(
    r"(?:e?s)?(?:[\s\-]+(?:cameras?|lens(?:es)?))?(?: and (?:[\w\-]+ )?[\w\-]+){0,2}\s+"
    r"(?:scattered|strewn|pinned|taped|hanging|lying|spread|piled|stacked|framed|carved|etched|engraved|propped|"
    r"stuck|mounted|clipped|glued|folded|"
    rf"{'|'.join(sorted(_MOVING))}|"
    r"on (?:(?:the|a|her|his|their) )?(?:walls?|desk|table|bed|floor|shelf|shelves|counter|fridge|board|chalkboard|"
    r"blackboard|whiteboard))\b"
)
# many of them drawn on a surface are part of the room ("diagrams chalked all over the walls"); one is what
# is asked for ("a flowchart chalked on the wall explaining the sales process")
_DRAWN_ON = re.compile(
    r"(?:e?s)?(?: and [\w\-]+){0,2}\s+(?:chalked|scrawled|scribbled|painted) (?:all )?(?:on|across|over) "
    r"(?:the|a|an|her|his|their)\b"
)


@dataclass(frozen=True)
class Term:
    """One phrase or regular expression and what it counts for."""

    text: str  # as written in the data file
    pattern: re.Pattern
    weight: float = 0.0
    role: str = ""  # real people only: the original character to suggest instead
    person: str = ""  # a real person pointed at without a name ("the composer of …"): who that is, in words
    bare: bool = False  # a surname or one word alone ("Beethoven"): a person only as the picture's subject

    @functools.cached_property  # read for every term on every scan: worked out once
    def needles(self) -> tuple[str, ...]:
        """Substrings of which every match contains one (a plain term's first word; a "re:" term's text when it
        is plain, as most CJK ones are, else `_required_literals`), for a cheap test before the regex; () when
        none is known."""
        if self.text.startswith("re:"):
            body = self.text[3:]
            return _required_literals(body) if _REGEX_SYNTAX.intersection(body) else (body,)
        return (self.text.split()[0],)

    @functools.cached_property
    def needle(self) -> str:
        """The one substring every match contains, or "" (several alternatives, or none known)."""
        return self.needles[0] if len(self.needles) == 1 else ""

    @functools.cached_property
    def east_asian(self) -> bool:
        """Whether this "re:" term is written in CJK, kana or Hangul alone (no Latin letter outside its escapes
        like \\s): it can match only a prompt with such characters, and is skipped for the others."""
        body = re.sub(r"\\[a-zA-Z]", "", self.text[3:]) if self.text.startswith("re:") else "a"
        return bool(_EAST_ASIAN.search(body)) and not re.search(r"[a-zA-Z]", body)


@dataclass(frozen=True)
class Hit:
    """A term found in a prompt, with the words as they were written there."""

    term: Term
    found: str
    start: int  # where it starts in the normalized prompt
    end: int

    @property
    def weight(self) -> float:
        return self.term.weight


@dataclass
class Evidence:
    """What the keyword stage found in one prompt."""

    text: str  # the normalized prompt
    anime: list[Hit] = field(default_factory=list)
    rejects: dict[str, list[Hit]] = field(default_factory=dict)  # category -> matched terms
    people: list[Hit] = field(default_factory=list)
    explained: list[Hit] = field(default_factory=list)  # look-alikes: neutral phrases, props in the scene
    removed: list[tuple[int, int]] = field(default_factory=list)  # spans of rejected terms and names

    @property
    def anime_weight(self) -> float:
        return sum(t.weight for t in self.anime)

    def reject_weight(self, category: str) -> float:
        return sum(t.weight for t in self.rejects.get(category, []))

    def strongest_reject(self) -> tuple[str | None, float]:
        """The reject category with the most weight, and that weight (None, 0 when none matched)."""
        scored = [(self.reject_weight(c), c) for c in self.rejects]
        weight, category = max(scored, default=(0.0, None))
        return category, weight

    def words_before(self, hits: list[Hit]) -> int:
        """How many words of the prompt come before the first of `hits` (no spaces in CJK text: 0 or 1 there)."""
        return min((len(self.text[: hit.start].split()) for hit in hits), default=0)

    def explain(self, category: str) -> None:
        """Read every term of a reject category as part of the picture (a prop), not as a request."""
        self.explained.extend(self.rejects.pop(category, []))

    def kept_text(self) -> str:
        """The normalized prompt with every rejected term and name cut out."""
        pieces, last = [], 0
        for start, end in sorted(self.removed):
            pieces.append(self.text[last:start])
            last = max(last, end)
        return " ".join(pieces + [self.text[last:]])


def _required_literals(pattern: str) -> tuple[str, ...]:
    """Plain substrings of which every match of a regex contains at least one: its longest literal run, or the
    literal runs of the alternatives of a group every match passes through ("(?:村上春樹|夏目漱石)" needs one
    of them), whichever has the longest shortest string; () when there is none (then the regex is always run)."""
    try:
        parsed = re._parser.parse(pattern)  # the stdlib's own (private) reading of the pattern
    except Exception:  # noqa: BLE001 - any failure of a private API means no shortcut, never a wrong one
        return ()
    if parsed.state.flags & re.IGNORECASE:
        return ()
    return _literals_of(list(parsed)) or ()


def _literals_of(items: list) -> tuple[str, ...] | None:
    """The best set of required substrings of a sequence of parsed regex items (see `_required_literals`)."""
    constants = re._constants
    candidates, run = [], []
    for op, value in items:
        if op is constants.LITERAL:
            run.append(chr(value))
            continue
        if run:
            candidates.append(("".join(run),))
            run = []
        found = None
        if op is constants.SUBPATTERN and not value[1] & re.IGNORECASE:  # (group, add flags, del flags, items)
            found = _literals_of(list(value[3]))
        elif op is constants.BRANCH:  # (None, [items of each alternative]): each must give some
            branches = [_literals_of(list(branch)) for branch in value[1]]
            found = None if not all(branches) else tuple(text for branch in branches for text in branch)
        elif op in (constants.MAX_REPEAT, constants.MIN_REPEAT) and value[0] >= 1:  # (min, max, items)
            found = _literals_of(list(value[2]))
        if found:
            candidates.append(found)
    if run:
        candidates.append(("".join(run),))
    best = max(candidates, key=lambda texts: (min(map(len, texts)), -len(texts)), default=None)
    return best if best and min(map(len, best)) > 0 else None


def normalize(prompt: str) -> str:
    """Lower-case NFKC text with underscores as spaces (tag-style prompts use them)."""
    return unicodedata.normalize("NFKC", prompt).lower().replace("_", " ").replace("’", "'")


def compile_term(text: str) -> re.Pattern:
    """A term as a regex: word-bounded, spaces match hyphens/nothing, optional plural ending."""
    if text.startswith("re:"):
        return re.compile(text[3:])
    body = r"[\s\-]*".join(re.escape(word) for word in text.split())
    return re.compile(rf"(?<!\w){body}(?:e?s)?(?!\w)")


class Rules:
    """All terms of the data file, compiled once, longest first so phrases win over their words."""

    def __init__(self, data: dict) -> None:
        self.data = data
        self.neutral = self._terms(data["neutral"]["phrases"], 0.0)
        self.tag_props = frozenset(data["neutral"]["tag_props"])  # see domain.toml
        props = "|".join(r"[\s\-]*".join(map(re.escape, p.split())) for p in data["neutral"]["props"])
        # a prop word, then at most four words of the same clause, then the end of the context
        self._prop_before = re.compile(rf"(?<!\w)(?:{props})(?!\w)(?:[^\w,;.]+[\w'\-]+){{0,4}}[^\w,;.]*$")
        agents = "|".join(r"[\s\-]*".join(map(re.escape, a.split())) for a in data["neutral"]["agents"])
        # a prompt that opens with someone (a few words before them at most): "a tired salaryman buried under…"
        self._agent_first = re.compile(rf"\W*(?:[\w\-]+\s+){{0,3}}?(?:{agents})(?:e?s)?(?!\w)(?!'s?\b)")
        self.anime = self._weighted(data["anime"])
        # "not a drawing", "nada de desenho": a style word said no to asks for a photograph (read before the
        # style words, which would take "drawing" for an anime request)
        self.negated = self._terms(data["reject"]["photographic"].get("negated", []), WEIGHTS["strong"])
        self.rejects = {name: self._weighted(spec) for name, spec in data["reject"].items()}
        self.labels = {name: spec["label"] for name, spec in data["reject"].items()}
        self._neutral, self._anime = _Shortlist(self.neutral), _Shortlist(self.anime)
        self._rejects = {name: _Shortlist(terms) for name, terms in self.rejects.items()}
        self.people = sorted(
            (
                Term(n, compile_term(n), role=group["role"], bare=group.get("bare", False))
                for group in data["real_people"]
                for n in group["names"]
            ),
            key=lambda t: -len(t.text),
        )
        self._people = _Shortlist(self.people)
        self.nicknames = sorted(map(_nickname, data.get("nicknames", [])), key=lambda t: -len(t.text))
        self._nicknames = _Shortlist(self.nicknames)
        self.deeds = Deeds(data.get("deeds", []))
        self.styles: dict[str, str] = data["styles"]
        self.fillers = [compile_term(f) for f in data["suggestions"]["fillers"]]  # cut from rewrite subjects

    def acts_before(self, evidence: Evidence) -> bool:
        """Whether the prompt opens with someone who acts in the scene and every rejected term comes after them,
        across an article, possessive or preposition ("a salaryman buried under spreadsheets"; not "a robot
        blueprint" or "a knight armor parts diagram", compounds)."""
        agent = self._agent_first.match(evidence.text)
        hits = [hit for category in evidence.rejects.values() for hit in category]
        return agent is not None and all(_ACTING.search(evidence.text[agent.end() : h.start]) for h in hits)

    def _nicknamed(self, evidence: Evidence, chars: list[str], grams: set[str]) -> list[Hit]:
        """Real people named by a nickname: a Latin one after a definite article or opening a clause ("the Sun
        King", "His Airness, dunking"; not "a sun king of a solar empire" or "the sun king of the desert
        kingdom"), a CJK one where it is not the start of a longer noun."""
        hits = []
        for hit in _consume(list(chars), self._nicknames.among(grams), None, evidence.text):
            after = evidence.text[hit.end :]
            if _EAST_ASIAN.search(hit.term.text):
                counts = not _CJK_COMPOUND.match(after)  # "鉄の女戦士" is a warrior, not Thatcher
            else:
                counts = _DEFINITE_BEFORE.search(evidence.text, 0, hit.start) and not _OTHER_TITLE.match(after)
            if counts:
                hits.append(_claimed(hit, evidence, chars))
        return hits

    def _deeds(self, evidence: Evidence, chars: list[str]) -> list[Hit]:
        """Real people pointed at by what they did ("the man who painted the Mona Lisa"), where no name was."""
        hits = []
        for f in self.deeds.find(evidence.text):
            if any(start < f.end and f.start < end for start, end in evidence.removed):
                continue
            deed = f.deed
            term = Term(deed.anchor, FOUND_BY_FRAME, role=ROLES[deed.kind], person=f"that is {deed.person}")
            hit = Hit(term, " ".join(evidence.text[f.start : f.end].split()), f.start, f.end)
            hits.append(_claimed(hit, evidence, chars))
        return hits

    def check_style(self, style: object, field: str = "style") -> str:
        """Return `style` if it names a preset of the data file; the one check of a style name."""
        if not isinstance(style, str) or style not in self.styles:
            raise InvalidParameterError(field, f"must be one of {', '.join(self.styles)}, got {style!r}")
        return style

    def apply_style(self, prompt: str, style: str) -> str:
        """The prompt inside the style preset's template (`style` already checked)."""
        return self.styles[style].replace("{prompt}", prompt.strip())

    @staticmethod
    def _terms(texts: list[str], weight: float) -> list[Term]:
        return sorted((Term(t, compile_term(t), weight) for t in texts), key=lambda t: -len(t.text))

    def _weighted(self, spec: dict) -> list[Term]:
        terms = [term for level, w in WEIGHTS.items() for term in self._terms(spec.get(level, []), w)]
        return sorted(terms, key=lambda t: -len(t.text))

    def scan(self, prompt: str) -> Evidence:
        """Match every term; each matched span is blanked so it is counted once."""
        evidence = Evidence(normalize(prompt))
        chars, grams = list(evidence.text), _grams(evidence.text)
        evidence.explained = _consume(chars, self._neutral.among(grams))
        if negated := _consume(chars, self.negated, evidence.removed, evidence.text):
            evidence.rejects["photographic"] = negated
        evidence.anime = _consume(chars, self._anime.among(grams))
        if negated and evidence.anime:  # "pixel art instead of anime style": a drawn style is still asked for
            evidence.explain("photographic")
        found = _consume(chars, self._people.among(grams), evidence.removed, evidence.text)
        # then names in leetspeak ("T4ylor Sw1ft") with their digits read as letters (the spans stay the same)
        spelled = _spelled(chars)
        if spelled != chars:
            found += _consume(spelled, self._people.among(_grams("".join(spelled))), evidence.removed, evidence.text)
            chars[:] = [" " if s == " " else c for c, s in zip(chars, spelled, strict=True)]  # blank where read
        found += self._nicknamed(evidence, chars, grams) + self._deeds(evidence, chars)
        for hit in found:
            # "in the style of X" / "X-style" names a look, not a person to depict; a pet may bear a famous name
            before, after = evidence.text[: hit.start], evidence.text[hit.end :]
            styled = _STYLE_BEFORE.search(before) or _STYLE_AFTER.match(after)
            styled = styled or (hit.term.pattern is not FOUND_BY_FRAME and _AUTHOR_OF.match(after))
            styled = styled or _NAMED_BEFORE.search(before) or _PET_AFTER.match(after)
            styled = styled or (hit.term.bare and not _subject(before, after))
            if styled and hit.term.role == PHOTOGRAPHER:  # "in the manner of Ansel Adams" asks for a photograph,
                # unless a drawn style is asked for too: then the anime words weigh against it
                photo = Term(hit.term.text, hit.term.pattern, WEIGHTS["hint" if evidence.anime else "strong"])
                evidence.rejects.setdefault("photographic", []).append(Hit(photo, hit.found, hit.start, hit.end))
                continue
            (evidence.explained if styled else evidence.people).append(hit)
        for category, shortlist in self._rejects.items():
            for hit in _consume(chars, shortlist.among(grams), evidence.removed, evidence.text):
                if self._prop_before.search(evidence.text, 0, hit.start) or _placed(evidence.text, hit):
                    evidence.explained.append(hit)
                else:
                    evidence.rejects.setdefault(category, []).append(hit)
        return evidence


# between someone and a thing in their scene: an article, a possessive or a preposition ("buried under
# spreadsheets", "yelling at the charts"); "a cat feeding schedule spreadsheet" is a spreadsheet
_ACTING = re.compile(
    r"\b(?:a|an|the|his|her|their|its|my|our|at|on|under|in|into|over|beside|behind|from|to|through|across|near|"
    r"among|amid|against|inside|onto)\b"
)


FOUND_BY_FRAME = re.compile(r"(?!)")  # the pattern of a term found by a frame around it, not by matching it
_OTHER_TITLE = re.compile(r"\s+(?:of|de|du|des|del|da|do) (?:a|an|the|un|une|una|uma|la|el|le|o)\b")
_CJK_COMPOUND = re.compile(r"[\u4e00-\u9fff\u30a0-\u30ff]")
_DEFINITE_BEFORE = re.compile(r"(?:(?:^|\W)(?:the|el|la|los|las|le|les|o|il|der|die|das)\s+|\bl'|^\s*|[,.;:!?(\[]\s*)$")


def _nickname(entry: dict) -> Term:
    """A nickname of real_people_nicknames.toml as a term (CJK ones without word boundaries)."""
    if not isinstance(entry.get("name"), str) or not isinstance(entry.get("person"), str):
        raise ValueError(f"real_people_nicknames.toml: every [[nickname]] needs a name and a person, got {entry!r}")
    name = entry["name"]
    pattern = re.compile(re.escape(name)) if _EAST_ASIAN.search(name) else compile_term(name)
    return Term(name, pattern, role="legendary figure", person=f"that is {entry['person']}")


class _Shortlist:
    """Thousands of terms, most of which cannot be in a given prompt: only those with a needle that starts
    with three letters the prompt has are tried (in their order), so a scan does not loop over every term."""

    def __init__(self, terms: list[Term]) -> None:
        self.terms = terms
        self.always: list[int] = []  # a short needle or none known: always tried
        self.by_start: dict[str, list[int]] = {}
        for i, term in enumerate(terms):
            needles = term.needles
            if not needles or min(map(len, needles)) < 3:
                self.always.append(i)
                continue
            for start in {needle[:3] for needle in needles}:
                self.by_start.setdefault(start, []).append(i)

    def among(self, grams: set[str]) -> list[Term]:
        """The terms that may be in a text with these three-letter pieces (`_grams`), in their order."""
        found = set(self.always)
        for gram in grams:
            found.update(self.by_start.get(gram, ()))
        return [self.terms[i] for i in sorted(found)]


def _grams(text: str) -> set[str]:
    """Every three-letter piece of `text`: what a `_Shortlist` looks terms up by (blanking a term's span later
    only removes pieces, so those of the text as written are enough for the whole scan)."""
    return {text[i : i + 3] for i in range(len(text) - 2)}


def _claimed(hit: Hit, evidence: Evidence, chars: list[str]) -> Hit:
    """`hit` (a nickname or a deed), its span blanked so no later term reads it and cut from rewrites."""
    chars[hit.start : hit.end] = " " * (hit.end - hit.start)
    evidence.removed.append((hit.start, hit.end))
    return hit


def _subject(before: str, after: str) -> bool:
    """Whether a surname alone stands for the person in the picture (see _BARE_BEFORE, _BARE_AFTER)."""
    if _BARE_BEFORE.search(before) or _BARE_LOOK.match(after):
        return False
    return _BARE_AFTER.match(after) is not None


def _spelled(chars: list[str]) -> list[str]:
    """`chars` with leetspeak letters restored in words that mix letters with digits or signs (a new list)."""
    spelled, text = list(chars), "".join(chars)
    for token in _TOKEN.finditer(text):
        word = token.group()
        if word != word.translate(_LEET) and not _NOT_LEET.fullmatch(word):
            spelled[token.start() : token.end()] = word.translate(_LEET)
    return spelled


def _placed(text: str, hit: Hit) -> bool:
    """Whether a rejected word names an object placed in the scene ("polaroids scattered on the bed", "a
    webcam and a microphone on the desk"): followed by where it lies, and plural, in a list, or after an
    article; not a bare request like "photorealistic framed portrait" or "bar chart spread over two pages"."""
    after = _PROP_AFTER.match(text, hit.end)
    drawn = after is None and (after := _DRAWN_ON.match(text, hit.end)) is not None
    if after is None:
        return False
    listed = after.group().lstrip().startswith("and ") or after.group()[:2] in ("s ", "es") or hit.found.endswith("s")
    moving = after.group().split()[-1] in _MOVING  # "sheet music sliding off the stand": a thing, not a request
    # after an article, or a tag of its own ("1girl, classroom, graph on chalkboard, …")
    article = _ARTICLE_BEFORE.search(text, 0, hit.start) or _CLAUSE_START.search(text, 0, hit.start)
    return listed or moving or (not drawn and article is not None)


def _consume(
    chars: list[str], terms: list[Term], spans: list[tuple[int, int]] | None = None, source: str | None = None
) -> list[Hit]:
    """Terms found in `chars` (each counted once); their spans are blanked and optionally recorded. A hit's
    words are read from `source` (the text before any blanking) when given: "the man who painted the
    sistine chapel", not "the man who         the sistine chapel"."""
    hits, text = [], "".join(chars)
    east_asian = _EAST_ASIAN.search(text) is not None
    for term in terms:
        if term.east_asian and not east_asian:
            continue
        needles = term.needles  # ~50 ns a needle instead of a regex scan
        if needles and (needles[0] not in text if len(needles) == 1 else not any(n in text for n in needles)):
            continue
        matches = [m for m in term.pattern.finditer(text) if m.end() > m.start()]
        if not matches:
            continue
        first = matches[0]
        found = (source or text)[first.start() : first.end()]
        hits.append(Hit(term, " ".join(found.split()), first.start(), first.end()))
        for m in matches:
            chars[m.start() : m.end()] = " " * (m.end() - m.start())
            if spans is not None:
                spans.append((m.start(), m.end()))
        text = "".join(chars)
    return hits


def load_data(name: str) -> dict:
    """A TOML file of sdturbo/data/, parsed."""
    with open(DATA_DIR / name, "rb") as handle:
        return tomllib.load(handle)


PEOPLE_FILES = ("real_people.toml", "real_people_extra.toml", "real_people_more.toml", "real_people_single.toml")


@functools.cache
def default_rules() -> Rules:
    """The rules shipped in sdturbo/data/ (domain.toml, the real people files, their nicknames and deeds), parsed
    once."""
    people = [group for name in PEOPLE_FILES for group in load_data(name)["real_people"]]
    nicknames = load_data("real_people_nicknames.toml")["nickname"]
    deeds = load_data("real_deeds.toml")["deed"]
    return Rules({**load_data("domain.toml"), "real_people": people, "nicknames": nicknames, "deeds": deeds})


@functools.cache
def prototypes() -> dict[str, list[str]]:
    """Example prompts per class for the embedding stage (sdturbo/data/prototypes.toml)."""
    return load_data("prototypes.toml")
