"""Real people described without a name: "the Jamaican sprinter who won the 100m at three straight Olympics",
"the two-way Japanese baseball star who plays for the Dodgers", "토트넘의 전 주장이었던 한국 축구 선수".

No list of names or deeds holds every way of pointing at someone. A clause that describes somebody (who/whose,
a nickname, a shirt number, a title or a profession in ja/zh/ko) is compared, with the embedding stage's
model, to ~4,700 descriptions of ~1,500 real people and ~1,750 of fictional characters and generic roles written
the same ways (data/person_descriptions.tsv, written by helpers from general knowledge). It points at a real
person only when it is close to a real description (REAL_FLOOR) and closer to the real ones than to the
fictional ones (REAL_MARGIN): "the ninja who became Hokage", "the last king of a fallen realm" stay allowed.

The descriptions' embeddings ship in data/person_descriptions.npz (float16, keyed by the model and the texts),
so a start does not spend ~8 s embedding them; `python -m sdturbo.domain.described` writes that file again.
"""

from __future__ import annotations

import logging
import re
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sdturbo.domain.deeds import INVENTED, SOMEONE_ELSE
from sdturbo.domain.embedding import in_batches, load_packaged, save_packaged, top_k_mean
from sdturbo.domain.labelled import MEMORY_FILE, load_memory
from sdturbo.domain.rules import DATA_DIR

log = logging.getLogger(__name__)

