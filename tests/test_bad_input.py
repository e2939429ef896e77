"""SPEC section 5, bad input: every malformed call raises a clean ValueError (bad values) or
TypeError (bad types) that names the sentence and token where that applies, before any output,
and never another exception type (IndexError, OverflowError, a Rust panic, ...).

Covers the list API (``tokenclean.find_label_issues``), the flat API
(``find_label_issues_flat``) and the multi-class API (``tokenclean.filter.find_label_issues``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tokenclean
from conftest import is_clean_error
from tokenclean.filter import find_label_issues as find_mc
from tokenclean.token_classification.filter import find_label_issues_flat as find_flat

find_list = tokenclean.find_label_issues

K = 3
LENGTHS = [3, 4, 2, 5]
# Sentence 2, token 1 is flat token 3 + 4 + 1 = 8: the position most tests corrupt.
S, T, FLAT = 2, 1, 8
WHERE = rf"sentence {S}, token {T}"


def _dataset() -> tuple[list[list[int]], list[np.ndarray]]:
    """Small valid dataset: Python int labels, float64 (T_i, 3) probability arrays."""
    rng = np.random.default_rng(1234)
    labels = [[int(x) for x in rng.integers(0, K, n)] for n in LENGTHS]
    probs = [rng.dirichlet(np.ones(K), n) for n in LENGTHS]
    return labels, probs


def _flat() -> tuple[np.ndarray, np.ndarray, list[int]]:
    labels, probs = _dataset()
    return np.concatenate([np.asarray(x) for x in labels]), np.concatenate(probs), list(LENGTHS)


def _labels_with(value: Any) -> list[list[Any]]:
    labels, _ = _dataset()
    out: list[list[Any]] = [list(x) for x in labels]
    out[S][T] = value
    return out


def _probs_with(value: float, dtype: Any = np.float64) -> list[np.ndarray]:
    _, probs = _dataset()
    out = [p.astype(dtype) for p in probs]
    out[S][T, 1] = value
    return out


def test_the_valid_dataset_is_valid() -> None:
    labels, probs = _dataset()
    assert isinstance(find_list(labels, probs), list)
    lab, pp, lengths = _flat()
    assert find_flat(lab, pp, lengths).shape[1] == 2
    assert find_mc(lab, pp).shape == (len(lab),)


# ---------------------------------------------------------------------------
# sentence structure
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("drop", ["labels", "pred_probs"])
def test_different_numbers_of_sentences(drop: str) -> None:
    labels, probs = _dataset()
    if drop == "labels":
        labels = labels[:-1]
        match = r"labels has 3 sentences but pred_probs has 4"
    else:
        probs = probs[:-1]
        match = r"labels has 4 sentences but pred_probs has 3"
    with pytest.raises(ValueError, match=match):
        find_list(labels, probs)


def _move_one_label(labels: list[list[int]]) -> list[list[int]]:
    """Same total number of labels, but sentence 0 has one fewer and sentence 1 one more."""
    out = [list(x) for x in labels]
    out[1].append(out[0].pop())
    return out


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda L: [L[0][:-1], *L[1:]], r"sentence 0 has 2 labels but 3 rows of pred_probs"),
        (lambda L: [[*L[0], 0], *L[1:]], r"sentence 0 has 4 labels but 3 rows of pred_probs"),
        # totals agree (14 = 14): cleanlab silently misaligns this one
        (_move_one_label, r"sentence 0 has 2 labels but 3 rows of pred_probs"),
        (lambda L: [*L[:3], []], r"sentence 3 has 0 labels but 5 rows of pred_probs"),
    ],
    ids=["fewer", "more", "totals-agree", "no-labels"],
)
def test_label_count_differs_from_rows(edit: Callable[[Any], Any], match: str) -> None:
    labels, probs = _dataset()
    with pytest.raises(ValueError, match=match):
        find_list(edit(labels), probs)


def test_labels_for_a_sentence_without_rows() -> None:
    labels, probs = _dataset()
    probs[3] = np.zeros((0, K))
    with pytest.raises(ValueError, match=r"sentence 3 has 5 labels but 0 rows of pred_probs"):
        find_list(labels, probs)


def test_flat_label_count_differs_from_rows() -> None:
    lab, pp, lengths = _flat()
    with pytest.raises(ValueError, match=r"labels has 13 entries but pred_probs has 14 rows"):
        find_flat(lab[:-1], pp, lengths)
    with pytest.raises(ValueError, match=r"labels has 13 entries but pred_probs has 14 rows"):
        find_mc(lab[:-1], pp)


@pytest.mark.parametrize(
    ("lengths", "error", "match"),
    [
        ([3, 4, 2, 4], ValueError, r"lengths add up to 13 tokens but pred_probs has 14 rows"),
        ([3, 4, 2, 6], ValueError, r"lengths add up to 15 tokens but pred_probs has 14 rows"),
        # the totals agree, one length is negative
        ([3, 4, -2, 9], ValueError, r"lengths\[2\] = -2"),
        ([3.0, 4, 2, 5], TypeError, r"lengths"),
        (np.array([[3, 4, 2, 5]]), ValueError, r"lengths"),
        ("abcd", TypeError, r"lengths"),
    ],
    ids=["short", "long", "negative", "float", "2-D", "string"],
)
def test_flat_bad_lengths(lengths: Any, error: type[Exception], match: str) -> None:
    lab, pp, _ = _flat()
    with pytest.raises(error, match=match):
        find_flat(lab, pp, lengths)


@pytest.mark.parametrize(
    "lengths",
    [
        [2**62, 2**62, 2**62, 2**62, 14],  # int64 sum wraps around to exactly 14
        [2**62] * 4,  # int64 sum wraps around to 0
        [2**63 - 1, 2**63 - 1, 16],  # wraps around to 14
    ],
    ids=["wraps-to-N", "wraps-to-0", "wraps-to-N-max"],
)
def test_flat_lengths_whose_sum_overflows(lengths: list[int]) -> None:
    """Lengths must add up to N in exact arithmetic, not modulo 2**64."""
    lab, pp, _ = _flat()
    with pytest.raises(ValueError, match=r"lengths"):
        find_flat(lab, pp, np.array(lengths, dtype=np.int64))


# ---------------------------------------------------------------------------
# probability shapes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda p: p[:, 0], r"\(4,\)"),
        (lambda p: p[:, :, None], r"\(4, 3, 1\)"),
        (lambda p: np.stack([p, p]), r"\(2, 4, 3\)"),
    ],
    ids=["1-D", "3-D", "3-D-stacked"],
)
def test_probabilities_not_2d(make: Callable[[np.ndarray], np.ndarray], shape: str) -> None:
    labels, probs = _dataset()
    probs[1] = make(probs[1])
    with pytest.raises(ValueError, match=rf"pred_probs\[1\] has shape {shape}"):
        find_list(labels, probs)


@pytest.mark.parametrize("api", ["flat", "mc"])
@pytest.mark.parametrize(
    ("make", "shape"),
    [(lambda p: p[:, 0], r"\(14,\)"), (lambda p: p[:, :, None], r"\(14, 3, 1\)")],
    ids=["1-D", "3-D"],
)
def test_flat_probabilities_not_2d(
    api: str, make: Callable[[np.ndarray], np.ndarray], shape: str
) -> None:
    lab, pp, lengths = _flat()
    with pytest.raises(ValueError, match=rf"pred_probs has shape {shape}"):
        if api == "flat":
            find_flat(lab, make(pp), lengths)
        else:
            find_mc(lab, make(pp))


@pytest.mark.parametrize("extra", [1, -1], ids=["wider", "narrower"])
def test_number_of_classes_differs_between_sentences(extra: int) -> None:
    labels, probs = _dataset()
    labels = [[min(x, 1) for x in s] for s in labels]  # valid for K = 2 as well
    p = probs[2]
    probs[2] = np.hstack([p, np.zeros((len(p), 1))]) if extra > 0 else p[:, :2].copy()
    cols = K + extra
    with pytest.raises(
        ValueError, match=rf"pred_probs\[2\] has {cols} columns but pred_probs\[0\] has {K}"
    ):
        find_list(labels, probs)


# ---------------------------------------------------------------------------
# probability values
# ---------------------------------------------------------------------------

NON_FINITE = [np.nan, np.inf, -np.inf]
OUT_OF_RANGE = [-2e-6, 1 + 2e-6, -1.0, 2.0, -1e30, 1e30]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", NON_FINITE, ids=["nan", "inf", "-inf"])
def test_non_finite_probabilities(value: float, dtype: Any) -> None:
    with pytest.raises(ValueError, match=rf"{WHERE} holds .* for class 1; .*finite"):
        find_list(_dataset()[0], _probs_with(value, dtype))
    lab, pp, lengths = _flat()
    pp = pp.astype(dtype)
    pp[FLAT, 1] = value
    with pytest.raises(ValueError, match=rf"{WHERE} holds .* for class 1; .*finite"):
        find_flat(lab, pp, lengths)
    with pytest.raises(ValueError, match=rf"token {FLAT} holds .* for class 1; .*finite"):
        find_mc(lab, pp)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_probabilities_out_of_range(value: float, dtype: Any) -> None:
    match = rf"{WHERE} holds .* for class 1; probabilities must lie in \[0, 1\]"
    with pytest.raises(ValueError, match=match):
        find_list(_dataset()[0], _probs_with(value, dtype))
    lab, pp, lengths = _flat()
    pp = pp.astype(dtype)
    pp[FLAT, 1] = value
    with pytest.raises(ValueError, match=match):
        find_flat(lab, pp, lengths)
    with pytest.raises(ValueError, match=rf"token {FLAT} holds .* for class 1"):
        find_mc(lab, pp)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", [-1e-6, -5e-7, -1e-300, 1 + 5e-7, 1 + 1e-6])
def test_probabilities_within_the_slack_are_accepted(value: float, dtype: Any) -> None:
    labels, _ = _dataset()
    assert isinstance(find_list(labels, _probs_with(value, dtype)), list)
    lab, pp, lengths = _flat()
    pp = pp.astype(dtype)
    pp[FLAT, 1] = value
    assert find_flat(lab, pp, lengths).ndim == 2
    assert find_mc(lab, pp).dtype == bool


@pytest.mark.parametrize("value", [-5e-7, 1 + 5e-7])
def test_confidence_weighted_entropy_needs_probabilities_in_0_1(value: float) -> None:
    """Within the slack is fine for the other rankings, but cleanlab's entropy raises."""
    labels, _ = _dataset()
    probs = _probs_with(value)
    find_list(labels, probs)  # accepted with the default ranking
    match = rf"confidence_weighted_entropy .* {WHERE} holds .* for class 1"
    with pytest.raises(ValueError, match=match):
        find_list(labels, probs, return_indices_ranked_by="confidence_weighted_entropy")
    lab, pp, lengths = _flat()
    pp[FLAT, 1] = value
    with pytest.raises(ValueError, match=match):
        find_flat(lab, pp, lengths, return_indices_ranked_by="confidence_weighted_entropy")
    with pytest.raises(ValueError, match=rf"confidence_weighted_entropy .* token {FLAT} "):
        find_mc(lab, pp, return_indices_ranked_by="confidence_weighted_entropy")


