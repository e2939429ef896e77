"""tokenclean.align.word_pred_probs: subword rows folded into word rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tokenclean
from tokenclean.align import word_pred_probs

HOWS = ("first", "mean", "max")


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def reference(probs: np.ndarray, ids: list[int | None], how: str) -> np.ndarray:
    """One word at a time, in plain Python."""
    words = [w for w in ids if w is not None]
    n = max(words) + 1 if words else 0
    out = []
    for w in range(n):
        rows = probs[[j for j, v in enumerate(ids) if v == w]]
        if how == "first":
            out.append(rows[0])
        elif how == "mean":
            out.append(rows.mean(axis=0))
        else:
            m = rows.max(axis=0)
            out.append(m / m.sum())
    return np.array(out, dtype=probs.dtype).reshape(n, probs.shape[1])


@st.composite
def sentences(draw: st.DrawFn, k: int | None = None, dtype: Any = None) -> dict[str, Any]:
    """A sentence's subword probabilities, word ids, and its words' subword counts."""
    k = k if k is not None else draw(st.integers(2, 6))
    dtype = dtype if dtype is not None else draw(st.sampled_from([np.float32, np.float64]))
    pieces = draw(st.lists(st.integers(1, 4), max_size=8))
    ids: list[int | None] = [w for w, n in enumerate(pieces) for _ in range(n)]
    if draw(st.booleans()):
        ids = [None, *ids, None]
    if draw(st.booleans()) and ids:
        # a shuffled subword order (not what tokenizers do, but allowed)
        ids = draw(st.permutations(ids))
    seed = draw(st.integers(0, 2**32 - 1))
    logits = np.random.default_rng(seed).normal(0, 3, size=(len(ids), k)).astype(dtype)
    return {"logits": logits, "probs": softmax(logits), "ids": ids, "pieces": pieces}


@given(sentences(), st.sampled_from(HOWS))
def test_matches_a_word_by_word_reference(sentence: dict[str, Any], how: str) -> None:
    probs, ids = sentence["probs"], sentence["ids"]
    got = word_pred_probs(probs, ids, how=how)
    assert got.dtype == probs.dtype
    assert got.shape == (len(sentence["pieces"]), probs.shape[1])
    tol = 1e-5 if probs.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, reference(probs, ids, how), rtol=tol, atol=tol)


@given(sentences(), st.sampled_from(HOWS))
def test_single_subword_words_are_unchanged(sentence: dict[str, Any], how: str) -> None:
    probs, ids = sentence["probs"], sentence["ids"]
    got = word_pred_probs(probs, ids, how=how)
    for w, n in enumerate(sentence["pieces"]):
        if n == 1:
            np.testing.assert_array_equal(got[w], probs[ids.index(w)])


@given(sentences(), st.sampled_from(HOWS), st.booleans())
def test_rows_sum_to_one(sentence: dict[str, Any], how: str, from_logits: bool) -> None:
    x = sentence["logits"] if from_logits else sentence["probs"]
    got = word_pred_probs(x, sentence["ids"], how=how, from_logits=from_logits)
    tol = 1e-5 if got.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=tol)
    assert np.all(got >= 0)


@given(sentences())
def test_first_picks_the_first_subword_row(sentence: dict[str, Any]) -> None:
    probs, ids = sentence["probs"], sentence["ids"]
    firsts = [ids.index(w) for w in range(len(sentence["pieces"]))]
    got = word_pred_probs(probs, ids, how="first")
    np.testing.assert_array_equal(got, probs[firsts].reshape(got.shape))


@given(sentences(), st.sampled_from(HOWS))
def test_from_logits_is_softmax_then_align(sentence: dict[str, Any], how: str) -> None:
    logits, ids = sentence["logits"], sentence["ids"]
    got = word_pred_probs(logits, ids, how=how, from_logits=True)
    want = word_pred_probs(softmax(logits), ids, how=how)
    tol = 1e-5 if logits.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@given(st.integers(2, 5).flatmap(lambda k: st.lists(sentences(k=k, dtype=np.float32))))
def test_batch_list_and_padded_equal_one_at_a_time(batch: list[dict[str, Any]]) -> None:
    probs = [s["probs"] for s in batch]
    ids = [s["ids"] for s in batch]
    for how in HOWS:
        got = word_pred_probs(probs, ids, how=how)
        assert isinstance(got, list)
        assert len(got) == len(batch)
        for g, p, i in zip(got, probs, ids, strict=False):
            np.testing.assert_array_equal(g, word_pred_probs(p, i, how=how))
        if not batch:
            continue
        # the same batch padded to one (S, T, K) array, padding rows garbage with None ids
        t = max(len(i) for i in ids)
        k = probs[0].shape[1]
        padded = np.full((len(batch), t, k), 7.0, dtype=np.float32)
        padded_ids: list[list[int | None]] = []
        for s, (p, i) in enumerate(zip(probs, ids, strict=False)):
            padded[s, : len(i)] = p
            padded_ids.append([*i, *[None] * (t - len(i))])
        from_padded = word_pred_probs(padded, padded_ids, how=how)
        for g, h in zip(got, from_padded, strict=False):
            np.testing.assert_array_equal(g, h)


def test_batch_outputs_are_views_of_one_array() -> None:
    p = np.full((3, 2), 0.5)
    a, b = word_pred_probs([p, p], [[0, 0, 1], [None, 0, None]])
    assert a.shape == (2, 2) and b.shape == (1, 2)
    assert np.shares_memory(a.base, b)


def test_truncated_word_is_an_error_naming_sentence_and_word() -> None:
    p = np.full((4, 2), 0.5)
    ok = [None, 0, 1, None]
    with pytest.raises(ValueError, match=r"^sentence 1: word 1 has no subword \(truncated\?\)"):
        word_pred_probs([p, p], [ok, [None, 0, 2, None]])
    # a padded batch where the tokenizer cut words away in the middle of a row
    with pytest.raises(ValueError, match=r"^sentence 0: word 2 has no subword"):
        word_pred_probs(np.stack([p]), [[0, 1, 3, 4]])


def test_length_mismatch_names_sentence_and_both_lengths() -> None:
    p = np.full((4, 2), 0.5)
    with pytest.raises(ValueError, match=r"^sentence 1: word_ids has 3 entries but .* 4 rows"):
        word_pred_probs([p, p], [[0, 1, 2, 3], [0, 1, 2]])
    with pytest.raises(ValueError, match=r"^sentence 0: word_ids has 5 entries but .* 4 rows"):
        word_pred_probs(p, [0, 1, 2, 3, 4])
    with pytest.raises(ValueError, match=r"word_ids has 1 sentences but subword_probs has 2"):
        word_pred_probs([p, p], [[0, 1, 2, 3]])


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([0, 1, -1, 2], r"^sentence 0: word id at subword 2 is -1; use None"),
        ([0, 1, 1.5, 2], r"^sentence 0: word id at subword 2 is 1.5, not an int or None"),
        ([0, "1", 1, 2], r"^sentence 0: word id at subword 1 is '1', not an int or None"),
    ],
)
def test_bad_word_ids(ids: list[Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        word_pred_probs(np.full((4, 2), 0.5), ids)


def test_numpy_integer_word_ids_are_accepted() -> None:
    p = np.array([[0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    got = word_pred_probs(p, np.array([0, 0, 1]), how="mean")
    np.testing.assert_allclose(got, [[0.4, 0.6], [0.3, 0.7]])
    got = word_pred_probs(p, [np.int64(0), None, np.int32(0)], how="mean")
    np.testing.assert_allclose(got, [[0.25, 0.75]])


def test_nan_in_a_word_row_is_an_error_but_ignored_in_special_rows() -> None:
    p = np.full((4, 2), 0.5)
    p[3] = np.nan
    with pytest.raises(ValueError, match=r"^sentence 1: subword 3 has NaN"):
        word_pred_probs([np.full((4, 2), 0.5), p], [[0, 1, 2, 3], [0, 1, 2, 2]])
    got = word_pred_probs(p, [0, 1, 2, None], how="max")
    np.testing.assert_array_equal(got, np.full((3, 2), 0.5))


def test_logits_without_from_logits_get_a_hint() -> None:
    logits = np.array([[2.0, -1.0], [0.5, 0.1]])
    with pytest.raises(ValueError, match=r"outside \[0, 1\] \(logits\? pass from_logits=True\)"):
        word_pred_probs(logits, [0, 1])
    got = word_pred_probs(logits, [0, 1], from_logits=True)
    np.testing.assert_allclose(got, softmax(logits))


def test_logits_accept_minus_inf_but_not_a_row_of_only_minus_inf() -> None:
    logits = np.array([[0.0, -np.inf], [-np.inf, -np.inf]])
    np.testing.assert_array_equal(word_pred_probs(logits[:1], [0], from_logits=True), [[1, 0]])
    with pytest.raises(ValueError, match=r"^sentence 0: word 1 has no usable probabilities"):
        word_pred_probs(logits, [0, 1], from_logits=True)
    with pytest.raises(ValueError, match=r"^sentence 0: subword 0 has NaN or \+inf"):
        word_pred_probs(np.array([[np.inf, 0.0]]), [0], from_logits=True)


def test_max_of_all_zero_rows_is_an_error() -> None:
    p = np.array([[0.5, 0.5], [0.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match=r"^sentence 0: word 1 has no usable probabilities"):
        word_pred_probs(p, [0, 1, 1], how="max")


def test_class_count_mismatch_names_the_sentence() -> None:
    with pytest.raises(ValueError, match=r"^sentence 2: 3 classes, but sentence 0 has 2"):
        word_pred_probs(
            [np.full((1, 2), 0.5), np.full((1, 2), 0.5), np.full((1, 3), 0.2)], [[0], [0], [0]]
        )


def test_shapes_and_arguments() -> None:
    p = np.full((2, 2), 0.5)
    with pytest.raises(ValueError, match=r"how='last' is not one of first, mean, max"):
        word_pred_probs(p, [0, 1], how="last")  # type: ignore[call-overload]
    with pytest.raises(ValueError, match=r"got shape \(2,\)"):
        word_pred_probs(np.full(2, 0.5), [0, 1])
    with pytest.raises(ValueError, match=r"^sentence 1: subword_probs must be 2-D"):
        word_pred_probs([p, np.full(2, 0.5)], [[0, 1], [0, 1]])
    with pytest.raises(ValueError, match=r"must be one flat list"):
        word_pred_probs(p, [[0, 1]])
    with pytest.raises(TypeError, match=r"sentence 0: word_ids must be a list of ints and None"):
        word_pred_probs([p], [None])
    with pytest.raises(TypeError, match=r"from_logits must be a bool"):
        word_pred_probs(p, [0, 1], from_logits="yes")  # type: ignore[call-overload]


def test_empty_inputs() -> None:
    assert word_pred_probs([], []) == []
    got = word_pred_probs(np.full((2, 3), 1 / 3, dtype=np.float32), [None, None])
    assert got.shape == (0, 3) and got.dtype == np.float32
    a, b = word_pred_probs([np.full((2, 2), 0.5), np.zeros((0, 2))], [[0, 0], []], how="mean")
    assert a.shape == (1, 2) and b.shape == (0, 2)


def test_integer_input_becomes_float64() -> None:
    got = word_pred_probs(np.array([[1, 0], [0, 1]]), [0, 0], how="mean")
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [[0.5, 0.5]])


def test_output_feeds_find_label_issues() -> None:
    rng = np.random.default_rng(0)
    labels, probs, ids = [], [], []
    for _ in range(40):
        n_words = int(rng.integers(2, 6))
        pieces = rng.integers(1, 3, size=n_words)
        wid = [None, *np.repeat(np.arange(n_words), pieces).tolist(), None]
        tags = rng.integers(0, 3, size=n_words)
        sub = np.full((len(wid), 3), 0.05, dtype=np.float32)
        for j, w in enumerate(wid):
            sub[j, 0 if w is None else tags[w]] = 0.9
        labels.append(tags.tolist())
        ids.append(wid)
        probs.append(sub)
    labels[5][1] = (labels[5][1] + 1) % 3  # one planted error
    word_probs = word_pred_probs(probs, ids, how="mean")
    assert [p.shape[0] for p in word_probs] == [len(t) for t in labels]
    assert tokenclean.find_label_issues(labels, word_probs) == [(5, 1)]
