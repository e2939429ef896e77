"""Variation n-grams: the engine against a pure-Python reference, and the Python API."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ngrams_reference import variation_reference
from tokenclean import _core
from tokenclean.ngrams import VariationEvidence, variation_ngrams, word_ids


@st.composite
def corpora(draw: st.DrawFn) -> tuple[list[int], list[int], list[int], int, int, bool]:
    lengths = draw(st.lists(st.integers(0, 8), min_size=0, max_size=8))
    n = sum(lengths)
    vocab = draw(st.integers(1, 4))
    classes = draw(st.integers(1, 3))
    words = draw(st.lists(st.integers(0, vocab - 1), min_size=n, max_size=n))
    labels = draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n))
    max_n = draw(st.integers(1, 5))
    min_count = draw(st.integers(0, 4))
    return words, labels, lengths, max_n, min_count, draw(st.booleans())


@settings(max_examples=300, deadline=None)
@given(corpora())
def test_engine_matches_reference(
    case: tuple[list[int], list[int], list[int], int, int, bool],
) -> None:
    words, labels, lengths, max_n, min_count, boundaries = case
    ev = variation_ngrams(
        np.array(words, dtype=np.int64),
        np.array(labels, dtype=np.int64),
        np.array(lengths, dtype=np.int64),
        max_n=max_n,
        min_count=min_count,
        boundaries=boundaries,
    )
    expected = variation_reference(words, labels, lengths, max_n, min_count, boundaries)
    assert len(ev.score) == len(words)
    for i, (score, suggested, support, agree, length, offset) in enumerate(expected):
        assert ev.score[i] == pytest.approx(float(score), abs=1e-12), i
        got = (ev.suggested[i], ev.support[i], ev.agree[i], ev.length[i])
        assert got == (suggested, support, agree, length), i
        if support:
            assert ev.offset[i] == offset, i
    assert np.all((ev.score >= 0) & (ev.score <= 1))


def test_majority_suggestion_and_ranking() -> None:
    tokens = [["in", "New", "York"]] * 3 + [["new", "york"]]
    labels = [[0, 1, 2], [0, 3, 4], [0, 1, 2], [1, 2]]
    ev = variation_ngrams(tokens, labels, max_n=3, boundaries=False, lowercase=True)
    assert isinstance(ev, VariationEvidence)
    assert ev.suggested.tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 2, 1, 2]
    assert ev.ranked()[:2].tolist() == [4, 5]
    # By default case matters: "new york" is then a different bigram, seen once.
    cased = variation_ngrams(tokens, labels, max_n=3, boundaries=False)
    assert cased.support[9] == 0
    assert ev.support[9] == 4


def test_flat_and_sentence_inputs_agree() -> None:
    tokens = [["a", "b", "a"], ["b", "a"], [], ["a"]]
    labels = [[0, 1, 1], [1, 0], [], [1]]
    ids, lengths = word_ids(tokens)
    flat = np.concatenate([np.array(s, dtype=np.int64) for s in labels if s])
    a = variation_ngrams(tokens, labels)
    b = variation_ngrams(ids, flat, lengths)
    c = variation_ngrams([s.tolist() for s in np.split(ids, np.cumsum(lengths)[:-1])], labels)
    d = variation_ngrams(ids.astype(np.uint64), flat, lengths)
    for other in (b, c, d):
        for field in ("score", "suggested", "support", "agree", "length", "offset"):
            assert np.array_equal(getattr(a, field), getattr(other, field))


def test_bad_input_names_the_token() -> None:
    with pytest.raises(ValueError, match="sentence 1, token 0"):
        variation_ngrams(np.array([1, 2, 3]), np.array([0, 0, -1]), np.array([2, 1]))
    with pytest.raises(ValueError, match="lengths add up to 4 tokens"):
        variation_ngrams(np.array([1, 2, 3]), np.array([0, 0, 1]), np.array([2, 2]))
    with pytest.raises(ValueError, match="labels has 2 entries"):
        variation_ngrams(np.array([1, 2, 3]), np.array([0, 0]), np.array([3]))
    with pytest.raises(ValueError, match="lengths"):
        _core.variation_ngrams(
            np.array([1], dtype=np.int64), np.array([0], dtype=np.int64), np.array([-1, 2])
        )
    with pytest.raises(ValueError, match="max_n"):
        variation_ngrams(np.array([1]), np.array([0]), np.array([1]), max_n=0)
    with pytest.raises(TypeError, match="integers"):
        variation_ngrams(np.array([1.5]), np.array([0]), np.array([1]))
    with pytest.raises(ValueError, match=r"labels\[1\] has 1 tags"):
        variation_ngrams([["a"], ["b", "c"]], [[0], [1]])
    with pytest.raises(TypeError, match="strings"):
        word_ids([["a", 3]])  # type: ignore[list-item]


def test_empty_corpus() -> None:
    ev = variation_ngrams([], [])
    assert ev.score.shape == (0,)
    assert ev.ranked().shape == (0,)