# ---------------------------------------------------------------------------
# label values and types
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (-1, rf"label -1 at {WHERE} is negative"),
        (-(2**40), rf"label -1099511627776 at {WHERE} is negative"),
        (K, rf"label 3 at {WHERE} is not below the number of classes K=3"),
        (1000, rf"label 1000 at {WHERE} is not below the number of classes K=3"),
        (2**63 - 1, rf"label 9223372036854775807 at {WHERE}"),
        (np.int64(-1), rf"label -1 at {WHERE} is negative"),
        (np.uint8(3), rf"label 3 at {WHERE}"),
    ],
    ids=["-1", "-2**40", "K", "1000", "int64-max", "np-int64--1", "np-uint8-3"],
)
def test_label_out_of_range(value: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        find_list(_labels_with(value), _dataset()[1])


@pytest.mark.parametrize("first", ["wide", "narrow"])
def test_the_first_bad_label_is_named_whatever_its_size(first: str) -> None:
    # A label that does not fit 32 bits is held apart from the others until K is known.
    wide, narrow = -(2**40), K
    labels = _labels_with(wide if first == "wide" else narrow)
    labels[3][2] = narrow if first == "wide" else wide
    value = wide if first == "wide" else narrow
    with pytest.raises(ValueError, match=rf"label {value} at {WHERE}"):
        find_list(labels, _dataset()[1])
    arrays = [np.array(x, dtype=np.int64) for x in labels]
    with pytest.raises(ValueError, match=rf"label {value} at {WHERE}"):
        find_list(arrays, _dataset()[1])


@pytest.mark.parametrize("value", [2**63, 2**70, -(2**63) - 1])
def test_python_int_label_beyond_int64(value: int) -> None:
    with pytest.raises(ValueError, match=rf"labels\[{S}\]\[{T}\]"):
        find_list(_labels_with(value), _dataset()[1])


def test_uint64_label_array_beyond_int64_reports_its_true_value() -> None:
    """A uint64 label >= 2**63 must not be reported as a (wrapped) negative number."""
    labels, probs = _dataset()
    arrays: list[Any] = [np.asarray(x, dtype=np.uint64) for x in labels]
    arrays[S][T] = 2**63 + 5
    with pytest.raises(ValueError, match=WHERE) as info:
        find_list(arrays, probs)
    message = str(info.value)
    assert "negative" not in message
    assert "-9223372036854775803" not in message


@pytest.mark.parametrize("value", [-1, K])
def test_flat_label_out_of_range(value: int) -> None:
    lab, pp, lengths = _flat()
    lab[FLAT] = value
    with pytest.raises(ValueError, match=rf"label {value} at {WHERE}"):
        find_flat(lab, pp, lengths)
    with pytest.raises(ValueError, match=rf"label {value} at token {FLAT}"):
        find_mc(lab, pp)


def test_flat_uint64_labels_beyond_int64() -> None:
    lab, pp, lengths = _flat()
    big = lab.astype(np.uint64)
    big[FLAT] = 2**63 + 5
    with pytest.raises(ValueError, match=r"too large"):
        find_flat(big, pp, lengths)
    with pytest.raises(ValueError, match=r"too large"):
        find_mc(big, pp)


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        1.0,  # integral floats are refused too (cleanlab would index with them)
        np.float64(1.0),
        np.float32(1.5),
        "a",
        b"a",
        np.str_("1"),
        None,
        True,
        False,
        np.bool_(True),
        1j,
        object(),
    ],
    ids=lambda v: f"{type(v).__name__}-{v!r}"[:30],
)
def test_label_of_a_wrong_type(value: Any) -> None:
    with pytest.raises(TypeError, match=rf"labels\[{S}\]\[{T}\] is .*labels must be integer"):
        find_list(_labels_with(value), _dataset()[1])


