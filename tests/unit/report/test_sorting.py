"""Sorting rows by a column: ``sorted_by`` (bare values, None lowest) gives exactly the
order of the plain sort on (is-there-a-value, value) keys, stable both ways."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dmabuf_top.report import columns
from tests.support.fuzz import examples


def reference(items: list[int], values: list[object], descending: bool) -> list[int]:
    key = dict(zip(items, ((0, 0) if v is None else (1, v) for v in values), strict=True))
    return sorted(items, key=key.__getitem__, reverse=descending)


@settings(max_examples=examples(300))
@given(
    st.one_of(
        st.lists(st.one_of(st.none(), st.integers(-3, 3))),
        st.lists(st.one_of(st.none(), st.sampled_from(["", "a", "b", "drm"]))),
    ),
    st.booleans(),
)
def test_sorted_by_is_the_tuple_key_sort(values, descending):
    items = list(range(len(values)))  # (distinct: a tie's order shows)
    assert columns.sorted_by(items, values, descending) == reference(items, values, descending)
