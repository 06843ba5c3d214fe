"""Danbooru-style tag prompts ("1girl, solo, silver_hair") rewritten as a phrase SD 2.1's OpenCLIP understands.

Detection (`is_tag_prompt`) says yes when either holds:
1. a booru marker: a counting tag (1girl, 2boys, 6+girls, multiple girls, solo), an underscore joining
   two words (long_hair), a quality or meta tag as a whole item (masterpiece, absurdres, score_9),
   weight syntax (((x)), (x:1.2), [x], {x}) or a LoRA reference (<lora:name:0.8>);
2. the shape of a tag list: at least 3 comma-separated items, at least two thirds of them short
   (1-4 words, at most 32 characters), and fewer than half reading like a clause, i.e. starting with an
   article or preposition ("a", "at", "with"...) or holding a verb such as "is". So "dragon, castle, night"
   is tags, while "a knight, sword raised, at dawn" (2 of 3 items start like clauses) is a sentence.
Everything else is a sentence: `to_phrase` then only removes weight syntax and tidies spacing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Conversion", "is_tag_prompt", "to_phrase"]


def _table(text: str) -> frozenset[str]:
    return frozenset(text.split("|"))


# Quality, meta, rating and negative-prompt tags: they describe the file, not the picture, so they go.
_DROP = _table(
    "masterpiece|best quality|high quality|highest quality|top quality|good quality|great quality|amazing quality|"
    "perfect quality|very aesthetic|highres|absurdres|incredibly absurdres|ultra-detailed|ultra detailed|"
    "extremely detailed|highly detailed|hyper detailed|8k|4k|8k uhd|8k wallpaper|4k wallpaper|hd|uhd|"
    "extremely detailed cg unity 8k wallpaper|official art|official wallpaper|newest|recent|"
    "worst quality|low quality|normal quality|bad quality|lowres|jpeg artifacts|bad anatomy|bad hands|"
    "bad proportions|extra fingers|fewer digits|extra digits|missing fingers|extra limbs|missing limbs|"
    "mutated hands|poorly drawn hands|poorly drawn face|deformed|disfigured|mutation|watermark|username|error|"
    "cropped|ugly|safe|sfw|nsfw|explicit|questionable|"
    "걸작|최고 품질|고품질|傑作|最高品質|高品質|高画質|杰作|最佳质量|最高质量|高质量|chef-d'œuvre|meilleure qualité|"
    "obra maestra|mejor calidad|obra-prima|melhor qualidade|meisterwerk|beste qualität|шедевр|лучшее качество"
)
_DROP_RE = re.compile(r"score \d+(?: up)?|source (?:anime|manga|cartoon|furry|pony)|rating[: ]*\w+|year \d{4}")

# Booru idioms and their plain-English reading; no value is itself a key, so a second pass changes nothing.
_PHRASES = {
    "no humans": "no people",
    "looking at viewer": "looking at the viewer",
    "looking at another": "looking at another person",
    "facing viewer": "facing the viewer",
    "cowboy shot": "framed from the thighs up",
    "from above": "seen from above",
    "from below": "seen from below",
    "from behind": "seen from behind",
    "from side": "seen from the side",
    "dutch angle": "tilted camera angle",
    "pov": "first-person view",
    "solo focus": "focus on one person",
    "male focus": "focus on the male character",
    "animal focus": "focus on the animal",
    "food focus": "focus on the food",
    "simple background": "plain background",
    "anime screencap": "anime screenshot",
    "lineart": "line art",
    "multiple views": "several views",
    "original": "original character",
    "official alternate costume": "alternate costume",
    "thighhighs": "thigh-high stockings",
    "zettai ryouiki": "bare thighs between skirt and stockings",
    "serafuku": "sailor school uniform",
    "gakuran": "black high-collared school uniform",
    "twintails": "twin tails",
    "absurdly long hair": "extremely long hair",
    "kemonomimi mode": "animal ears",
    "bishoujo": "beautiful girl",
    "bishounen": "handsome young man",
    "miko": "shrine maiden",
    "jitome": "half-closed eyes",
    "v": "peace sign",
    ":d": "open-mouthed smile",
    ":o": "surprised open mouth",
    ";d": "winking open-mouthed smile",
    ":3": "cat-like smile",
    "^_^": "smiling with closed eyes",
    ">_<": "eyes squeezed shut",
}
_COUNT_RE = re.compile(r"(?:([1-9]\d?)|(6)\+) ?(girl|boy|other)s?")
_MULTIPLE_RE = re.compile(r"multiple (girl|boy|other)s")
_NUMBERS = ("", "a", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_NOUNS = {"girl": ("girl", "girls"), "boy": ("boy", "boys"), "other": ("person", "people")}
# `name (qualifier)`: most qualifiers name a series ("rem (re:zero)"); these name a kind of thing instead.
_KINDS = {
    **dict.fromkeys(_table("character|series|franchise|game|anime|manga|object|medium"), "{name}"),
    **dict.fromkeys(
        _table("style|symbol|creature|animal|weapon|instrument|food|plant|flower|vehicle"), "{name} {kind}"
    ),
    **dict.fromkeys(_table("cosplay|meme"), "{name} {kind}"),
    "artist": "by {name}",
}
_QUALIFIED_RE = re.compile(r"(.*?\S)\s+\(\s*([^()]*[^()\s])\s*\)")
# Plain tags that describe the subject's body or clothes join the subject clause ("a girl with silver hair").
_PLAIN_WORDS = r"(?!.*\b(?:no|in|on|over|under|between|at|behind|holding|\w+ing)\b)"
_FEATURE_RE = re.compile(
    _PLAIN_WORDS + r".*\b(?:hair|eyes|ears|tail|tails|horns|wings|skin|pupils|bangs|ponytail|braid|freckles|fangs)$"
)
_CLOTHING_RE = re.compile(
    _PLAIN_WORDS + r".*\b(?:uniform|dress|kimono|yukata|hoodie|shirt|skirt|jacket|coat|armor|suit|sweater|cardigan|"
    r"robe|robes|bodysuit|swimsuit|bikini|cloak|cape|apron|hat|cap|beret|scarf|gloves|boots|stockings|pantyhose|"
    r"socks|glasses|sundress|gown|ballgown|hakama|pajamas|jumpsuit|vest|necktie|headdress|blazer|shorts|hanfu)$"
)
_CLAUSE_START = _table("a|an|the|at|in|on|with|of|under|over|while|and|but|as|by|near|into|through|to")
_CLAUSE_WORDS = _table("is|are|was|were|has|have|who|which")

_SEPARATORS = ",，、"
_SPLIT_RE = re.compile(r"[,，、]")
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_WEIGHT = r"\s*:\s*-?(?:\d+(?:\.\d*)?|\.\d+)\s*"  # one way to read each number: no backtracking blow-up
_WEIGHT_END_RE = re.compile(_WEIGHT + "$")
_TRAILER_RE = re.compile(rf"(?:[\s)\]}}]|{_WEIGHT})*+")  # possessive: a review found 10 s on 55 characters
_LORA_RE = re.compile(r"<\s*(?:lora|lyco|lycoris|hypernet)\s*:[^<>,]*>", re.IGNORECASE)
_MARKER_RE = re.compile(rf"\(\s*\(|\)\s*\)|\[[^\[\]]+\]|\{{[^{{}}]+\}}|{_WEIGHT}[)\]}}]|(?<=[^\W_])_(?=[^\W_])")


@dataclass(frozen=True)
class Conversion:
    """A prompt rewritten as a natural phrase, with what was removed and what was reworded."""

    phrase: str  # empty only when every item was a quality/meta tag or had no words
    dropped: tuple[str, ...] = ()  # quality, meta, rating, negative tags and LoRA references, as written
    mapped: tuple[tuple[str, str], ...] = ()  # (tag as written, its rewording), in prompt order


@dataclass(frozen=True)
class _Piece:
    tag: str  # the item as written, weights and underscores removed
    text: str  # what goes into the phrase
    role: str  # "subject" (counting tag), "several", "solo", "mapped" or "tag"
    noun: str = ""  # subjects: girl, boy or other


def is_tag_prompt(text: str) -> bool:
    """True for a booru tag list, False for a sentence; the rule is in the module docstring."""
    _require_str(text, "is_tag_prompt")
    cleaned, loras = _clean(text)
    return bool(loras) or _looks_like_tags(text, cleaned)


def scene_tags(text: str) -> frozenset[str]:
    """The tags of a tag list that draws characters (`1girl`, `2boys`, `multiple girls`, `solo`, `solo focus`),
    casefolded, weights and underscores gone; empty for a sentence or a list without a character. In such a
    list a tag that is a document (`sheet music`, `map`, `newspaper`) is something in the scene."""
    if not is_tag_prompt(text):
        return frozenset()
    keys = frozenset(_key(item) for item in _split(_clean(text)[0]))
    return keys if any(_is_character(key) for key in keys) else frozenset()


def to_phrase(text: str) -> Conversion:
    """The prompt as a natural phrase: subjects first, quality tags dropped, booru idioms reworded."""
    _require_str(text, "to_phrase")
    if not text.strip():
        raise ValueError(f"to_phrase needs a prompt with words in it, got an empty or blank string: {text!r:.20}")
    cleaned, loras = _clean(text)
    if not loras and not _looks_like_tags(text, cleaned):
        return Conversion(_tidy(cleaned))
    pieces, dropped = _classify(_split(cleaned))
    mapped = tuple(dict.fromkeys((p.tag, p.text) for p in pieces if p.text != p.tag))
    return Conversion(_compose(pieces), tuple(dict.fromkeys(loras + dropped)), mapped)


def _require_str(text: object, caller: str) -> None:
    if not isinstance(text, str):
        raise ValueError(f"{caller} needs the prompt as a str, got {type(text).__name__}: {text!r:.60}")


# --- 1. cleaning: weights, escapes, LoRA references and underscores out; item boundaries kept


def _clean(text: str) -> tuple[str, list[str]]:
    """The prompt without weight syntax, and the LoRA references cut out of it."""
    loras: list[str] = []
    cleaned = _clean_once(text, loras)
    while cleaned != text:  # removing "(" from "<l(ora:x>" may reveal more; each round shortens the text
        text, cleaned = cleaned, _clean_once(cleaned, loras)
    return cleaned, loras


def _clean_once(text: str, loras: list[str]) -> str:
    text = re.sub(r"\\+(?=[()\[\]{}])", "", text)  # \( \) are literal parentheses: rem \(re:zero\)
    loras.extend(m.group() for m in _LORA_RE.finditer(text))
    text = _LORA_RE.sub(" ", text)
    text = re.sub(r"(?<=[^\W_])_+|_+(?=[^\W_])", " ", text)
    text = _strip_brackets(re.sub(r"\s+", " ", text))
    text = re.sub(rf"(?<=[^\W\d_]){_WEIGHT}(?=[{_SEPARATORS}]|$)", "", text)  # silver hair:1.2
    return re.sub(r"\s+", " ", text)


def _strip_brackets(text: str) -> str:
    """Removes weight brackets and unmatched ones; keeps a trailing `name (qualifier)` group."""
    drop: set[int] = set()
    opened: list[int] = []
    for i, char in enumerate(text):
        if char in "([{":
            opened.append(i)
        elif char in _CLOSERS and opened and text[opened[-1]] == _CLOSERS[char]:
            drop.update(_group_drops(text, opened.pop(), i))
        elif char in _CLOSERS:
            drop.add(i)
    drop.update(opened)
    return "".join(char for i, char in enumerate(text) if i not in drop)


def _group_drops(text: str, start: int, end: int) -> set[int]:
    """Indices to remove for one bracket group: its `:1.2` weight and, unless it is a qualifier, its brackets."""
    weight = _WEIGHT_END_RE.search(text, start + 1, end)
    if weight:
        return {start, *range(weight.start(), end + 1)}
    return set() if _is_qualifier(text, start, end) else {start, end}


def _is_qualifier(text: str, start: int, end: int) -> bool:
    """`name (series)`: round brackets after a word and a space, closing the item, with no separator inside."""
    inner = text[start + 1 : end]
    if text[start] != "(" or not inner.strip() or any(s in inner for s in _SEPARATORS):
        return False
    prefix = text[max(text.rfind(s, 0, start) for s in _SEPARATORS) + 1 : start]
    if not prefix.endswith(" ") or not re.sub(r"[()\[\]{}\s]", "", prefix):
        return False
    rest = _SPLIT_RE.split(text[end + 1 :], maxsplit=1)[0]
    return _TRAILER_RE.fullmatch(rest) is not None


def _split(cleaned: str) -> list[str]:
    return [item.strip() for item in _SPLIT_RE.split(cleaned) if item.strip()]


def _tidy(cleaned: str) -> str:
    """Sentence output: one separator where several were, a space after commas, none at the ends."""
    text = re.sub(r"\s*([,，、])[\s,，、]*", lambda m: ", " if m.group(1) == "," else m.group(1), cleaned)
    return text.strip(" ,，、")


def _key(item: str) -> str:
    return " ".join(item.casefold().split())


# --- 2. detection


def _looks_like_tags(raw: str, cleaned: str) -> bool:
    # the cleaned text too: a marker that cleaning uncovers ("a (b (c)\)") must not flip a second pass
    items = _split(cleaned)
    if _MARKER_RE.search(raw) or _MARKER_RE.search(cleaned) or any(_is_marker(_key(item)) for item in items):
        return True
    if len(items) < 3:
        return False
    short = sum(len(item.split()) <= 4 and len(item) <= 32 for item in items)
    clauses = sum(_reads_like_clause(_key(item)) for item in items)
    return short * 3 >= len(items) * 2 and clauses * 2 < len(items)


def _is_marker(key: str) -> bool:
    return _is_character(key) or _drops(key)


def _is_character(key: str) -> bool:
    return key in ("solo", "solo focus") or bool(_COUNT_RE.fullmatch(key) or _MULTIPLE_RE.fullmatch(key))


def _reads_like_clause(key: str) -> bool:
    words = key.split()
    return words[0] in _CLAUSE_START or any(w in _CLAUSE_WORDS for w in words)


def _drops(key: str) -> bool:
    return key in _DROP or _DROP_RE.fullmatch(key) is not None


# --- 3. classification and composition


def _classify(items: list[str]) -> tuple[list[_Piece], list[str]]:
    """Each distinct item as a piece of the phrase, or as a dropped tag."""
    pieces: list[_Piece] = []
    dropped: list[str] = []
    for item in _unique(items):
        if _drops(_key(item)):
            dropped.append(item)
        else:
            pieces.append(_piece(item))
    return pieces, dropped


def _piece(item: str) -> _Piece:
    key = _key(item)
    if count := _COUNT_RE.fullmatch(key):
        return _Piece(item, _counted(count), "subject", count.group(3))
    if several := _MULTIPLE_RE.fullmatch(key):
        return _Piece(item, f"several {_NOUNS[several.group(1)][1]}", "several", several.group(1))
    if key == "solo":
        return _Piece(item, "alone", "solo")
    if key in _PHRASES:
        return _Piece(item, _PHRASES[key], "mapped")
    if qualified := _QUALIFIED_RE.fullmatch(item):
        name, qualifier = qualified.groups()
        template = _KINDS.get(qualifier.casefold(), "{name} from {kind}")
        return _Piece(item, template.format(name=name, kind=qualifier), "mapped")
    return _Piece(item, item, "tag")


def _counted(count: re.Match) -> str:
    """1girl -> "a girl", 2boys -> "two boys", 6+girls -> "six or more girls"."""
    number = int(count.group(1) or 6)
    singular, plural = _NOUNS[count.group(3)]
    if number == 1:
        return f"a {singular}"
    words = _NUMBERS[number] if number < len(_NUMBERS) else str(number)
    return f"{words}{' or more' if count.group(2) else ''} {plural}"


def _compose(pieces: list[_Piece]) -> str:
    """Subjects first ("a girl alone with silver hair, wearing school uniform"), then the rest in order."""
    pieces = _unique(pieces, key=lambda p: _key(p.text))
    subjects = _subjects(pieces)
    if not subjects:
        return _join([p.text for p in pieces])
    alone = len(subjects) == 1 and any(p.role == "solo" for p in pieces)
    rest = [p for p in pieces if p.role in ("tag", "mapped") or (p.role == "solo" and not alone)]
    features = [p for p in rest if p.role == "tag" and _FEATURE_RE.match(_key(p.text))]
    clothes = [p for p in rest if p.role == "tag" and p not in features and _CLOTHING_RE.match(_key(p.text))]
    head = " and ".join(subjects) + (" alone" if alone else "")
    if features:
        head += f" with {_and(features)}"
    if clothes:
        head += f"{',' if features else ''} wearing {_and(clothes)}"
    return _join([head, *(p.text for p in rest if p not in features and p not in clothes)])


def _subjects(pieces: list[_Piece]) -> list[str]:
    """Counting tags as words; "several girls" is left out when "three girls" already says it."""
    counted = {p.noun for p in pieces if p.role == "subject" and not p.text.startswith("a ")}
    return [p.text for p in pieces if p.role == "subject" or (p.role == "several" and p.noun not in counted)]


def _and(pieces: list[_Piece]) -> str:
    texts = [p.text for p in pieces]
    return texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} and {texts[-1]}"


def _join(texts: list[str]) -> str:
    return ", ".join(_unique([t for t in texts if t]))


def _unique(values: list, key: Callable = _key) -> list:
    """The first of each group of values with the same key, in order."""
    first: dict = {}
    for value in values:
        first.setdefault(key(value), value)
    return list(first.values())