@pytest.mark.parametrize(
    "dtype", [np.float64, np.float32, bool, "U1", np.complex128], ids=lambda d: str(d)
)
def test_label_array_of_a_wrong_dtype(dtype: Any) -> None:
    labels, probs = _dataset()
    arrays: list[Any] = list(labels)
    arrays[S] = np.asarray(labels[S]).astype(dtype)
    with pytest.raises(TypeError, match=rf"labels\[{S}\] has dtype"):
        find_list(arrays, probs)


def test_object_label_array_is_checked_element_by_element() -> None:
    labels, probs = _dataset()
    arrays: list[Any] = list(labels)
    arrays[S] = np.array([0, 1.5], dtype=object)
    with pytest.raises(TypeError, match=rf"labels\[{S}\]\[{T}\] is 1.5"):
        find_list(arrays, probs)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([0.0, 1.0, 1.0]),
        [0, 1.5, 1],
        [0, 1.0, 1],
        [0, "a", 1],
        [0, None, 1],
        np.array([True, False, True]),
        [0, True, 1],  # a bool among ints: the list API refuses it, so must the flat API
    ],
    ids=["float-array", "1.5", "1.0", "str", "None", "bool-array", "bool-in-list"],
)
@pytest.mark.parametrize("api", ["flat", "mc"])
def test_flat_labels_of_a_wrong_type(api: str, labels: Any) -> None:
    pp = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]])
    with pytest.raises(TypeError, match=r"labels"):
        if api == "flat":
            find_flat(labels, pp, [3])
        else:
            find_mc(labels, pp)


