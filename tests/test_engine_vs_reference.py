"""The Rust engine gives the pure-numpy reference's answer, exactly.

Differential tests of the public engine API (``tokenclean.find_label_issues``,
``find_label_issues_flat`` and the multi-class ``tokenclean.filter.find_label_issues``)
against ``tokenclean.reference`` (the oracle, itself checked against stable cleanlab in
``test_reference_vs_cleanlab.py``): same issues in the same order for every keyword, every
``n_jobs``, float32 / float64 / mixed data, in-place layouts of the multi-class input, and the
same exception type where the reference raises. Large deterministic datasets exercise the
parallel code paths (more than 65536 tokens).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenclean
import tokenclean.filter
from conftest import (
    FILTER_BY,
    PRUNE_FILTERS,
    RANKINGS,
    both_ok,
    flat_datasets,
    kwargs_strategy,
    note,
    outcome,
    ragged_datasets,
)
from tokenclean import reference as ref
from tokenclean.token_classification.filter import find_label_issues_flat as engine_flat

engine_list = tokenclean.find_label_issues
engine_multiclass = tokenclean.filter.find_label_issues

# The whole-function tests get a multiple of the profile's budget (they are cheap).
MORE = settings(max_examples=3 * settings.default.max_examples)

N_JOBS = (None, 1, 2, 3)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def flatten(
    labels: list[Any], pred_probs: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat labels, probabilities (promoted dtype of the non-empty sentences) and lengths."""
    lengths = np.array([len(s) for s in labels], dtype=np.int64)
    flat_labels = np.array([int(v) for s in labels for v in s], dtype=np.int64)
    rows = [s for s in pred_probs if s.shape[0] > 0]
    dtype = np.result_type(*[s.dtype for s in rows])
    flat_probs = np.concatenate([s.astype(dtype) for s in rows])
    return flat_labels, flat_probs, lengths


def to_pairs(flat: np.ndarray, lengths: np.ndarray) -> list[tuple[int, int]]:
    starts = np.concatenate([[0], np.cumsum(lengths)])
    sentence = np.searchsorted(starts, flat, side="right") - 1
    return [(int(s), int(f - starts[s])) for s, f in zip(sentence, flat, strict=False)]


def check_pairs_array(got: Any, want: list[tuple[int, int]]) -> None:
    assert isinstance(got, np.ndarray)
    assert got.dtype == np.int64 and got.ndim == 2 and got.shape == (len(want), 2)
    assert [tuple(row) for row in got.tolist()] == want


def make_confident_joint(
    kind: str, order: str, seed: int, labels: np.ndarray, pred_probs: np.ndarray
) -> np.ndarray:
    """A ``confident_joint`` keyword value: random int / float counts, or the reference's
    own (calibrated or not), in C or Fortran order."""
    K = pred_probs.shape[1]
    rng = np.random.default_rng(seed)
    if kind == "int":
        cj = rng.integers(0, 12, size=(K, K)) * (rng.random((K, K)) < 0.6)
    elif kind == "float":
        cj = rng.random((K, K)) * 9 * (rng.random((K, K)) < 0.6)
    elif kind == "computed":
        cj = ref.confident_joint(labels, pred_probs, calibrate=True)[0]
    else:  # uncalibrated
        cj = ref.confident_joint(labels, pred_probs, calibrate=False)[0]
    return np.asfortranarray(cj) if order == "F" else np.ascontiguousarray(cj)


@st.composite
def extra_keywords(
    draw: st.DrawFn, kwargs: dict[str, Any], labels: np.ndarray, pred_probs: np.ndarray
) -> dict[str, Any]:
    """``n_jobs`` (no effect on results) and, sometimes, a ``confident_joint``."""
    extra: dict[str, Any] = {}
    n_jobs = draw(st.sampled_from(N_JOBS))
    if n_jobs is not None:
        extra["n_jobs"] = n_jobs
    if not kwargs.get("low_memory", False) and draw(st.integers(0, 2)) == 0:
        kind = draw(st.sampled_from(["int", "float", "computed", "uncalibrated"]))
        order = draw(st.sampled_from("CF"))
        seed = draw(st.integers(0, 2**32 - 1))
        extra["confident_joint"] = make_confident_joint(kind, order, seed, labels, pred_probs)
        note(f"confident_joint {kind} {order}")
    return extra


