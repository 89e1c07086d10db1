"""Name and region lexicons (`_lexicon.json`, made by bench/pii/make_lexicon.py) and the rules that
use them with an English dictionary to add, relabel or reject the small NER model's PERSON/LOCATION.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from portico.privacy.entities import EntityType

_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)?")
_TITLE = r"[A-Z][a-z]+(?:['-][A-Z]?[a-z]+)?"
_SUFFIX = r"(?: (?:Jr\.?|Sr\.?|II|III|IV))?"
# Three or two Title Case words, tried at every capitalised word; checked against the lexicons.
_NAME_SHAPES = (
    re.compile(rf"({_TITLE}) ({_TITLE}) ({_TITLE}){_SUFFIX}(?![\w-])"),
    re.compile(rf"({_TITLE})() ({_TITLE}){_SUFFIX}(?![\w-])"),
)
_WORD_START = re.compile(r"(?<![\w-])[A-Z]")
_CONNECTORS = {"and": "(?:and|&)", "&": "(?:and|&)", "of": "of", "the": "the"}


@dataclass(frozen=True, slots=True)
class Lexicon:
    first_names: frozenset[str]
    last_names: frozenset[str]
    regions: re.Pattern[str]
    words: frozenset[str]         # English dictionary lemmas, lowercase, proper nouns included
    common: frozenset[str]        # lemmas that are also verbs, adjectives or adverbs

    def is_word(self, token: str, table: frozenset[str] | None = None) -> bool:
        """Is the token (or a plain inflection's stem) a dictionary word?"""
        table = self.words if table is None else table
        low = token.lower()
        stems = [low]
        if low.endswith("ies"):
            stems.append(low[:-3] + "y")
        for suffix in ("s", "es", "ing", "ed", "d"):
            if low.endswith(suffix) and len(low) > len(suffix) + 2:
                stem = low[: -len(suffix)]
                stems += [stem, stem + "e"]
        return any(s in table for s in stems)

    def is_name_part(self, token: str) -> bool:
        return token in self.first_names or token in self.last_names

    def dictionary_phrase(self, span: str) -> bool:
        """Title Case vocabulary ("Error Handling"): every word a dictionary word, none a name."""
        words = _WORD.findall(span)
        return bool(words) and all(
            self.is_word(w) and not self.is_name_part(w) for w in words
        )

    def looks_like_name(self, span: str) -> bool:
        """A known first name then a known last name, or a surname that is no dictionary word."""
        words = _WORD.findall(span)
        if len(words) < 2 or words[0] not in self.first_names:
            return False
        last = words[-1]
        return last in self.last_names or not self.is_word(last)


def load_lexicon(lemma_index: Mapping[str, Iterable[str]]) -> Lexicon:
    """Build once per detector; `lemma_index` maps a part of speech to its dictionary lemmas."""
    data = json.loads(resources.files("portico.privacy").joinpath("_lexicon.json").read_text())
    words: set[str] = set()
    common: set[str] = set()
    for pos, lemmas in lemma_index.items():
        words.update(lemmas)
        if pos != "noun":
            common.update(lemmas)
    return Lexicon(
        first_names=frozenset(data["first_names"]),
        last_names=frozenset(data["last_names"]),
        regions=_region_pattern(data["regions"]),
        words=frozenset(words),
        common=frozenset(common),
    )


def _region_pattern(names: Iterable[str]) -> re.Pattern[str]:
    variants: set[str] = set()
    for name in names:
        base = re.sub(r"\s*\(.*?\)", "", name)
        folded = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
        for form in {base, folded, re.sub(r"^Saint ", "St. ", base)}:
            parts = [
                _CONNECTORS.get(p.lower(), re.escape(p)) for p in re.split(r"\s+", form.strip())
            ]
            variants.add(r"\s+".join(parts))
    alternation = "|".join(sorted(variants, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternation})(?![\w-])")


class RegionRecognizer(EntityRecognizer):
    """Country and territory names, with "and"/"&" and accents folded; outranks the NER's split."""

    def __init__(self, lexicon: Lexicon, score: float = 0.9) -> None:
        self._lexicon = lexicon
        self._score = score
        super().__init__(supported_entities=[EntityType.LOCATION.value], name="portico_region")

    def load(self) -> None:
        """The gazetteer is compiled by `load_lexicon`."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        for match in self._lexicon.regions.finditer(text):
            # "Chad Smith", "Jordan Lee": a region that is also a first name, before a surname.
            following = _WORD.match(text, match.end() + 1)
            if (
                match.group(0) in self._lexicon.first_names
                and text[match.end(): match.end() + 1] == " "
                and following is not None
                and following.group(0)[:1].isupper()
            ):
                continue
            results.append(
                RecognizerResult(EntityType.LOCATION.value, *match.span(), self._score)
            )
        return results


class NamePairRecognizer(EntityRecognizer):
    """"First Last" where the first name is in the lexicon; a score below the NER's 0.85."""

    def __init__(self, lexicon: Lexicon, score: float = 0.7) -> None:
        self._lexicon = lexicon
        self._score = score
        super().__init__(supported_entities=[EntityType.PERSON.value], name="portico_name_pair")

    def load(self) -> None:
        """The name lists are loaded by `load_lexicon`."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        resume = 0
        for start in _WORD_START.finditer(text):
            if start.start() < resume:
                continue
            for shape in _NAME_SHAPES:
                match = shape.match(text, start.start())
                if match is not None and self._accepts(*match.group(1, 2, 3)):
                    results.append(
                        RecognizerResult(EntityType.PERSON.value, *match.span(), self._score)
                    )
                    resume = match.end()
                    break
        return results

    def _accepts(self, first: str, middle: str, last: str) -> bool:
        lex = self._lexicon
        if first not in lex.first_names or (middle and not lex.is_name_part(middle)):
            return False
        # Without a known surname, neither word may be vocabulary ("Autumn Leaves", "Chase Bank").
        return last in lex.last_names or not (lex.is_word(last) or lex.is_word(first))