@pytest.mark.parametrize(
    ("labels", "rows", "match"),
    [
        ([[[0]]], 1, r"labels\[0\]\[0\] is a sequence"),
        ([[0, [1]]], 2, r"labels\[0\]\[1\] is a sequence"),
        ([[0, (1,)]], 2, r"labels\[0\]\[1\] is a sequence"),
        ([[0, np.array([1])]], 2, r"labels\[0\]\[1\] is a sequence"),
        ([[0, np.array(1)]], 2, r"labels\[0\]\[1\] is a sequence"),
        ([np.array([[0], [1]])], 2, r"labels\[0\] has shape \(2, 1\)"),
        ([np.array(0)], 1, r"labels\[0\] has shape \(\)"),
    ],
    ids=["[[[0]]]", "list", "tuple", "array-1", "array-0-D", "2-D-array", "0-D-array"],
)
def test_labels_nested_too_deep(labels: Any, rows: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        find_list(labels, [np.full((rows, 2), 0.5)])


def test_flat_labels_nested_too_deep() -> None:
    lab, pp, lengths = _flat()
    with pytest.raises(ValueError, match=r"labels have shape \(14, 1\)"):
        find_flat(lab[:, None], pp, lengths)
    with pytest.raises(ValueError, match=r"labels have shape \(14, 1\)"):
        find_mc(lab[:, None], pp)


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        ([0, [1, 0], [1], [0]], r"labels\[0\] is a int"),
        ([None, [1, 0], [1], [0]], r"labels\[0\] is a NoneType"),
        (["ab", [1, 0], [1], [0]], r"labels\[0\] is a string"),
        ([b"ab", [1, 0], [1], [0]], r"labels\[0\] is a string"),
    ],
    ids=["int", "None", "str", "bytes"],
)
def test_sentence_labels_not_a_sequence(labels: Any, match: str) -> None:
    probs = [np.full((n, 2), 0.5) for n in (2, 2, 1, 1)]
    with pytest.raises(TypeError, match=match):
        find_list(labels, probs)


# ---------------------------------------------------------------------------
# empty data, fewer than two classes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "probs"),
    [
        ([], []),
        ((), ()),
        ([[]], [np.zeros((0, K))]),
        ([[]], [np.zeros((0,))]),
        ([[]], [[]]),
        ([[], []], [np.zeros((0, K)), np.zeros((0, K), dtype=np.float32)]),
        ([np.zeros(0, dtype=np.int64)], [np.zeros((0, K))]),
    ],
    ids=["[]", "()", "[[]]-(0,K)", "[[]]-(0,)", "[[]]-[]", "two-empty", "empty-array"],
)
def test_empty_dataset(labels: Any, probs: Any) -> None:
    with pytest.raises(ValueError, match=r"empty"):
        find_list(labels, probs)


