"""The detector's model pass: no component runs unread, and windowing changes no detection."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import spacy
from presidio_analyzer.nlp_engine import NlpArtifacts

from portico.privacy._model_pass import model_windows, sentence_initial, unconsumed_encoders
from portico.privacy.detector import DEFAULT_PIPELINE, PiiDetector
from portico.privacy.entities import Entity, EntityType

# Multi-sentence messages: names and places mid-sentence and sentence-initial, Title Case
# vocabulary, addresses, structured values and long clean stretches between them.
MESSAGES = (
    "Please forward the contract to Sarah Johnson before Friday. The rest of this note is about "
    "the quarterly numbers, which look fine and need no action from anyone on the team today.",
    "Sarah asked whether the refund was processed. We are opening a new office in Berlin next "
    "spring and the customer is travelling to Canada next week.",
    "I spoke with Dr. Patel yesterday and she agreed to the new terms. Ship the replacement unit "
    "to our warehouse in San Francisco, then call Kevin Okafor at +1 415-555-2671.",
    "Chapter 4, Section 2.1 covers Error Handling. Use the Save As button, then choose Export and "
    "pick PDF. Write a haiku about Autumn Leaves and the First Snow.",
    "My new mailing address is 4821 Wilson Path Suite 120, Lake Jenniferberg, NE 84930, effective "
    "immediately. Our team in Bosnia and Herzegovina reported the outage first.",
    "Meeting notes: Maria Garcia-Lopez will own the migration plan, Larry Armstrong IV reviews it "
    "and Mr. Nguyen signs off. Paris and Tokyo offices follow in May.",
    "Explain the difference between a mutex and a semaphore with an example. Keep it short, use "
    "plain words, and do not mention any vendor. Then summarise the answer in one line for Jamal.",
    "Dear Ingrid Svensson, thank you for your patience.\nBerlin, Munich and Hamburg stores are "
    "closed on Sunday. Requests from 203.0.113.9 are being rate limited.",
    # Lowercase name particles before the capitalised word: the model reads context before them.
    "Why does it return 401? van der Berg Whitelist 5241:5a93:b56c:ff7b:c99e:afd7:6954:357c in the "
    "firewall for the VPN.",
)


def whole_text(detector: PiiDetector, text: str) -> list[Entity]:
    real = detector.model_artifacts

    def whole_only(
        text: str, *, whole: bool = False, claims: Sequence[tuple[int, int]] = ()
    ) -> NlpArtifacts:
        return real(text, whole=True)   # the model reads every token, claimed ones too

    detector.model_artifacts = whole_only  # type: ignore[method-assign]
    try:
        return detector.detect(text)
    finally:
        del detector.model_artifacts


@pytest.mark.parametrize("text", MESSAGES)
def test_windowed_model_pass_matches_the_whole_text(detector: PiiDetector, text: str) -> None:
    windowed = detector.detect(text)
    assert windowed == whole_text(detector, text)


def test_windows_skip_text_that_cannot_hold_a_name(detector: PiiDetector) -> None:
    lexicon = detector._lexicon
    assert lexicon is not None
    doc = detector._nlp.make_doc(MESSAGES[0])
    windows = model_windows(doc, lexicon, detector._stop_words)
    covered = {i for a, b in windows for i in range(a, b)}
    names = [t.i for t in doc if t.text in ("Sarah", "Johnson")]
    assert names and all(i in covered for i in names)
    assert len(covered) < len(doc) / 2      # the clean second sentence never reaches the model
    clean = detector._nlp.make_doc("explain the difference between a mutex and a semaphore.")
    assert model_windows(clean, lexicon, detector._stop_words) == []


def test_model_results_keep_their_offsets_and_labels(detector: PiiDetector) -> None:
    text = MESSAGES[1]
    artifacts = detector.model_artifacts(text)
    found = {(text[e.start_char:e.end_char], e.label_) for e in artifacts.entities}
    assert ("Berlin", "LOCATION") in found
    assert len(artifacts.entities) == len(artifacts.scores)
    assert [t.idx for t in artifacts.tokens] == artifacts.tokens_indices


def test_detector_runs_no_component_whose_output_nobody_reads(detector: PiiDetector) -> None:
    nlp = detector._nlp
    assert nlp.pipe_names == ["ner"]   # tagger, parser, lemmatizer... and the shared tok2vec off
    assert unconsumed_encoders(nlp) == []


def test_shared_encoder_kept_while_a_listener_is_enabled() -> None:
    nlp = spacy.load(DEFAULT_PIPELINE)
    assert unconsumed_encoders(nlp) == []          # the tagger and parser listen to tok2vec
    nlp.disable_pipe("parser")
    assert unconsumed_encoders(nlp) == []          # the tagger still does
    nlp.disable_pipe("tagger")
    assert unconsumed_encoders(nlp) == ["tok2vec"]


@pytest.mark.parametrize(("text", "start", "initial"), [
    ("Berlin is big.", 0, True),
    ("We met. Berlin is big.", 8, True),
    ('He said: "Berlin', 10, True),
    ("Notes:\n(Berlin", 8, True),
    ("in Berlin", 3, False),
    ("in (Berlin", 4, False),
])
def testsentence_initial(text: str, start: int, initial: bool) -> None:
    assert sentence_initial(text, start) is initial


def test_detections_on_messages(detector: PiiDetector) -> None:
    kinds = {(e.type, MESSAGES[2][e.start:e.end]) for e in detector.detect(MESSAGES[2])}
    assert (EntityType.PERSON, "Kevin Okafor") in kinds
    assert (EntityType.LOCATION, "San Francisco") in kinds
    assert (EntityType.PHONE, "+1 415-555-2671") in kinds