# In-place layouts of a (N, K) array for the multi-class path (it reads pred_probs as they
# are, and numpy's row sums follow the memory order). Filler values are NaN, which the
# engine would reject if it read them.
def _rows_strided(p: np.ndarray) -> np.ndarray:
    big = np.full((2 * p.shape[0], p.shape[1]), np.nan, dtype=p.dtype)
    big[::2] = p
    return big[::2]


def _cols_strided(p: np.ndarray) -> np.ndarray:
    wide = np.full((p.shape[0], 2 * p.shape[1]), np.nan, dtype=p.dtype)
    wide[:, ::2] = p
    return wide[:, ::2]


def _fortran_rows_strided(p: np.ndarray) -> np.ndarray:
    big = np.full((3 * p.shape[0], p.shape[1]), np.nan, dtype=p.dtype, order="F")
    big[::3] = p
    return big[::3]


LAYOUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "C": np.ascontiguousarray,
    "F": np.asfortranarray,
    "rows-strided": _rows_strided,
    "cols-strided": _cols_strided,
    "F-rows-strided": _fortran_rows_strided,
    "rows-reversed": lambda p: p[::-1].copy()[::-1],
    "F-cols-reversed": lambda p: np.asfortranarray(p[:, ::-1])[:, ::-1],
}


# ---------------------------------------------------------------------------
# token API (list and flat) vs the reference, on random data
# ---------------------------------------------------------------------------


@MORE
@given(data=ragged_datasets(), layout=st.sampled_from(["C", "F", "rows-strided"]), draw=st.data())
def test_token_api_matches_reference(data: Any, layout: str, draw: st.DataObject) -> None:
    labels, pred_probs = data
    K = pred_probs[0].shape[1]
    flat_labels, flat_probs, lengths = flatten(labels, pred_probs)
    kwargs = draw.draw(kwargs_strategy(K), label="kwargs")
    kwargs.update(draw.draw(extra_keywords(kwargs, flat_labels, flat_probs), label="extra"))

    want = outcome(ref.find_label_issues, labels, pred_probs, **kwargs)
    got = outcome(engine_list, labels, pred_probs, **kwargs)
    # the flat token API reads any layout but answers for the flattened (row-major) data
    got_flat = outcome(engine_flat, flat_labels, LAYOUTS[layout](flat_probs), lengths, **kwargs)
    if not both_ok(got, want, "reference"):
        both_ok(got_flat, want, "reference")
        return
    note("issues: " + ("0" if not want[1] else "1-4" if len(want[1]) < 5 else "5+"))
    assert isinstance(got[1], list)
    assert all(type(i) is int and type(j) is int for i, j in got[1])
    assert got[1] == want[1]
    assert both_ok(got_flat, want, "reference")
    check_pairs_array(got_flat[1], want[1])

    # the flat reference on the same data agrees too
    want_flat = ref.find_label_issues_flat(flat_labels, flat_probs, **kwargs)
    assert to_pairs(want_flat, lengths) == want[1]


@given(data=ragged_datasets(max_classes=12), draw=st.data())
def test_token_api_does_not_depend_on_n_jobs(data: Any, draw: st.DataObject) -> None:
    labels, pred_probs = data
    K = pred_probs[0].shape[1]
    kwargs = draw.draw(kwargs_strategy(K), label="kwargs")
    results = [outcome(engine_list, labels, pred_probs, n_jobs=n, **kwargs) for n in N_JOBS]
    kinds = {r[0] for r in results}
    assert len(kinds) == 1, results
    if results[0][0] == "ok":
        assert all(r[1] == results[0][1] for r in results)
    else:
        assert len({type(r[1]) for r in results}) == 1