@pytest.mark.parametrize("labels", [np.zeros(0, dtype=np.int64), []], ids=["array", "list"])
def test_flat_empty_dataset(labels: Any) -> None:
    with pytest.raises(ValueError, match=r"empty"):
        find_flat(labels, np.zeros((0, K)), [])
    with pytest.raises(ValueError, match=r"empty"):
        find_flat(labels, np.zeros((0, K)), [0, 0])
    with pytest.raises(ValueError, match=r"empty"):
        find_mc(labels, np.zeros((0, K)))


PROBS_2 = [np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([[0.6, 0.4]])]


@pytest.mark.parametrize("label", [1, 2])
def test_a_single_class_other_than_zero(label: int) -> None:
    probs = [np.full((2, 3), 1 / 3), np.full((1, 3), 1 / 3)]
    with pytest.raises(ValueError, match=rf"every label is class {label}.*at least 2 classes"):
        find_list([[label, label], [label]], probs)
    with pytest.raises(ValueError, match=r"at least 2 classes"):
        find_flat([label] * 3, np.concatenate(probs), [2, 1])
    with pytest.raises(ValueError, match=r"at least 2 classes"):
        find_mc(np.full(3, label), np.concatenate(probs))


def test_all_python_int_zero_labels_are_allowed() -> None:
    """cleanlab accepts a single class when every label is the Python int 0."""
    result = find_list([[0, 0], [0]], PROBS_2)
    assert isinstance(result, list)
    assert all(isinstance(x, tuple) for x in result)
    assert isinstance(find_list(((0, 0), (0,)), PROBS_2), list)
    assert find_flat([0, 0, 0], np.concatenate(PROBS_2), [2, 1]).shape[1] == 2
    mask = find_mc([0, 0, 0], np.concatenate(PROBS_2))
    assert mask.dtype == bool and mask.shape == (3,)


@pytest.mark.parametrize(
    "labels",
    [
        [np.array([0, 0]), np.array([0])],
        [np.zeros(2, dtype=np.int32), [0]],
        [[np.int64(0), np.int64(0)], [np.int64(0)]],
        [[0, 0], [np.int64(0)]],
    ],
    ids=["arrays", "one-array", "numpy-scalars", "one-numpy-scalar"],
)
def test_numpy_int_zero_labels_are_one_class(labels: Any) -> None:
    with pytest.raises(ValueError, match=r"at least 2 classes"):
        find_list(labels, PROBS_2)


def test_one_class_is_refused_by_filters_that_revalidate() -> None:
    for filter_by in ("predicted_neq_given", "low_self_confidence", "low_normalized_margin"):
        with pytest.raises(ValueError, match=r"at least 2 classes"):
            find_list([[0, 0], [0]], PROBS_2, filter_by=filter_by)


# ---------------------------------------------------------------------------
# options
# ---------------------------------------------------------------------------