DESCRIPTIONS = DATA_DIR / "person_descriptions.tsv"
EMBEDDINGS = DATA_DIR / "person_descriptions.npz"
CLASSES = ("real", "fictional")
# chosen on every labelled set through round 16 with 4,681 real descriptions (2026-11-26): 264 rejected prompts
# have a describing clause that reaches them, no allowed one does (the closest: "the ancient CEO of Arasaka", just
# under 0.58 / +0.15; "the CEO of Noodlecorp", 0.58 / +0.06); at 0.55 / 0.06, chosen with 1,828, two allowed did
REAL_FLOOR = 0.58
REAL_MARGIN = 0.08
# a clause this close to one real person's descriptions points at them without a describing frame (`_unframed`:
# "the Swiss tennis maestro with eight Wimbledon titles"); chosen on every labelled set through round 21
# (2026-11-26): no allowed prompt's clause reaches it (the closest: "Spider-Man swinging through neon Hong Kong",
# 0.59 / +0.16; "original K-pop idol boy", 0.64 / +0.08). 0.62 caught more labelled rejections, but a review's
# invented allowed prompts ("Mongol warlord on horseback in a snowstorm") reached it. A describing frame without
# a specific detail is not enough even this close: "the swimmer who won gold at the olympics" (0.78 / +0.22)
# and "the cat astronaut who set foot on the moon" (0.68 / +0.15) are anyone
SURE_FLOOR = 0.65
SURE_MARGIN = 0.12
# a person word and a deed with no detail at all, in lowercase ("el pintor holandés que se cortó la oreja", "the
# youtuber with the most subs who gives away money"): anyone, unless it comes as close as an unframed clause and
# one person stands out (ONE_PERSON: their nearest description is this much nearer than anybody else's).
# "the swimmer who won gold at the olympics" (+0.07 over the next swimmer) and "the cat astronaut who set foot
# on the moon" (+0.00) are of many; the ear-cutting painter (+0.39) and the radium chemist (+0.34) are of one.
# As with the strict feats of deeds.py, the deed names someone else when a made-up one follows ("the queen who
# reigned for seventy years, an ancient elf on a crystal throne") or the prompt says it is invented
ONE_PERSON = 0.12
_DEED = re.compile(r"\b(?:who|whose|that|que|qui|quien)\b", re.IGNORECASE)
# a name written in lowercase is a detail too: a word that real people's descriptions capitalise past their start,
# for at most NAMED_BY people, and that is never lowercase there, never in a fictional one's and never in an
# allowed prompt the validator remembers ("the warlord who burned enryakuji and died at honnoji"); "olympics" names
# too many, "tour" is lowercase somewhere. Places and titles are among them ("the young monk who lives in a
# monastery in tibet", "the spartan who fought at thermopylae" are anyone), so such a clause must come as close
# as an unframed one (a review, 2026-11-26)
NAMED_BY = 3
_WORD = re.compile(r"[^\W\d_][\w\-'’]*")
TOP_K = 2  # a class's score: the mean similarity of its 2 nearest descriptions
# a clause that describes somebody: "the X who/whose…", "… nicknamed …", "the Argentine number 10", "the
# Portuguese striker famous for…" (a role after "the"), "la chanteuse surnommée…", "o piloto que…", a title
# or trade in Japanese, Chinese or Korean, and "…的那位" or "…한 그 사람" ("that one who …")
_ROLES = (
    r"striker|footballer|player|pitcher|batter|slugger|goalkeeper|keeper|sprinter|runner|swimmer|gymnast|boxer|"
    r"fighter|wrestler|golfer|cyclist|driver|racer|skater|skier|quarterback|champion|athlete|coach|manager|captain|"
    r"physicist|chemist|scientist|inventor|mathematician|astronaut|cosmonaut|activist|founder|co-?founder|ceo|"
    r"billionaire|entrepreneur|tycoon|mogul|president|prime minister|chancellor|king|queen|emperor|empress|prince|"
    r"princess|pope|dictator|leader|senator|governor|mayor|singer|rapper|idol|actor|actress|director|comedian|"
    r"host|youtuber|streamer|influencer|supermodel|chef|author|writer|poet|novelist|painter|composer|pianist|"
    r"guitarist|drummer|frontman|explorer|pharaoh|shogun|warlord|conqueror|tsar|czar|sultan|philosopher|monarch|"
    r"futbolista|jugador|jogador|delantero|atacante|avançado|attaquant|portero|goleiro|piloto|pilote|cantante|cantora|cantor|chanteuse|chanteur|actriz|acteur|actrice|"
    r"presidente|pr[ée]sident|rey|reina|roi|reine|rei|rainha|emperador|empereur|imperador|papa|pape|tenista|"
    r"boxeador(?:a)?|nadador(?:a)?|pintor(?:a)?|peintre|escritor(?:a)?|[ée]crivain|cient[ií]fic[oa]|scientifique|f[ií]sic[oa]|"
    r"physicien(?:ne)?|qu[ií]mic[oa]|chimiste|couturi[eè]re|jugadora|jogadora|fundadora|"
    r"inventeur|fundador|fondateur|fondatrice"
)
_DESCRIBES = re.compile(
    r"\b(?:the|that|this|a|an) (?:[\w\-']+ ){0,6}?(?:who|whose|nicknamed|dubbed|known as|called)\b|"
    r"(?:\b(?:el|la|le|o|a|un|une|um|uma) |\bl')(?:[\w\-']+ ){0,6}?(?:que|qui|quien|apodad[oa]|surnomm[ée]e?|"
    r"conhecid[oa] como|llamad[oa]|chamad[oa])\b|"
    rf"(?:\b(?:the|el|la|le|o) |\bl')(?:[\w\-'.]+ ){{0,5}}?(?:{_ROLES})s?\b|"  # not "a": "a chibi astronaut"
    r"\bn(?:umber|[uú]mero|o\.|º) ?\d{1,2}\b|"
    r"選手|歌手|監督|皇帝|女王|大統領|首相|知事|創始者|创始人|球员|总统|主席|선수|가수|감독|대통령|황제|주장|的那位|的那个|的那個|"
    r"[가-힣] 그 (?:사람|분|남자|여자)",
    re.IGNORECASE,
)
# a look, not a person to draw: "in the style of the painter of the Mona Lisa", "a Ghibli director-esque sky"
_STYLED = re.compile(
    r"\b(?:style of|styled after|inspired by|in the manner of|à la|a la)\b|(?:style|esque|inspired)\W*$", re.IGNORECASE
)
# something only a real one has: a name-like capitalised word past the first, a number (a year, a record, a
# shirt), or a script without capitals; "the swimmer who won gold at the olympics" or "the rapper who grew up
# in the slums" could be anyone
_SPECIFIC = re.compile(r"(?<=\S)\s+(?:[A-ZÀ-ÖØ-Þ][\w\-'=]+)|\d|[²³]|[^\x00-\u024f]")  # "E=mc²" too
# words they said or sang, quoted: a detail too, but anyone can say them ("the shy girl who said "I have a dream"
# in her graduation speech"), so with it alone the clause must come as close as an unframed one
_QUOTED = re.compile(r"[\"“«「][^\"”»」]+[\"”»」]|(?<!\w)'[^']+'(?!\w)")
# a clause runs to a comma or semicolon outside quotes ("the man who said 'Veni, vidi, vici' crossing the Rubicon")
_CLAUSE = re.compile(r"(?:\"[^\"]*\"|“[^”]*”|«[^»]*»|「[^」]*」|(?<!\w)'[^']*'(?!\w)|[^,;，、。；])+")
# long enough to describe somebody without a frame: three words (a script without spaces: five characters, in
# `_unframed`)
_LONG = re.compile(r"\S+\s+\S+\s+\S")
_COUNT = re.compile(r"\b\d\+?(?:girls?|boys?|others?)\b")  # booru's "1girl", "2boys" are no detail
# a word for a person beyond _ROLES (it costs an embedding to look further): titles, ranks, kin, and the person
# nouns of Japanese, Chinese and Korean (whole words, not single characters: 手, 家, 가 are in everything)
_PERSON_CUE = re.compile(
    rf"\b(?:{_ROLES}|man|woman|guy|lady|person|maestro|superstar|star|legend|icon|general|admiral|commander|"
    r"liberator|libertador|lib[ée]rateur|revolutionary|ruler|daimyo|secretary|minister|justice|judge|winner|"
    r"batsman|bowler|cricketer|wife|husband|widow|discoverer|played by|medall?ist|record holder|laureate|hunter|"
    r"sniper|lawyer|astronomer|clerk|b?ballerin[ao]|dancer|saint|prophet|monk|nun|priest|bishop|rabbi|imam|guru|"
    r"goat|mvp|all-star|hall of famer|group|band|human)s?"
    r"\b|選手|歌手|皇帝|女王|国王|天皇|将軍|武将|大名|大統領|首相|丞相|宰相|诗人|詩人|画家|作家|科学者|科学家|"
    r"発明家|发明家|学家|学者|巨匠|大師|大师|거장|政治家|革命家|思想家|志士|人物|总统|主席|球员|中锋|名将|健将|运动员|運動員|飞人|飛人|天才|鬼才|선수|가수|배우|대통령|황제|여왕|"
    r"장군|제독|명장|과학자|작가|화가|보이그룹|걸그룹|그룹|멤버|グループ|メンバー|组合|組合|成员|成員|"
    # skater, player, medalist, leaguer
    r"领袖|領袖|小巨人|(?:ター|ヤー|ナー|ダー|カー|サー|スト|ラー|ガー)(?![\u30a0-\u30ff])|리스트",
    re.IGNORECASE,
)
# a nationality is a detail: "the Italian astronomer put on trial…", "la pintora mexicana famosa por…"
_NATIONALITY = re.compile(
    r"\b(?:american|british|english|scottish|irish|welsh|french|german|italian|spanish|portuguese|dutch|belgian|"
    r"swiss|austrian|swedish|norwegian|danish|finnish|icelandic|polish|czech|hungarian|romanian|bulgarian|greek|"
    r"turkish|russian|soviet|ukrainian|serbian|croatian|israeli|iranian|persian|iraqi|egyptian|saudi|pakistani|"
    r"indian|bangladeshi|afghan|chinese|japanese|korean|taiwanese|vietnamese|thai|filipino|indonesian|mongol(?:ian)?|"
    r"australian|canadian|mexican|cuban|jamaican|brazilian|argentine|argentinian|chilean|peruvian|colombian|"
    r"venezuelan|uruguayan|nigerian|ghanaian|kenyan|ethiopian|south african|zulu|moroccan|algerian|senegalese|"
    r"corsican|prussian|mughal|aztec|inca|"
    r"(?:mexican|american|argentin|brasileir|colombian|cuban|chilen|peruan|venezolan|urugua[iy]|coren|russ?|"
    r"italian|polac|suec)(?:o|a|os|as)|portugu[eêé]s(?:a|es|as)?|chin[oa]s?(?= )|japon[eêé]sa?|ingl[eêé]sa?|"
    r"español(?:a)?|espanhola?|coreana?|franc[eêé]sa?|alem[aãá]n?|alemana|"
    r"fran[cç]ais[e]?|allemand[e]?|japonais[e]?|chinois[e]?|cor[ée]en(?:ne)?|am[ée]ricain[e]?|italien(?:ne)?|"
    r"mexicain[e]?|br[ée]silien(?:ne)?|argentin[e]?|anglais[e]?|espagnol[e]?|russe|su[ée]dois[e]?|polonais[e]?|"
    r"hollandais[e]?|n[ée]erlandais[e]?)\b",
    re.IGNORECASE,
)
# one of many, or made up: "a Jamaican sprinter crossing the finish line", "a Mongol warlord OC", "the Argentine
# number 10 of a fictional team", "架空の武将" describe nobody in particular
_ANYONE = re.compile(r"^(?:an?|una?|une|uma|um|some|one) ", re.IGNORECASE)
_MADE_UP = re.compile(
    r"\b(?:oc|ocs|original character|fictional|made-up|made up|imaginary|fantasy|ficticio|ficticia|fictif|fictive|"
    r"fict[ií]cio|fict[ií]cia|elfique|[ée]lfic[oa])\b|架空|オリジナル|虚构|虛構|原创|原創|가상의|창작",
    re.IGNORECASE,
)
# a picture before whom it shows: "a cute manga portrait of the woman who won Nobel Prizes in both…"
_PICTURE_OF = re.compile(
    r"^(?:an?|una?|une|uma|um) (?:[\w\-]+ ){0,3}?(?:portrait|picture|drawing|illustration|sketch|painting|version|"
    r"caricature|doodle|fan ?art|image|figure|statue|retrato|dibujo|desenho|dessin)s? (?:of|de|do|da|du) ",
    re.IGNORECASE,
)
# a character after its description: "ノーベル賞を受賞した日本人科学者の少女", "한국 가수 같은 여자 아이돌 캐릭터"
_CHARACTER_AFTER = re.compile(r"(?:少女|少年|女の子|男の子|キャラ|女孩|男孩|角色|소녀|소년|캐릭터)$")
# a likeness of one particular person ("looks like the Argentine number 10"), not of a type ("looks like a
# Soviet cosmonaut")
_LIKENESS_OF_ONE = re.compile(
    r"\b(?:lookalike|look-alike|looks? (?:exactly |just )?like|resembl\w*)(?: of| to)? the\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Description:
    """A clause of a prompt that reads like a description of a real person."""

    clause: str  # as written in the prompt
    person: str  # whose description it is closest to
    example: str  # that description
    similarity: float


def _folded(word: str) -> str:
    """`word` lowercased, without accents, hyphens or apostrophes: "Honnō-ji" and "honnoji" are one."""
    word = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in word if not unicodedata.combining(c) and c not in "-'’")


