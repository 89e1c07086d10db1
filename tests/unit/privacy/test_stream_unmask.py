"""Streaming unmask: placeholders split across deltas at any offset come back exactly."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from portico.privacy.entities import EntityType
from portico.privacy.masking import Vault
from portico.privacy.stream_unmask import StreamUnmasker


def _vault() -> Vault:
    vault = Vault()
    vault.placeholder_for(EntityType.PERSON, "Ana Lima")
    vault.placeholder_for(EntityType.EMAIL, "ana@example.com")
    for i in range(11):   # so that <PERSON_1> is a prefix of <PERSON_10>, <PERSON_11>, <PERSON_12>
        vault.placeholder_for(EntityType.PERSON, f"Person {i}")
    return vault


def _run(vault: Vault, chunks: list[str]) -> str:
    unmasker = StreamUnmasker(vault)
    return "".join(unmasker.feed(c) for c in chunks) + unmasker.flush()


TEXT = "Hi <PERSON_1>, <EMAIL_1> is <PERSON_12>; a < b and <PERSON_99> or <PERS <EMAIL_1>"
EXPECTED = (
    "Hi Ana Lima, ana@example.com is Person 10; a < b and <PERSON_99> or <PERS ana@example.com"
)


def test_every_two_way_split() -> None:
    vault = _vault()
    assert vault.unmask(TEXT) == EXPECTED
    for cut in range(len(TEXT) + 1):
        assert _run(vault, [TEXT[:cut], TEXT[cut:]]) == EXPECTED, cut


def test_holds_back_only_possible_placeholders() -> None:
    unmasker = StreamUnmasker(_vault())
    assert unmasker.feed("Dear <PER") == "Dear "
    assert unmasker.feed("SON_") == ""
    assert unmasker.feed("1>!") == "Ana Lima!"
    assert unmasker.feed("x <b>") == "x <b>"        # cannot start a placeholder: emitted at once
    assert unmasker.feed("<PERSON_1") == ""         # could be <PERSON_1> or <PERSON_10>
    assert unmasker.feed("3") == "<PERSON_13"       # no such placeholder
    assert unmasker.feed("> end <") == "> end "
    assert unmasker.flush() == "<"


def test_empty_vault_passes_text_through() -> None:
    unmasker = StreamUnmasker(Vault())
    assert unmasker.feed("<PERSON_1") == "<PERSON_1"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(TEXT)), max_size=12))
def test_any_split_restores_exactly(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [TEXT[a:b] for a, b in zip([0, *points], [*points, len(TEXT)], strict=True)]
    assert _run(_vault(), chunks) == EXPECTED


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from(["<PERSON_1>", "<EMAIL_1>", "<PERSON_11>", "<", ">"]),
                       st.text(alphabet="ab <_PERSON1>", max_size=6)), max_size=10),
    st.data(),
)
def test_stream_equals_whole_text_unmask(parts: list[str], data: st.DataObject) -> None:
    vault = _vault()
    text = "".join(parts)
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(text)), max_size=8))))
    chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    assert _run(vault, chunks) == vault.unmask(text)