CALLS: dict[str, Callable[..., Any]] = {
    "list": lambda **kw: find_list(*_dataset(), **kw),
    "flat": lambda **kw: find_flat(*_flat(), **kw),
    "mc": lambda **kw: find_mc(*_flat()[:2], **kw),
}
APIS = list(CALLS)


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"filter_by": "nope"}, ValueError, r"filter_by='nope'|filter_by=\"nope\""),
        ({"filter_by": "Prune_By_Class"}, ValueError, r"filter_by"),
        ({"filter_by": 3}, TypeError, r"filter_by must be a string"),
        ({"filter_by": None}, TypeError, r"filter_by must be a string"),
        ({"return_indices_ranked_by": "nope"}, ValueError, r"return_indices_ranked_by='nope'"),
        ({"return_indices_ranked_by": "entropy"}, ValueError, r"return_indices_ranked_by"),
        ({"return_indices_ranked_by": 3}, TypeError, r"return_indices_ranked_by must be"),
        ({"foo": 1}, TypeError, r"unexpected keyword argument 'foo'"),
        ({"rank_by": "self_confidence"}, TypeError, r"unexpected keyword argument 'rank_by'"),
        ({"rank_by_kwargs": {"foo": 1}}, TypeError, r"rank_by_kwargs .*'foo'"),
        ({"rank_by_kwargs": [1]}, TypeError, r"rank_by_kwargs must be a dict"),
        ({"rank_by_kwargs": {"adjust_pred_probs": "yes"}}, TypeError, r"adjust_pred_probs"),
        ({"n_jobs": 0}, ValueError, r"n_jobs=0; it must be at least 1"),
        ({"n_jobs": -1}, ValueError, r"n_jobs=-1; it must be at least 1"),
        ({"n_jobs": -(2**70)}, ValueError, r"n_jobs=-1180591620717411303424"),
        ({"n_jobs": np.int64(0)}, ValueError, r"n_jobs=0"),
        ({"n_jobs": 1.5}, TypeError, r"n_jobs must be an integer"),
        ({"n_jobs": 2.0}, TypeError, r"n_jobs must be an integer"),
        ({"n_jobs": "2"}, TypeError, r"n_jobs must be an integer"),
        ({"n_jobs": True}, TypeError, r"n_jobs must be an integer"),
        ({"num_to_remove_per_class": [1, 1]}, ValueError, r"has 2 entries.*one per class \(3\)"),
        ({"num_to_remove_per_class": [1] * 4}, ValueError, r"has 4 entries.*one per class \(3\)"),
        ({"num_to_remove_per_class": []}, ValueError, r"has 0 entries.*one per class \(3\)"),
        ({"num_to_remove_per_class": [1.5, 1, 1]}, TypeError, r"num_to_remove_per_class"),
        ({"num_to_remove_per_class": 3}, TypeError, r"num_to_remove_per_class"),
        (
            {"filter_by": "confident_learning", "num_to_remove_per_class": [1, 1, 1]},
            ValueError,
            r"num_to_remove_per_class only works with filter_by .*not 'confident_learning'",
        ),
        ({"confident_joint": np.ones((2, 2))}, ValueError, r"confident_joint"),
        ({"confident_joint": np.ones((4, 4))}, ValueError, r"confident_joint"),
        ({"confident_joint": np.ones((3, 2))}, ValueError, r"confident_joint has shape"),
        ({"confident_joint": np.ones(3)}, ValueError, r"confident_joint has shape \(3,\)"),
        ({"confident_joint": np.ones((3, 3, 1))}, ValueError, r"confident_joint has shape"),
        ({"confident_joint": np.full((3, 3), np.nan)}, ValueError, r"confident_joint"),
        ({"confident_joint": np.full((3, 3), "a")}, TypeError, r"confident_joint"),
        (
            {
                "return_indices_ranked_by": "confidence_weighted_entropy",
                "rank_by_kwargs": {"adjust_pred_probs": True},
            },
            ValueError,
            r"adjust_pred_probs .*confidence_weighted_entropy",
        ),
        ({"low_memory": "yes"}, TypeError, r"low_memory must be a bool"),
        ({"frac_noise": float("nan")}, ValueError, r"frac_noise"),
        ({"frac_noise": "x"}, TypeError, r"frac_noise"),
        ({"min_examples_per_class": float("inf")}, ValueError, r"min_examples_per_class"),
        ({"multi_label": True}, ValueError, r"multi_label"),
    ],
    ids=lambda v: repr(v)[:50] if isinstance(v, dict) else "",
)
def test_bad_option(api: str, kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    if api == "mc" and "low_memory" in kwargs:
        # cleanlab.filter.find_label_issues has no low_memory parameter
        error, match = TypeError, r"unexpected keyword argument 'low_memory'"
    with pytest.raises(error, match=match):
        CALLS[api](**kwargs)


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_jobs": 2**63},
        {"num_to_remove_per_class": [2**70, 0, 0]},
        {"num_to_remove_per_class": np.array([2**64 - 1, 0, 0], dtype=np.uint64)},
    ],
    ids=["n_jobs-2**63", "remove-2**70", "remove-uint64-max"],
)
def test_huge_integer_options_never_overflow(api: str, kwargs: dict[str, Any]) -> None:
    """Either accepted (a huge n_jobs is >= 1) or a ValueError, never an OverflowError."""
    try:
        CALLS[api](**kwargs)
    except BaseException as exc:
        assert is_clean_error(exc), f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------------
# probability dtypes and container types
# ---------------------------------------------------------------------------

BAD_DTYPES = [np.float16, np.int64, np.int32, np.uint8, bool, object, np.complex64, np.complex128]
if np.dtype(np.longdouble).itemsize > 8:
    BAD_DTYPES.append(np.longdouble)


@pytest.mark.parametrize("dtype", BAD_DTYPES, ids=lambda d: np.dtype(d).name)
def test_probabilities_of_a_wrong_dtype(dtype: Any) -> None:
    labels, probs = _dataset()
    probs[1] = probs[1].astype(dtype)
    with pytest.raises(TypeError, match=r"pred_probs\[1\] has dtype .*float32 or float64"):
        find_list(labels, probs)
    lab, pp, lengths = _flat()
    with pytest.raises(TypeError, match=r"pred_probs has dtype .*float32 or float64"):
        find_flat(lab, pp.astype(dtype), lengths)
    with pytest.raises(TypeError, match=r"pred_probs has dtype .*float32 or float64"):
        find_mc(lab, pp.astype(dtype))