def name_words(rows: list[tuple[str, str, str]], everyday: list[str]) -> frozenset[str]:
    """The words of real people's descriptions that read as names in lowercase (see NAMED_BY); `everyday`:
    texts whose words are not."""
    named: dict[str, set[str]] = {}
    common = {_folded(w) for text in everyday for w in _WORD.findall(text)}
    for cls, who, text in rows:
        for word in _WORD.finditer(text):
            folded = _folded(word.group())
            if cls == "real" and word.start() > 0 and word.group()[0].isupper():
                named.setdefault(folded, set()).add(who)
            else:  # a fictional one's word, or lowercase or first in a real one's
                common.add(folded)
    return frozenset(w for w, people in named.items() if len(people) <= NAMED_BY and len(w) >= 4 and w not in common)


def _unframed(text: str) -> bool:
    """A clause that may describe somebody without a describing frame: long, with a nationality or with a
    detail and a word for a person ("the Swiss tennis maestro with eight Wimbledon titles")."""
    if not (_LONG.match(text) or sum(not c.isspace() and c > "\u024f" for c in text) >= 5):
        return False
    return bool(_NATIONALITY.search(text) or _SPECIFIC.search(_COUNT.sub("", text)) and _PERSON_CUE.search(text))


def _nobody(text: str) -> bool:
    """A clause about someone made up or one of many (`_MADE_UP`, `_CHARACTER_AFTER`, `_ANYONE`), unless it
    says whom they look like; "a cute portrait of the woman who…" is of one."""
    if _LIKENESS_OF_ONE.search(text):  # "an OC who's a dead-on lookalike of the actor who played Jack in Titanic"
        return False
    return bool(_MADE_UP.search(text) or _CHARACTER_AFTER.search(text) or _ANYONE.match(_PICTURE_OF.sub("", text)))