@given(
    data=ragged_datasets(max_classes=8, allow_out_of_range=True),
    ranked=st.sampled_from(RANKINGS),
    low_memory=st.booleans(),
    n_jobs=st.sampled_from(N_JOBS),
)
def test_out_of_range_probabilities(
    data: Any, ranked: str, low_memory: bool, n_jobs: int | None
) -> None:
    """Probabilities up to 1e-6 outside [0, 1] are accepted; the entropy score then raises
    ValueError in both."""
    labels, pred_probs = data
    kwargs: dict[str, Any] = {"return_indices_ranked_by": ranked, "n_jobs": n_jobs}
    if low_memory:
        kwargs["low_memory"] = True
    want = outcome(ref.find_label_issues, labels, pred_probs, **kwargs)
    got = outcome(engine_list, labels, pred_probs, **kwargs)
    if both_ok(got, want, "reference"):
        assert got[1] == want[1]
    else:
        assert isinstance(want[1], ValueError)


def _tiny_dataset(value: float, dtype: Any) -> tuple[list[list[int]], list[np.ndarray]]:
    p = np.array(
        [[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.1, 0.9, 0.0], [0.7, 0.3, 0.0], [0.05, 0.05, 0.9]]
    )
    p[0, 2] = value  # just outside [0, 1] (within cleanlab's 1e-6 slack) when value != 0
    if value > 1:
        p[0] = [0.0, 0.0, value]
    labels = [[0, 0], [1, 1, 2]]
    return labels, [p[:2].astype(dtype), p[2:].astype(dtype)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", [-5e-7, 1 + 5e-7])
@pytest.mark.parametrize("low_memory", [False, True])
def test_entropy_of_out_of_range_probability_raises_in_both(
    dtype: Any, value: float, low_memory: bool
) -> None:
    labels, pred_probs = _tiny_dataset(value, dtype)
    kwargs: dict[str, Any] = {"return_indices_ranked_by": "confidence_weighted_entropy"}
    if low_memory:
        kwargs["low_memory"] = True
    want = outcome(ref.find_label_issues, labels, pred_probs, **kwargs)
    assert want[0] == "raised" and isinstance(want[1], ValueError)
    for got in (
        outcome(engine_list, labels, pred_probs, **kwargs),
        outcome(engine_flat, *flatten(labels, pred_probs), **kwargs),
    ):
        assert got[0] == "raised" and type(got[1]) is ValueError, got
    if not low_memory:
        flat_labels, flat_probs, _ = flatten(labels, pred_probs)
        got = outcome(engine_multiclass, flat_labels, flat_probs, **kwargs)
        assert got[0] == "raised" and type(got[1]) is ValueError, got
    # the other scores accept the value
    for ranked in ("self_confidence", "normalized_margin"):
        kwargs["return_indices_ranked_by"] = ranked
        want = outcome(ref.find_label_issues, labels, pred_probs, **kwargs)
        got = outcome(engine_list, labels, pred_probs, **kwargs)
        assert both_ok(got, want, "reference") and got[1] == want[1]


@pytest.mark.parametrize("filter_by", FILTER_BY)
def test_adjusted_entropy_raises_in_both(filter_by: str) -> None:
    labels, pred_probs = _tiny_dataset(0.0, np.float64)
    kwargs: dict[str, Any] = {
        "filter_by": filter_by,
        "return_indices_ranked_by": "confidence_weighted_entropy",
        "rank_by_kwargs": {"adjust_pred_probs": True},
    }
    want = outcome(ref.find_label_issues, labels, pred_probs, **kwargs)
    got = outcome(engine_list, labels, pred_probs, **kwargs)
    assert want[0] == "raised" and isinstance(want[1], ValueError)
    assert got[0] == "raised" and type(got[1]) is ValueError, got


# ---------------------------------------------------------------------------
# multi-class API vs the reference, in place on every layout
# ---------------------------------------------------------------------------


def check_multiclass(
    labels: np.ndarray, pred_probs: np.ndarray, kwargs: dict[str, Any]
) -> np.ndarray | None:
    want = outcome(ref.find_label_issues_flat, labels, pred_probs, **kwargs)
    got = outcome(engine_multiclass, labels, pred_probs, **kwargs)
    if not both_ok(got, want, "reference"):
        return None
    result = got[1]
    assert isinstance(result, np.ndarray)
    if kwargs.get("return_indices_ranked_by") is None:
        assert result.dtype == np.bool_ and result.shape == labels.shape
        np.testing.assert_array_equal(np.flatnonzero(result), want[1])
    else:
        assert result.dtype == np.int64 and result.ndim == 1
        np.testing.assert_array_equal(result, want[1])
    return want[1]


@MORE
@given(data=flat_datasets(), layout=st.sampled_from(sorted(LAYOUTS)), draw=st.data())
def test_multiclass_api_matches_reference(data: Any, layout: str, draw: st.DataObject) -> None:
    labels, pred_probs = data
    view = LAYOUTS[layout](pred_probs)
    np.testing.assert_array_equal(view, pred_probs)
    K = pred_probs.shape[1]
    kwargs = draw.draw(kwargs_strategy(K, allow_low_memory=False), label="kwargs")
    kwargs.update(draw.draw(extra_keywords(kwargs, labels, pred_probs), label="extra"))
    note(f"layout {layout}")
    check_multiclass(labels, view, kwargs)


@functools.cache
def paired_rows_dataset() -> tuple[np.ndarray, np.ndarray]:
    """Labels and float32 probabilities for the layout test below."""
    rng = np.random.default_rng(2024)
    N, K = 1500, 30
    true = rng.integers(0, K, N)
    p = rng.random((N, K)) ** 3
    p[np.arange(N), true] = np.maximum(p[np.arange(N), true], rng.random(N))
    labels = np.where(rng.random(N) < 0.3, rng.integers(0, K, N), true)
    q = p.copy()
    for i in range(N):
        others = p[i].copy()
        others[labels[i]] = -1.0
        shuffled = np.setdiff1d(np.arange(K), [labels[i], int(others.argmax())])
        q[i, shuffled] = p[i, rng.permutation(shuffled)]
    pred_probs = np.concatenate([p, q]).astype(np.float32)
    labels = np.concatenate([labels, labels])
    return labels, pred_probs


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize(
    "kwargs",
    [
        {"return_indices_ranked_by": "confidence_weighted_entropy"},
        {
            "return_indices_ranked_by": "normalized_margin",
            "rank_by_kwargs": {"adjust_pred_probs": True},
        },
        {
            "return_indices_ranked_by": "self_confidence",
            "rank_by_kwargs": {"adjust_pred_probs": True},
        },
    ],
    ids=["entropy", "adjusted-margin", "adjusted-self-confidence"],
)
def test_multiclass_layout_dependent_row_sums(layout: str, kwargs: dict[str, Any]) -> None:
    """Data where numpy's row sums (entropy, adjusted probabilities) give other answers for
    row- and column-major layouts, so the engine must follow the memory order as numpy does.

    Every float32 row appears twice, the second time with the columns other than the given
    label and the largest other class shuffled: equal scores in exact arithmetic, so the
    order of each pair is decided by rounding, which depends on the summation order.
    """
    labels, pred_probs = paired_rows_dataset()
    kwargs = dict(kwargs, filter_by="both")
    c_answer = ref.find_label_issues_flat(labels, pred_probs, **kwargs)
    f_answer = ref.find_label_issues_flat(labels, np.asfortranarray(pred_probs), **kwargs)
    assert not np.array_equal(c_answer, f_answer), "data no longer separates the layouts"
    check_multiclass(labels, LAYOUTS[layout](pred_probs), kwargs)


# ---------------------------------------------------------------------------
# large datasets: the parallel code paths (> 65536 tokens)
# ---------------------------------------------------------------------------


@functools.cache
def large_dataset(K: int, dtype_name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """~200k tokens: softmax rows, a quarter rounded to 2 decimals (ties), 8% flipped
    labels, empty sentences; with K = 37 the last class is never a label."""
    rng = np.random.default_rng([K, 200_000])
    lengths = rng.integers(0, 40, size=10_000)
    lengths[rng.random(lengths.shape[0]) < 0.02] = 0
    N = int(lengths.sum())
    n_labels = K - 1 if K > 20 else K
    true = rng.integers(0, n_labels, N)
    logits = rng.normal(0.0, 1.2, (N, K))
    logits[np.arange(N), true] += rng.uniform(1.0, 7.0, N)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rounded = rng.random(N) < 0.25
    p[rounded] = np.round(p[rounded], 2)
    labels = np.where(rng.random(N) < 0.08, rng.integers(0, n_labels, N), true)
    return labels.astype(np.int64), p.astype(dtype_name), lengths.astype(np.int64)


LARGE = [(9, "float32"), (37, "float64")]
LARGE_CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "class-frac-min": {
        "filter_by": "prune_by_class",
        "return_indices_ranked_by": "normalized_margin",
        "frac_noise": 0.5,
        "min_examples_per_class": 5,
    },
    "both-adjusted-remove": {
        "filter_by": "both",
        "rank_by_kwargs": {"adjust_pred_probs": True},
        "num_to_remove_per_class": "per-class",
    },
    "noise-rate-fortran-joint": {
        "filter_by": "prune_by_noise_rate",
        "return_indices_ranked_by": "normalized_margin",
        "frac_noise": 0.7,
        "confident_joint": "fortran",
    },
    "confident-learning-entropy": {
        "filter_by": "confident_learning",
        "return_indices_ranked_by": "confidence_weighted_entropy",
    },
    "predicted-neq-given-unranked": {
        "filter_by": "predicted_neq_given",
        "return_indices_ranked_by": None,
    },
    "low-self-confidence": {
        "filter_by": "low_self_confidence",
        "return_indices_ranked_by": "normalized_margin",
    },
    "low-normalized-margin": {
        "filter_by": "low_normalized_margin",
        "return_indices_ranked_by": "confidence_weighted_entropy",
    },
    "low-memory": {"low_memory": True, "return_indices_ranked_by": "normalized_margin"},
}


def large_kwargs(name: str, labels: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    kwargs = dict(LARGE_CONFIGS[name])
    K = p.shape[1]
    if kwargs.get("num_to_remove_per_class") == "per-class":
        kwargs["num_to_remove_per_class"] = [int(v) for v in (np.arange(K) * 37) % 400]
    if kwargs.get("confident_joint") == "fortran":
        rng = np.random.default_rng(K)
        cj = ref.confident_joint(labels, p, calibrate=False)[0]
        kwargs["confident_joint"] = np.asfortranarray(cj + rng.integers(0, 50, (K, K)))
    return kwargs


@pytest.mark.parametrize("config", list(LARGE_CONFIGS))
@pytest.mark.parametrize(("K", "dtype"), LARGE, ids=[f"K{k}-{d}" for k, d in LARGE])
def test_large_token_data(K: int, dtype: str, config: str) -> None:
    labels, p, lengths = large_dataset(K, dtype)
    assert labels.shape[0] > 65536
    kwargs = large_kwargs(config, labels, p)
    want_flat = quiet(ref.find_label_issues_flat, labels, p, **kwargs)
    assert want_flat.shape[0] > 100
    want = np.array(to_pairs(want_flat, lengths), dtype=np.int64).reshape(-1, 2)
    answers = {n: quiet(engine_flat, labels, p, lengths, n_jobs=n, **kwargs) for n in (1, 2, None)}
    for n, got in answers.items():
        assert got.dtype == np.int64
        assert np.array_equal(got, want), f"n_jobs={n}: {first_difference(got, want)}"
    # the list API on the same data (numpy label arrays, in-place sentence views)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    sentences = [(offsets[i], offsets[i + 1]) for i in range(lengths.shape[0])]
    got_list = quiet(
        engine_list,
        [labels[a:b] for a, b in sentences],
        [p[a:b] for a, b in sentences],
        n_jobs=2,
        **kwargs,
    )
    assert np.array_equal(np.array(got_list, dtype=np.int64).reshape(-1, 2), want)


@pytest.mark.parametrize("config", ["default", "low-memory"])
def test_large_mixed_dtype_sentences(config: str) -> None:
    """float32 sentences with every fifth one float64: the flattened data is float64."""
    labels, p, lengths = large_dataset(9, "float32")
    kwargs = large_kwargs(config, labels, p)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    sentence_labels = [labels[offsets[i] : offsets[i + 1]] for i in range(lengths.shape[0])]
    sentence_probs = [
        p[offsets[i] : offsets[i + 1]].astype(np.float64 if i % 5 == 2 else np.float32)
        for i in range(lengths.shape[0])
    ]
    want = quiet(ref.find_label_issues, sentence_labels, sentence_probs, **kwargs)
    as32 = quiet(
        ref.find_label_issues,
        sentence_labels,
        [s.astype(np.float32) for s in sentence_probs],
        **kwargs,
    )
    assert want != as32, "the float64 sentences no longer matter"
    for n in (1, 2, None):
        got = quiet(engine_list, sentence_labels, sentence_probs, n_jobs=n, **kwargs)
        assert got == want, f"n_jobs={n}: {first_difference(np.array(got), np.array(want))}"


@pytest.mark.parametrize(
    ("layout", "config"),
    [
        ("F", "both-adjusted-remove"),
        ("F", "noise-rate-fortran-joint"),
        ("F", "confident-learning-entropy"),
        ("F", "predicted-neq-given-unranked"),
        ("C", "default"),
    ],
)
def test_large_multiclass_data(layout: str, config: str) -> None:
    """The multi-class path in place (column-major: sequential row sums), n_jobs 1, 2, default."""
    labels, p, _ = large_dataset(37, "float64")
    view = LAYOUTS[layout](p)
    kwargs = large_kwargs(config, labels, p)
    want = quiet(ref.find_label_issues_flat, labels, view, **kwargs)
    mask_wanted = kwargs.get("return_indices_ranked_by", "self_confidence") is None
    kwargs.setdefault("return_indices_ranked_by", "self_confidence")
    for n in (1, 2, None):
        got = quiet(engine_multiclass, labels, view, n_jobs=n, **kwargs)
        if mask_wanted:
            got = np.flatnonzero(got)
        assert np.array_equal(got, want), f"n_jobs={n}: {first_difference(got, want)}"


def quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def first_difference(got: np.ndarray, want: np.ndarray) -> str:
    n = min(len(got), len(want))
    diff = np.flatnonzero(np.any(got[:n].reshape(n, -1) != want[:n].reshape(n, -1), axis=1))
    where = int(diff[0]) if diff.shape[0] else n
    return (
        f"lengths {len(got)} vs {len(want)}; first difference at {where}: "
        f"{got[where : where + 3].tolist()} vs {want[where : where + 3].tolist()}"
    )


def test_prune_filters_constant_is_consistent() -> None:
    """The vocabulary of conftest and of the reference agree."""
    assert set(PRUNE_FILTERS) == set(ref.PRUNE_FILTERS)
    assert set(FILTER_BY) == set(ref.FILTER_METHODS)
    assert set(RANKINGS) == set(ref.SCORE_METHODS)


@pytest.mark.parametrize("seed", [0, 11, 23])
def test_fortran_confident_joint_sums_sequentially(seed: int) -> None:
    """A supplied Fortran-ordered confident joint makes numpy's (so cleanlab's) prune-count
    column sums sequential (K >= 9, frac_noise < 1); C order keeps them pairwise. The seeds
    give datasets where the two orders give different issues."""
    rng = np.random.default_rng([13, seed])
    K = int(rng.integers(9, 30))
    cj = rng.integers(0, 30, (K, K)) * (rng.random((K, K)) < 0.5)
    frac_noise = float(rng.choice([0.3, 0.77, 0.1]))
    labels = np.repeat(np.arange(K), np.maximum(cj.sum(axis=1), 2))
    p = rng.dirichlet(np.full(K, 0.5), labels.shape[0])
    cuts = np.arange(7, labels.shape[0], 7)
    sentence_labels = [s.tolist() for s in np.split(labels, cuts)]
    sentence_probs = np.split(p, cuts)
    answers: dict[str, list[list[int]]] = {"C": [], "F": []}
    for order in "CF":
        for filter_by in PRUNE_FILTERS:
            kwargs = {
                "filter_by": filter_by,
                "frac_noise": frac_noise,
                "confident_joint": np.asarray(cj, order=order),
                "return_indices_ranked_by": "normalized_margin",
            }
            want_flat = ref.find_label_issues_flat(labels, p, **kwargs)
            answers[order].append(want_flat.tolist())
            got_flat = quiet(engine_multiclass, labels, p, **kwargs)
            np.testing.assert_array_equal(got_flat, want_flat, err_msg=f"{order} {filter_by}")
            want = quiet(ref.find_label_issues, sentence_labels, sentence_probs, **kwargs)
            got = quiet(engine_list, sentence_labels, sentence_probs, **kwargs)
            assert got == want, (order, filter_by)
    assert answers["C"] != answers["F"], "the seed no longer separates C and F order"