@pytest.mark.parametrize(
    ("item", "error", "match"),
    [
        (5, TypeError, r"pred_probs\[1\] is a int"),
        (None, TypeError, r"pred_probs\[1\] is a NoneType"),
        ("abcd", TypeError, r"pred_probs\[1\] is a str"),
        ([[0.5, 0.5, 0.0], [0.5]] * 2, ValueError, r"pred_probs\[1\] cannot be read"),
    ],
    ids=["int", "None", "str", "ragged-list"],
)
def test_sentence_probabilities_not_an_array(item: Any, error: type[Exception], match: str) -> None:
    labels, probs = _dataset()
    probs[1] = item
    with pytest.raises(error, match=match):
        find_list(labels, probs)


GOOD: Any = object()  # stands for the valid argument


@pytest.mark.parametrize(
    ("labels", "pred_probs", "match"),
    [
        (None, GOOD, r"labels must be a list of sentences, not NoneType"),
        ("abcd", GOOD, r"labels must be a list of sentences, not a string"),
        (b"abcd", GOOD, r"labels must be a list of sentences, not a string"),
        (5, GOOD, r"labels must be a list of sentences, not int"),
        (GOOD, None, r"pred_probs must be a list of sentences, not NoneType"),
        (GOOD, 5, r"pred_probs must be a list of sentences, not int"),
        (GOOD, 0.5, r"pred_probs must be a list of sentences, not float"),
        (GOOD, "abcd", r"pred_probs must be a list of sentences, not a string"),
    ],
    ids=[
        "labels-None",
        "labels-str",
        "labels-bytes",
        "labels-int",
        "probs-None",
        "probs-int",
        "probs-float",
        "probs-str",
    ],
)
def test_arguments_not_sequences(labels: Any, pred_probs: Any, match: str) -> None:
    good_labels, good_probs = _dataset()
    with pytest.raises(TypeError, match=match):
        find_list(
            good_labels if labels is GOOD else labels,
            good_probs if pred_probs is GOOD else pred_probs,
        )


@pytest.mark.parametrize("api", ["flat", "mc"])
@pytest.mark.parametrize(
    ("labels", "pred_probs"),
    [
        (GOOD, 5),
        (GOOD, 0.5),
        (GOOD, None),
        (GOOD, "abcd"),
        ("abcd", GOOD),
        (5, GOOD),
        (None, GOOD),
    ],
    ids=[
        "probs-int",
        "probs-float",
        "probs-None",
        "probs-str",
        "labels-str",
        "labels-int",
        "labels-None",
    ],
)
def test_flat_arguments_not_arrays(api: str, labels: Any, pred_probs: Any) -> None:
    """A scalar, None or a string is the wrong type for labels / pred_probs: a TypeError."""
    lab, pp, lengths = _flat()
    lab = lab if labels is GOOD else labels
    pp = pp if pred_probs is GOOD else pred_probs
    with pytest.raises(TypeError):
        if api == "flat":
            find_flat(lab, pp, lengths)
        else:
            find_mc(lab, pp)


