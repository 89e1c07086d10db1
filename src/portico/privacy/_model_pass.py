"""The model pass's machinery: which shared encoders nobody listens to, numpy's OpenBLAS for the
layers' matrix products, and the token windows around possible name parts that the NER reads.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

    from portico.privacy._lexicon import Lexicon

GENERATIONS = ("II", "III", "IV")  # "Larry Armstrong IV" is no acronym
# Tokens of model context kept around a token that may be part of a name or place. The NER's
# encoder sees +-4 tokens (window 1, depth 4) and each transition also reads the token before;
# an entity may start up to 3 lowercase tokens earlier ("van der Berg", "de la Cruz").
_CONTEXT_BEFORE = 8
_CONTEXT_AFTER = 5


def sub_doc(doc: Doc, start: int, end: int) -> Doc:
    """Tokens `start:end` as a fresh Doc (several times cheaper than `Span.as_doc`)."""
    from spacy.tokens import Doc

    tokens = doc[start:end]
    part = Doc(
        doc.vocab, words=[t.text for t in tokens], spaces=[bool(t.whitespace_) for t in tokens]
    )
    for source, token in zip(tokens, part, strict=True):
        if token.norm != source.norm:  # tokenizer exceptions ("n't" -> "not") set a token norm
            token.norm_ = source.norm_
    return part


def unconsumed_encoders(nlp: Language) -> list[str]:
    """Enabled shared encoders (tok2vec, transformer) that no enabled component listens to.

    A listener-less encoder only fills `doc.tensor`, which nothing here reads (no vectors, no
    similarity); a pipeline whose NER embeds its own tokens (en_core_web_sm) keeps just the NER.
    """
    enabled = set(nlp.pipe_names)
    unused: list[str] = []
    for name, pipe in nlp.pipeline:
        listeners = getattr(pipe, "listening_components", None)
        if listeners is not None and not enabled.intersection(listeners):
            unused.append(name)
    return unused


def local_blas_threads() -> Callable[[int], int] | None:
    """numpy's OpenBLAS call that sets the calling thread's BLAS thread count (0.3.27+), if any.

    Thinc's default gemm is blis, which falls back to its unvectorised reference kernel on CPUs
    its build does not know (AMD family 19h here); numpy's OpenBLAS picks a tuned kernel but
    spreads these small products over threads that spin, costing more CPU than they save.
    """
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({
                line.split()[-1] for line in maps
                if "openblas" in line.lower() and line.split()[-1].startswith("/")
            })
    except OSError:
        return None
    for path in paths:
        setter = getattr(ctypes.CDLL(path), "openblas_set_num_threads_local", None)
        if setter is not None:
            setter.argtypes = [ctypes.c_int]
            setter.restype = ctypes.c_int
            return setter  # type: ignore[no-any-return]
    return None


def use_numpy_gemm(nlp: Language) -> None:
    """Point every enabled component's layers at numpy's matrix product instead of blis."""
    from thinc.api import NumpyOps

    ops = NumpyOps(use_blis=False)
    for _, pipe in nlp.pipeline:
        model = getattr(pipe, "model", None)
        if model is not None and hasattr(model, "walk"):
            for node in model.walk():
                node.ops = ops


def model_windows(
    doc: Doc,
    lexicon: Lexicon,
    stop_words: frozenset[str],
    claims: Sequence[tuple[int, int]] = (),
) -> list[tuple[int, int]]:
    """Token ranges, merged where they touch, of context tokens around possible name parts."""
    windows: list[tuple[int, int]] = []
    text = doc.text
    claim = 0
    for tok in doc:
        word = tok.text
        if len(word) < 2 or word.islower() or not any(ch.isupper() for ch in word):
            continue
        if any(ch.isdigit() or ch in "@<>_/\\=#" for ch in word):
            continue
        if word.isupper() and word not in GENERATIONS:
            continue
        if sentence_initial(text, tok.idx) and (
            word.lower() in stop_words or lexicon.is_word(word, lexicon.common)
        ):
            continue
        while claim < len(claims) and claims[claim][1] <= tok.idx:
            claim += 1
        if claim < len(claims) and claims[claim][0] <= tok.idx and (
            tok.idx + len(word) <= claims[claim][1]
        ):
            continue    # any model span with this token overlaps a span that outranks it
        start, end = max(0, tok.i - _CONTEXT_BEFORE), min(len(doc), tok.i + 1 + _CONTEXT_AFTER)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def sentence_initial(text: str, start: int) -> bool:
    """Capitalisation says nothing about the first word of a sentence."""
    i = start - 1
    while i >= 0 and text[i] in " \t\"'(":
        i -= 1
    return i < 0 or text[i] in ".!?:\n"
