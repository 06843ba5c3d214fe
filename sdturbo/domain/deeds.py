"""Real people pointed at by what they did rather than by name: "the man who painted the Mona Lisa", "the
composer of the Moonlight Sonata", "the Microsoft founder", "the first woman in space", "モナ・リザを描いた画家".

data/real_deeds.toml lists what one real person is known for (a work, an invention, a discovery, a company,
a feat); a frame around it must say that someone *made* it. Being near the thing is not enough: "a girl
playing the Moonlight Sonata", "a cat that painted the Mona Lisa", "a Studio Ghibli animator" stay allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# the original character suggested instead, by what the person is known for
ROLES = {
    "work": "legendary artist",
    "building": "master architect",
    "invention": "brilliant inventor",
    "discovery": "brilliant scientist",
    "company": "visionary entrepreneur",
    "feat": "daring adventurer",
}
# who made it, by kind ("the composer of …", "the … founder"): a company's engineers and animators are anyone
_MAKERS = {
    "work": "composer|painter|artist|author|writer|sculptor|creator|director|mangaka|novelist|poet|playwright|"
    "songwriter|singer|illustrator|maker|designer|filmmaker|cartoonist",
    "building": "architect|builder|designer|engineer|creator",
    "invention": "inventor|father|mother|pioneer",
    "discovery": "discoverer|father|mother|pioneer|author|formulator|finder",
    "company": "founder|co-?founder|creator|father",
}
# what they did, by kind ("the man who painted …")
_DEEDS = {
    "work": "painted|sculpted|carved|composed|wrote|penned|authored|created|directed|sang|recorded|illustrated",
    "building": "built|designed|constructed|raised|erected|commissioned",
    "invention": "invented|devised|patented|came up with",
    "discovery": "discovered|proved|formulated|devised|developed|came up with|first isolated|isolated|identified|"
    "found|proposed|published",
    "company": "founded|co-?founded|started|created|launched|established|built",
}
# someone (a person, not "the cat that painted …"), a few words at most before them; not every trade: "the
# chef who built…", "the host who sang…" are anyone
_PEOPLE = (
    r"man|woman|person|guy|girl|boy|lady|gentleman|genius|one|people|men|women|pair|duo|brothers|sisters|couple|"
    r"artist|painter|composer|scientist|chemist|physicist|biologist|doctor|mathematician|engineer|inventor|writer|"
    r"author|poet|novelist|director|designer|entrepreneur|businessman|businesswoman|billionaire|explorer|monk|"
    r"musician|singer|sculptor|architect|philosopher|programmer|mangaka|legend|mind|visionary|dude|fellow|kid|"
    r"beatle|star|physician|astronomer|cosmologist|astronaut|cosmonaut|clerk|lawyer"
)
_ANY_MAKER = "|".join(sorted({m for ms in _MAKERS.values() for m in ms.split("|")}))
_ANY_DEED = "|".join(sorted({d for ds in _DEEDS.values() for d in ds.split("|")}, key=len, reverse=True))
_ADVERB = r"(?:(?P<adverb>first|once|famously|originally|really|actually|single-?handedly|secretly|also) )?"
_ING_NOUNS = (
    r"(?:building|painting|drawing|ring|king|thing|evening|morning|wedding|clothing|ceiling|string|wing|spring|"
    r"swing|sibling|pudding|stocking|earring|ending|opening|setting|meeting|dumpling|lightning|darling|icing|"
    r"frosting|filling|bed|shed|sled|seed|steed|reed|speed|red|hundred)"
)
# after the thing made, the noun phrase ends ("the man who built the minecraft castle" built a castle), or it
# goes on with what the thing is ("the woman who wrote the Harry Potter books")
# ("el autor de … dibujado como", "l'auteur des Misérables écrivant", "le peintre des Nymphéas devant…")
_AFTER = re.compile(
    r"\s*(?:$|[,;:!?()\[\]\n.»\"”’'」』》]|(?:in|at|on|with|from|while|and|as|during|for|to|by|who|that|is|was|has|had|"
    r"being|drawn|shown|standing|sitting|holding|wearing|inside|under|near|beside|behind|before|after|"
    r"reimagined|portrayed|depicted|like|but|or|books?|novels?|series|saga|films?|movies?|franchise|trilogy|"
    r"comics?|games?|albums?|songs?|operas?|symphon(?:y|ies)|dans|en|con|avec|com|sur|sous|bajo|sob|y|et|e|que|qui|como|comme|"
    r"durante|pendant|[\w\-]+(?:ando|endo)|(?:dibujad|pintad|retratad|desenhad|representad|vestid)[oa]s?|"
    r"dessin[ée]e?s?|peinte?s?|[ée]crivant|peignant|devant|derri[eè]re|delante|detr[aá]s|diante|"
    rf"(?!{_ING_NOUNS}\b)[\w\-]+(?:ing|ed))\b)"
)
# "the first woman in space" names her; "the first spacewalk" or "the long march" is an event
_SOMEONE = re.compile(
    r"\b(?:man|woman|men|women|person|people|human|astronaut|cosmonaut|american|player|pilot|climber|king|queen|"
    r"emperor|president|champion|to)\b|人|사람|선수"
)
# a famous thing made again in a game or out of toys is the player's ("the girl who built the Taj Mahal in
# Minecraft")
_REMADE = re.compile(r"\s+(?:in|out of|with|from) (?:minecraft|lego|legos|roblox|sand|snow|clay|cardboard|paper)\b")
_QUOTE = re.compile(r"[«\"“‘'「『《]\s*")
_CLOSE_QUOTES = "»\"”’'」』》"
_ROMANCE_ARTICLE = re.compile(r"(?:(?:el|la|los|las|le|les|o|a|os|as) |l')")
# a strict feat (`strict = true` in the data: a quote, a reign, an ear) points at its person only after "the" and
# one bare word the data allows for them (`subjects`), at the end of its phrase, in a prompt that makes nobody up
# and names nobody else after it: "the boxer who said float like a butterfly, …" is Ali; "the kangaroo boxer who
# said …", "the woman who said I have a dream", "the queen who reigned for seventy years, an ancient elf …" are
# anyone (two reviews, 2026-11-26)
_STRICT_WHO = re.compile(r"\bthe (?P<who>[a-z]+) (?:who|that) (?:once |famously )?")
_STRICT_AFTER = re.compile(
    r"\s*(?:$|[,;:.!?(]|(?:having|standing|holding|sitting|smiling|waving|drinking|walking|dancing|giving|speaking|"
    r"shouting|raising|saluting|planting|punching|drawn|painted|rendered|on the |at the |as an? )"
    r"\b)"
)
SOMEONE_ELSE = re.compile(r"[,;:.]\s*(?:an?|my|our|his|her|their|the)\s+(?!(?:style|look)\b)\w")  # ", a kangaroo in…"
INVENTED = re.compile(
    r"\b(?:oc|ocs|original character|fictional|made[\s\-]up|imaginary|fairy tale|storybook|picture book|webcomic|"
    r"visual novel|tabletop|school play|fantasy(?! (?:art|style|illustration|painting))|(?:my|our|her|his)(?: \w+'s)? "
    r"(?:novel|story|manga|comic|book|game|world|dream|campaign|play|fanfic)|in (?:a|her|his|my) dream)\b|"
    r"架空|オリジナル|虚构|原创|가상의|창작"
)
_THE = re.compile(r"(?:the|a|an) ")  # "the man who wrote a brief history of time"
# English: "the man who painted", "the woman that first isolated", "whoever composed", "the man who measured
# (a feat)"; "the composer of", "the co-founder of", "the mind behind" ("the girl of the Starry Night" is in it)
_WHO = re.compile(
    rf"(?:\bthe (?:[\w\-]+ ){{0,2}}?(?:{_PEOPLE})s? (?:(?:in|with|from|of) (?:an? |the |his |her )?[\w\-]+ )?"
    rf"(?:who|that)|\bwhoever) {_ADVERB}(?:(?P<deed>{_ANY_DEED}) )?"
)
_OF = re.compile(rf"\bthe (?:[\w\-]+ ){{0,2}}?(?:(?P<maker>{_ANY_MAKER})s? (?:of|behind)|(?:{_PEOPLE})s? behind) ")
# "the Mona Lisa('s) painter": only makers one person is ("the Minecraft builder" is any player)
_MAKER_AFTER = re.compile(
    r"(?:'s)?\s+(?P<maker>creator|inventor|discoverer|founder|co-?founder|composer|painter|author|sculptor|mangaka|"
    r"novelist|poet|playwright|architect|singer)\b"
)
# es / fr / pt: "el pintor de la", "le compositeur de la", "o inventor do", "la mujer que descubrió el"
_ROMANCE = (
    re.compile(
        r"(?:\b(?:el|la|los|las|le|les|o|a|os|as) |\bl')(?:pintor|pintora|compositor|compositora|autor|autora|"
        r"inventor|inventora|descubridor|descubridora|fundador|fundadora|creador|creadora|director|directora|"
        r"escultor|escultora|peintre|compositeur|compositrice|auteur|autrice|inventeur|inventrice|d[ée]couvreur|"
        r"d[ée]couvreuse|fondateur|fondatrice|cr[ée]ateur|cr[ée]atrice|r[ée]alisateur|r[ée]alisatrice|sculpteur|"
        r"criador|criadora|descobridor|descobridora|realizador|realizadora|arquitecto|arquiteto|architecte) "
        r"(?:de|del|du|des|do|da|dos|das)\b ?"
    ),
    re.compile(
        r"\b(?:el hombre|la mujer|la persona|el tipo|l'homme|la femme|la personne|le type|o homem|a mulher|a pessoa|"
        r"(?:el|la|le|o|a) (?:pintor|pintora|peintre|artista|artiste|escritor|escritora|[ée]crivain|cient[ií]fico|"
        r"cient[ií]fica|scientifique|inventor|inventora|inventeur)(?: [\w\-]+)?)"
        r" (?:que|qui) (?:a |ha )?(?:pint[óo]|peint|pintou|compuso|compos[ée]|comp[ôo]s|escribi[óo]|[ée]crit|"
        r"escreveu|invent[óo]|invent[ée]|inventou|descubri[óo]|d[ée]couvert|descobriu|fund[óo]|fond[ée]|fundou|"
        r"cre[óo]|cr[ée]{2}|criou|dirigi[óo]|r[ée]alis[ée]|dirigiu|construy[óo]|construit|construiu) "
    ),
)
_FEAT_START = re.compile(r"\bthe |^\s*|(?<=[,;:!?(])\s*")  # "the first woman in space", "first man on the moon, …"
# made-by frames in Japanese, Chinese and Korean, on either side of the thing
_CJK_KINDS = {  # what each Japanese, Chinese or Korean maker noun or deed verb can have made
    "work": "作者|画家|作曲家|作曲者|作家|監督|导演|작가|화가|작곡가|감독|描いた|作曲した|書いた|그린|작곡한|쓴",
    "invention": "発明者|発明家|发明者|发明人|发明家|발명가|発明した|발명한|만든|창제한",
    "discovery": "発見者|发现者|발견자|発見した|발견한",
    "company": "創業者|創設者|創始者|创始人|创造者|창시자|창업자|設立した|創業した|설립한",
}
_CJK_WORDS = [w for words in _CJK_KINDS.values() for w in words.split("|")]
_CJK_KINDS_OF = {w: [k for k, words in _CJK_KINDS.items() if w in words.split("|")] for w in _CJK_WORDS}
_CJK_VERB_ENDS = ("た", "한", "쓴", "린", "든")  # 描いた, 발명한, 쓴, 그린, 만든
_CJK_DEED = "|".join(w for w in _CJK_WORDS if w.endswith(_CJK_VERB_ENDS))  # verbs
_CJK_MAKER = "|".join(w for w in _CJK_WORDS if not w.endswith(_CJK_VERB_ENDS))  # nouns
_CJK_PERSON = (  # not the start of 女の子 (a girl), 여자아이
    r"(?:人|男|女|画家|作曲家|作家|科学者|天才|発明家|歌手|사람|남자|여자|화가|작곡가|작가|과학자|천재|가수|왕|임금|장군|명장|제독|浮世絵師|詩人|俳人|武将|将軍)"
    r"(?!の子|の娘|아이|の人形)"
)
# "한글을 만든 조선의 왕": a place or an era may stand between the deed and the person
# "강남스타일을 부른 가수": sang, with the singer after it (부른 alone also means called, summoned)
_CJK_AFTER = re.compile(
    rf"(?:の|的|의 ?)(?P<maker>{_CJK_MAKER})|(?:を|를|을)? ?(?P<deed>{_CJK_DEED}) ?(?:[가-힣]{{1,4}}의 )?{_CJK_PERSON}|"
    r"(?:를|을)? ?(?P<sang>부른) ?(?:가수|(?:보이|걸) ?그룹|밴드)(?!부| ?(?:지망|연습|보컬|고양이|강아지))"
)
_CJK_BEFORE = re.compile(r"(?:画|写|创作|谱写|发明|发现|创立|创办|创建|导演|修建|建造)(?:了)?")
# "写《静夜思》的那位唐朝诗人": after "that one", an era or a place may stand before the person ("画…的同人图" is
# fan art, "建造…的印度人" anyone)
_CJK_BEFORE_END = re.compile(
    r"的(?:(?:那位|那个|這位|这位)[\u4e00-\u9fff]{0,3}?)?"
    r"(?:(?:科幻|推理|武侠|武俠|著名|知名)(?=作家|诗人|詩人|画家|畫家))?(?:人|男人|女人|画家|作曲家|作家|科学家|天才|诗人|皇帝|将军)"
)
# made again out of toys or in a game, just before the thing: "마인크래프트에서 거북선을 만든", "紙の", "乐高"
_CJK_REMADE = re.compile(
    r"(?:마인크래프트(?:에서)?|레고로?|종이로?|모래로?|점토로?|눈으로|マイクラで|マインクラフトで|レゴで|紙で|紙の|"
    r"我的世界里|乐高|樂高|用纸|用紙)\s*$"
)
# a title's brackets: "『ドラゴンボール』の作者", "'강남스타일'을 부른"
_CJK_OPEN, _CJK_CLOSE = "《「『〈\"“'‘", "》」』〉\"”'"
_WORD = re.compile(r"[^\W_]+(?:['\-.][^\W_]+)*")
_CLAUSE_END = re.compile(r"[,;:!?()\[\]\n]|\.(?:\s|$)")
_EAST_ASIAN_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_MADE = tuple(k for k in ROLES if k != "feat")


@dataclass(frozen=True)
class Deed:
    """A thing one real person is known for."""

    anchor: str  # as matched: lower case, words one space apart
    kind: str  # a key of ROLES
    person: str  # who it points at, for the reason shown
    subjects: tuple[str, ...] = ()  # a strict feat's bare words for its person (see _STRICT_WHO)

    @property
    def strict(self) -> bool:
        return bool(self.subjects)


@dataclass(frozen=True)
class Found:
    deed: Deed
    start: int
    end: int


class Deeds:
    """The things of data/real_deeds.toml, looked up where a made-by frame ends."""

    def __init__(self, groups: list[dict]) -> None:
        self.latin: dict[str, Deed] = {}
        self.east_asian: dict[str, Deed] = {}
        for group in groups:
            if not {"kind", "person", "anchors"} <= set(group):
                raise ValueError(f"real_deeds: every [[deed]] needs a kind, a person and anchors, got {group!r}")
            kind, person = group["kind"], group["person"]
            if kind not in ROLES:
                raise ValueError(f"real_deeds: kind {kind!r} of {person!r} must be one of {', '.join(ROLES)}")
            for anchor in group["anchors"]:
                if _EAST_ASIAN_CHAR.search(anchor):
                    table, key = self.east_asian, anchor.lower()
                else:
                    table, key = self.latin, " ".join(_WORD.findall(anchor.lower()))
                    if len(key.replace(" ", "")) <= 2:  # "c++" would be read as "c", "h&m" as "h m"
                        raise ValueError(f"real_deeds: anchor {anchor!r} of {person!r} reads as {key!r}: too short")
                if key in table and table[key].person != person:
                    raise ValueError(f"real_deeds: anchor {anchor!r} is both {table[key].person!r} and {person!r}")
                strict, subjects = bool(group.get("strict", False)), tuple(group.get("subjects", ()))
                if strict and not subjects:
                    raise ValueError(f"real_deeds: strict deeds of {person!r} need subjects (who may do them)")
                table.setdefault(key, Deed(key, kind, person, subjects if strict else ()))
        self.longest = max((len(k.split()) for k in self.latin), default=0)
        self._cjk = sorted(self.east_asian, key=len, reverse=True)

    def find(self, text: str) -> list[Found]:
        """Where a normalized prompt points at a real person by a deed (overlapping finds: the first)."""
        found = []
        for m in _WHO.finditer(text):
            deed = m.group("deed")
            kinds = tuple(k for k in _MADE if deed and re.fullmatch(_DEEDS[k], deed))
            hit = self._after(text, m.end(), kinds, _THE) if kinds else None
            # or a feat: "the man who measured the circumference of the earth", "whoever discovered america"
            if not hit and m.group("adverb") == "first":  # "who first walked on the moon": twelve walked there
                hit = self._after(text, m.start("adverb"), ("feat",))
            hit = hit or self._after(text, m.start("deed") if deed else m.end(), ("feat",))
            found += [Found(hit[0], m.start(), hit[1])] if hit else []
        for m in _OF.finditer(text):
            maker = m.group("maker")
            kinds = tuple(k for k in _MADE if maker and re.fullmatch(_MAKERS[k], maker)) or _MADE
            hit = self._after(text, m.end(), kinds, _THE)
            found += [Found(hit[0], m.start(), hit[1])] if hit else []
        for frame in _ROMANCE:
            for m in frame.finditer(text):
                hit = self._after(text, m.end(), _MADE, _ROMANCE_ARTICLE)
                found += [Found(hit[0], m.start(), hit[1])] if hit else []
        for m in _STRICT_WHO.finditer(text):
            hit = self._after(text, m.end(), ("feat",), strict=True)
            if (
                hit
                and m.group("who") in hit[0].subjects
                and _STRICT_AFTER.match(text, hit[1])
                and not SOMEONE_ELSE.search(text, hit[1])
                and not INVENTED.search(text)
            ):
                found.append(Found(hit[0], m.start(), hit[1]))
        for m in _FEAT_START.finditer(text):  # a feat alone names someone only with a person in it
            hit = self._after(text, m.end(), ("feat",), someone=True)
            found += [Found(hit[0], m.start(), hit[1])] if hit else []
        for m in _MAKER_AFTER.finditer(text):
            hit = self._before(text, m.start(), m.group().startswith("'s"), m.group("maker"))
            found += [Found(hit[0], hit[1], m.end())] if hit else []
        if _EAST_ASIAN_CHAR.search(text):
            found += self._east_asian(text)
        return _unoverlapped(found)

    def _after(
        self,
        text: str,
        pos: int,
        kinds: tuple[str, ...],
        article: re.Pattern | None = None,
        someone: bool = False,
        strict: bool = False,
    ) -> tuple[Deed, int] | None:
        """The longest known thing of `kinds` at `pos` (after `article`, if one is there) that ends its noun
        phrase, and where it ends."""
        stop = _CLAUSE_END.search(text, pos)
        clause_end = stop.start() if stop else len(text)
        starts = [pos]
        if quote := _QUOTE.match(text, pos, clause_end):  # "the singer of « La Vie en rose »"
            starts.append(quote.end())
        if article is not None:
            starts += [a.end() for start in list(starts) if (a := article.match(text, start, clause_end))]
        for start in starts:
            words = list(_WORD.finditer(text, start, clause_end))[: self.longest]
            if not words or text[start : words[0].start()].strip():
                continue
            for n in range(len(words), 0, -1):
                deed = self.latin.get(" ".join(w.group() for w in words[:n]))
                if deed is None or deed.kind not in kinds or deed.strict != strict:
                    continue
                if someone and not _SOMEONE.search(deed.anchor):
                    continue
                end = words[n - 1].end()
                if _AFTER.match(text, end) and not _REMADE.match(text, end):
                    # a quote opened before or inside it closes with it: "« La Vie en rose »", 'said "one small step"'
                    opened = start > pos or _QUOTE.search(text, start, end) is not None
                    return deed, end + (opened and text[end : end + 1] in _CLOSE_QUOTES)
        return None

    def _before(self, text: str, pos: int, possessive: bool, maker: str) -> tuple[Deed, int] | None:
        """A known thing made by `maker` that ends at `pos` ("the mona lisa('s) painter"), after "the" or as a
        possessive, and where it starts."""
        start = max((m.end() for m in _CLAUSE_END.finditer(text, 0, pos)), default=0)
        words = list(_WORD.finditer(text, start, pos))[-self.longest :]
        for n in range(len(words), 0, -1):
            tail = words[-n:]
            deed = self.latin.get(" ".join(w.group() for w in tail))
            if deed is None or deed.kind == "feat" or not re.fullmatch(_MAKERS[deed.kind], maker):
                continue
            if possessive or (len(words) > n and words[-n - 1].group() == "the"):
                return deed, tail[0].start()
        return None

    def _east_asian(self, text: str) -> list[Found]:
        found = []
        for m in _CJK_AFTER.finditer(text):  # "モナ・リザを描いた画家", "蒙娜丽莎的作者"
            kinds = ("work",) if m.group("sang") else _CJK_KINDS_OF[m.group("maker") or m.group("deed")]
            stop = m.start() - (m.start() > 0 and text[m.start() - 1] in _CJK_CLOSE)
            for anchor in self._cjk:
                if _CJK_REMADE.search(text, 0, stop - len(anchor)):  # "레고로 거북선을 만든 남자" built a toy one
                    continue
                if text.endswith(anchor, 0, stop) and self.east_asian[anchor].kind in kinds:
                    start = stop - len(anchor)
                    start -= stop < m.start() and start > 0 and text[start - 1] in _CJK_OPEN
                    found.append(Found(self.east_asian[anchor], start, m.end()))
                    break
        for m in _CJK_BEFORE.finditer(text):  # "画蒙娜丽莎的人"
            start = m.end() + (m.end() < len(text) and text[m.end()] in _CJK_OPEN)
            for anchor in self._cjk:
                if not text.startswith(anchor, start):
                    continue
                after = start + len(anchor)
                after += after < len(text) and text[after] in _CJK_CLOSE
                if end := _CJK_BEFORE_END.match(text, after):
                    found.append(Found(self.east_asian[anchor], m.start(), end.end()))
                    break
        return found


def _unoverlapped(found: list[Found]) -> list[Found]:
    """The earliest, then longest, of overlapping finds."""
    kept: list[Found] = []
    for f in sorted(found, key=lambda f: (f.start, -f.end)):
        if not kept or f.start >= kept[-1].end:
            kept.append(f)
    return kept
