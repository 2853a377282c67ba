"""argodoctor.view.json_stream: a list's items decoded while its text arrives give exactly what json.loads
gives for the whole text, however the bytes are cut into chunks (inside a string, a number, a multi-byte
character), and text that is not one JSON object is refused."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argodoctor.view.json_stream import list_items

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=6), inner, max_size=4), max_leaves=12)
# Items as the API server writes them: objects that all open with the same key (and often share nested
# ones that open the same way, which is where a guessed item boundary can be wrong).
items = st.lists(st.fixed_dictionaries({"metadata": st.fixed_dictionaries({"name": st.text(max_size=6)})},
                                       optional={"apiVersion": st.just("v1"), "spec": values,
                                                 "items": st.lists(st.fixed_dictionaries(
                                                     {"metadata": values}), max_size=3)}), max_size=12)


def _streamed(text: bytes, cuts: list[int]) -> tuple[list, dict]:
    bounds = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    chunks = [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    head: dict = {}
    return list(list_items(iter(chunks), head)), head


@settings(max_examples=300, deadline=None, derandomize=True)
@given(found=items, extra=st.dictionaries(st.sampled_from(["kind", "apiVersion", "metadata"]), values),
       cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=40), pretty=st.booleans(),
       first=st.booleans())
def test_any_chunking_gives_what_json_loads_gives(found, extra, cuts, pretty, first):
    doc = {"items": found, **extra} if first else {**extra, "items": found}
    text = json.dumps(doc, indent=1 if pretty else None, ensure_ascii=False,
                      separators=None if pretty else (",", ":")).encode()
    got, head = _streamed(text, cuts)
    assert got == found
    assert head == extra


def test_one_byte_chunks_and_a_character_cut_in_two():
    doc = {"kind": "SecretList", "metadata": {"continue": "tok"},
           "items": [{"metadata": {"name": "é€😀"}}, {"metadata": {"name": "b", "n": 12345}}]}
    text = json.dumps(doc, ensure_ascii=False).encode()
    got, head = _streamed(text, list(range(len(text))))
    assert got == doc["items"] and head == {"kind": "SecretList", "metadata": {"continue": "tok"}}


def test_a_large_item_arriving_in_small_chunks_is_decoded_in_linear_time(monkeypatch):
    from argodoctor.view import json_stream

    scanned = []

    class Counting(json.JSONDecoder):
        def raw_decode(self, s, idx=0):
            scanned.append(len(s) - idx)
            return super().raw_decode(s, idx)
    monkeypatch.setattr(json_stream, "_DECODER", Counting())
    big = {"metadata": {"name": "big"}, "data": {f"k{i}": "v" * 50 for i in range(20_000)}}
    text = json.dumps({"items": [big, big]}).encode()  # about 2.4 MB in chunks of 512 bytes
    got, _ = _streamed(text, list(range(0, len(text), 512)))
    assert got == [big, big]
    # each failed attempt waits for the text ahead to double: a few times the text, not once per chunk
    assert sum(scanned) < 5 * len(text)


@pytest.mark.parametrize("text", [b"", b"[]", b'{"items": [1, 2', b'{"items": [1,, 2]}', b'{"a": 1} x',
                                  b'{"items": [{"a": 1}]', b"<html>login</html>", b'{1: 2}', b'{"a" 1}'])
def test_text_that_is_not_one_json_object_is_refused(text):
    with pytest.raises(ValueError):
        _streamed(text, [3, 7])


def test_items_null_or_absent_yield_nothing():
    assert _streamed(b'{"items": null, "kind": "X"}', []) == ([], {"items": None, "kind": "X"})
    assert _streamed(b'{"kind": "X"}', [1]) == ([], {"kind": "X"})
    assert _streamed(b"{}", []) == ([], {})


def test_a_boundary_guessed_past_the_end_of_items_is_not_taken():
    # after `items`, text that looks like the start of an item (`,{"metadata":`) inside another key's value
    doc = {"items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}],
           "other": [{"metadata": 1}, {"metadata": 2}], "kind": "List"}
    text = json.dumps(doc, separators=(",", ":")).encode()
    for cuts in ([], [len(text) - 3], [20, len(text) - 1]):
        assert _streamed(text, cuts) == (doc["items"], {"other": doc["other"], "kind": "List"})