# ---------------------------------------------------------------------------
# errors come first, and are always ValueError / TypeError
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_no_output_before_an_error(api: str, capsys: pytest.CaptureFixture[str]) -> None:
    labels, probs = _dataset()
    bad = [p.copy() for p in probs]
    bad[S][T, 0] = np.nan
    lab, pp, lengths = _flat()
    pp[FLAT, 0] = np.nan
    with pytest.raises(ValueError):
        if api == "list":
            find_list(labels, bad, verbose=True)
        elif api == "flat":
            find_flat(lab, pp, lengths, verbose=True)
        else:
            find_mc(lab, pp, verbose=True)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def _sweep_cases() -> list[Any]:
    labels, probs = _dataset()
    lab, pp, lengths = _flat()

    def with_prob(v: float, dtype: Any = np.float64) -> list[np.ndarray]:
        return _probs_with(v, dtype)

    def flat_prob(v: float) -> np.ndarray:
        q = pp.copy()
        q[FLAT, 2] = v
        return q

    cases: list[tuple[str, Callable[[], Any]]] = [
        ("sentences", lambda: find_list(labels[:2], probs)),
        ("rows", lambda: find_list(_move_one_label(labels), probs)),
        ("1-D", lambda: find_list(labels, [probs[0][:, 0], *probs[1:]])),
        ("3-D", lambda: find_list(labels, [probs[0][None], *probs[1:]])),
        ("K", lambda: find_list(labels, [probs[0][:, :2], *probs[1:]])),
        ("nan", lambda: find_list(labels, with_prob(np.nan))),
        ("inf32", lambda: find_list(labels, with_prob(np.inf, np.float32))),
        ("-inf", lambda: find_list(labels, with_prob(-np.inf))),
        ("neg", lambda: find_list(labels, with_prob(-0.1))),
        ("big", lambda: find_list(labels, with_prob(1e300))),
        ("label-neg", lambda: find_list(_labels_with(-1), probs)),
        ("label-K", lambda: find_list(_labels_with(K), probs)),
        ("label-huge", lambda: find_list(_labels_with(2**80), probs)),
        ("label-float", lambda: find_list(_labels_with(1.5), probs)),
        ("label-str", lambda: find_list(_labels_with("x"), probs)),
        ("label-None", lambda: find_list(_labels_with(None), probs)),
        ("label-nested", lambda: find_list(_labels_with([0]), probs)),
        ("empty", lambda: find_list([], [])),
        ("empty-sentences", lambda: find_list([[], []], [np.zeros((0, K))] * 2)),
        ("one-class", lambda: find_list([[1, 1]], [np.full((2, 2), 0.5)])),
        ("zero-columns", lambda: find_list([[0]], [np.zeros((1, 0))])),
        ("filter_by", lambda: find_list(labels, probs, filter_by="x")),
        ("ranking", lambda: find_list(labels, probs, return_indices_ranked_by="x")),
        ("keyword", lambda: find_list(labels, probs, bogus=True)),
        ("n_jobs", lambda: find_list(labels, probs, n_jobs=0)),
        ("removals", lambda: find_list(labels, probs, num_to_remove_per_class=[1])),
        ("joint", lambda: find_list(labels, probs, confident_joint=np.eye(2))),
        ("float16", lambda: find_list(labels, [p.astype(np.float16) for p in probs])),
        ("probs-int", lambda: find_list(labels, 7)),
        ("labels-str", lambda: find_list("labels", probs)),
        ("flat-nan", lambda: find_flat(lab, flat_prob(np.nan), lengths)),
        ("flat-range", lambda: find_flat(lab, flat_prob(-3.0), lengths)),
        ("flat-lengths", lambda: find_flat(lab, pp, [1, 2])),
        ("flat-neg-length", lambda: find_flat(lab, pp, [-1, 15])),
        ("flat-label", lambda: find_flat(np.full_like(lab, 7), pp, lengths)),
        ("flat-1-D", lambda: find_flat(lab, pp[:, 0], lengths)),
        ("flat-zero-columns", lambda: find_flat(lab, pp[:, :0], lengths)),
        ("mc-label", lambda: find_mc(-lab - 1, pp)),
        ("mc-rows", lambda: find_mc(lab[:3], pp)),
        (
            "mc-cwe",
            lambda: find_mc(
                lab, flat_prob(-5e-7), return_indices_ranked_by=("confidence_weighted_entropy")
            ),
        ),
    ]
    return [pytest.param(call, id=name) for name, call in cases]


@pytest.mark.parametrize("call", _sweep_cases())
def test_malformed_input_raises_a_clean_error(call: Callable[[], Any]) -> None:
    try:
        call()
    except BaseException as exc:  # a pyo3 PanicException derives from BaseException
        assert type(exc).__name__ != "PanicException", str(exc)
        assert is_clean_error(exc), f"{type(exc).__name__}: {exc}"
        assert str(exc), "the message must say what is wrong"
    else:
        pytest.fail("malformed input was accepted")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c, lab, pp: c.find_label_issues_flat(lab, pp, None, filter_by="x"), "filter_by"),
        (lambda c, lab, pp: c.find_label_issues_flat(lab, pp, None, rank_by="x"), "rank_by"),
        (lambda c, lab, pp: c.label_quality_scores(lab, pp, "x"), "method"),
        (
            lambda c, lab, pp: c.sentence_scores(np.zeros(1), np.ones(1, np.int64), "max"),
            "sentence_score_method",
        ),
        (
            lambda c, lab, pp: c.calibrate_confident_joint(np.ones((2, 3)), np.ones(2, np.int64)),
            "confident_joint shape",
        ),
    ],
    ids=["filter_by", "rank_by", "method", "sentence_score_method", "joint-shape"],
)
def test_core_refuses_unchecked_options_tersely(call: Callable[..., Any], match: str) -> None:
    """tokenclean._options words the user-facing message; a direct caller of _core still gets a
    ValueError, never a wrong answer or a panic."""
    from tokenclean import _core

    lab, pp, _ = _flat()
    with pytest.raises(ValueError, match=rf"_core: invalid {match} "):
        call(_core, lab, pp)


def test_sentence_lengths_that_overflow_are_refused_not_a_panic() -> None:
    from tokenclean import _core

    lengths = np.array([2**62] * 4 + [0], np.int64)  # adds up to 2**64: wraps to 0 unchecked
    with pytest.raises(ValueError, match="sentence lengths add up to more tokens"):
        _core.sentence_scores(np.zeros(0), lengths)
