"""Anime-style rewrites of rejected prompts that keep the subject and drop what was out of domain."""

from __future__ import annotations

import re

from sdturbo.domain.rules import Evidence, Rules

_PORTRAIT_WORDS = ("portrait", "headshot", "selfie", "mugshot", "passport", "close up", "closeup")
_EDGE_WORDS = r"(?:of|with|in|on|at|by|and|from|for|using|as|the)"


def subject_of(evidence: Evidence, rules: Rules, keep_rejects: bool = False) -> str:
    """What the prompt is about once rejected terms (unless `keep_rejects`: an allowed prompt's look-alike
    words are part of its picture), names, style words and filler are cut out."""
    text = evidence.text if keep_rejects else evidence.kept_text()
    for pattern in rules.fillers:
        text = pattern.sub(" ", text)
    text = re.sub(r"[\s]*([,;:.!?])[\s,;:.!?]*", r"\1 ", text)  # one mark, then one space
    text = re.sub(r"\s+", " ", text).strip(" ,;:.!?-、。")
    text = re.sub(r"\b(a|an|the)\s+(?=(?:a|an|the|of)\b)", "", text)  # "a a man", "a of a cat" (photo cut out)
    clauses = [c.strip() for c in text.split(",")]
    # drop leftovers like "8", "24-" (a clause keeps its place with 3 Latin letters, or any CJK/Hangul one)
    text = ", ".join(c for c in clauses if re.search(r"[^\W\d_]{3}|[^\W\d_\u0000-\u024f]", c))
    # a cut-off head noun: "macro of a dew drop" (photograph cut out) -> "a dew drop"
    text = re.sub(r"^(?!(?:a|an|the)\b)(?:[\w\-]+ ){1,2}of (?=(?:a|an|the|my)\b)", "", text)
    for _ in range(3):  # dangling connectors at either end: "of a businessman in", "with"
        text = re.sub(rf"^{_EDGE_WORDS}\b\s*|\s*\b{_EDGE_WORDS}$", "", text).strip(" ,;:.!?-、。")
    return text


def suggest(evidence: Evidence, category: str, rules: Rules, near: str | None = None) -> list[str]:
    """Candidate rewrites (the validator keeps those that pass), most specific first.

    `category` "middle" is an allowed prompt near the line: its own subject drawn the anime way comes first,
    then the rewrites for `near`, the reject class it was close to.
    """
    templates = rules.data["suggestions"]
    if category == "middle":
        subject = subject_of(evidence, rules, keep_rejects=True)
        kind = "portrait" if any(w in evidence.text for w in _PORTRAIT_WORDS) else "scene"
        own = [t.format(subject=subject) for t in templates[kind]] if subject else []
        return _unique([*own, *(suggest(evidence, near, rules) if near else [])])
    subject = subject_of(evidence, rules)
    if category == "real_person":
        person = evidence.people[0]
        role = person.term.role
        # "…character singing on stage"; a noun phrase left alone, or what followed the person after a comma,
        # gets a comma: "…character, a shonen hero", "…character, painted illustration"
        after_comma = evidence.text[person.end :].lstrip().startswith((",", "，", "、"))
        joiner = ", " if after_comma or re.match(r"(?:a|an|the|his|her|their|my|one|two)\b", subject) else " "
        rest = f"{joiner}{subject}" if subject else ""
        return [t.format(role=role, rest=rest) for t in templates["person"]]
    if category == "document_or_data":
        ideas = templates["documents"]
        found = [hit.found for hits in evidence.rejects.values() for hit in hits]
        matched = [idea for key, idea in ideas.items() if any(key in word for word in found)]
        return _unique([*matched, *templates["document_fallbacks"]])
    if not subject:
        return list(templates["empty"])
    kind = "portrait" if any(w in evidence.text for w in _PORTRAIT_WORDS) else "scene"
    return [t.format(subject=subject) for t in templates[kind]]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