def read_descriptions(path: Path = DESCRIPTIONS) -> list[tuple[str, str, str]]:
    """(class, who, description) rows of a `class<TAB>who<TAB>description` file; errors name the line."""
    rows = []
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0] != "class\twho\tdescription":
        raise ValueError(f"{path}: the first line must be the header 'class<TAB>who<TAB>description'")
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != 3 or fields[0] not in CLASSES or not all(f.strip() for f in fields):
            raise ValueError(f"{path} line {number}: expected real or fictional, who, a description; got {line!r}")
        rows.append((fields[0], fields[1], fields[2]))
    return rows


class Described:
    """Finds a clause of a prompt that describes a real person (see the module's docstring)."""

    def __init__(self, embed_one: Callable[[str], np.ndarray], embed: Callable[[list[str]], np.ndarray], model: str):
        rows = read_descriptions()
        texts = [text for _, _, text in rows]
        matrix = load_packaged(EMBEDDINGS, model, texts)
        if matrix is None:
            log.info("person descriptions: embedding %d descriptions (not shipped for %s)", len(texts), model)
            matrix = in_batches(embed, texts)
        self._embed_one = embed_one
        self._names = name_words(rows, load_memory(MEMORY_FILE)["accept"])
        self._rows = {name: [(who, text) for cls, who, text in rows if cls == name] for name in CLASSES}
        self._matrices = {name: matrix[[i for i, r in enumerate(rows) if r[0] == name]] for name in CLASSES}
        people = {who: n for n, who in enumerate(dict.fromkeys(who for who, _ in self._rows["real"]))}
        self._whose = np.array([people[who] for who, _ in self._rows["real"]])  # a number per real person

    def find(self, prompt: str) -> Description | None:
        """The first describing clause closer to a real person than the thresholds allow, if any."""
        lowered = prompt.lower()
        for clause in _CLAUSE.finditer(prompt):
            text = clause.group().strip()
            describes = _DESCRIBES.search(text)
            framed = describes and _SPECIFIC.search(text)
            quoted = describes and _QUOTED.search(text)
            detailed = framed or quoted or _unframed(text) or (describes and self._named(text))
            bare = describes and not detailed and _PERSON_CUE.search(text) and _DEED.search(text)
            if bare and (SOMEONE_ELSE.search(lowered, clause.end()) or INVENTED.search(lowered)):
                continue
            if not (detailed or bare) or _STYLED.search(text) or _nobody(text):
                continue
            vector = self._embed_one(text)
            sims = {name: matrix @ vector for name, matrix in self._matrices.items()}
            real, fictional = (top_k_mean(sims[name], TOP_K) for name in CLASSES)
            floor, margin = (REAL_FLOOR, REAL_MARGIN) if framed else (SURE_FLOOR, SURE_MARGIN)
            best = int(np.argmax(sims["real"]))
            who, example = self._rows["real"][best]
            if real >= floor and real - fictional >= margin and (not bare or self._stands_out(sims["real"], best)):
                return Description(text, who, example, float(sims["real"][best]))
        return None

    def _named(self, text: str) -> bool:
        """Whether `text` writes a name in lowercase (see NAMED_BY)."""
        return any(word.islower() and _folded(word) in self._names for word in _WORD.findall(text))

    def _stands_out(self, sims: np.ndarray, best: int) -> bool:
        """Whether real description `best` is ONE_PERSON nearer than the nearest of anybody else's."""
        return float(sims[best] - sims[self._whose != self._whose[best]].max()) >= ONE_PERSON


def main(argv: list[str] | None = None) -> int:
    """Write data/person_descriptions.npz for the shipped descriptions and the multilingual model."""
    from sdturbo.domain.embedding import MULTILINGUAL_MODEL, shared_encoder

    model = (argv or sys.argv[1:] or [MULTILINGUAL_MODEL])[0]
    texts = [text for _, _, text in read_descriptions()]
    save_packaged(EMBEDDINGS, model, texts, in_batches(shared_encoder(model), texts))
    print(f"{EMBEDDINGS}: {len(texts)} descriptions embedded with {model}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
