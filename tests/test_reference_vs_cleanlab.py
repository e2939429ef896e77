"""The pure-numpy reference equals cleanlab 2.9.0 with stable sorts, exactly.

Differential tests of ``python/tokenclean/reference.py`` against cleanlab made
deterministic by ``cleanlab_stable.py`` (SPEC section 1): same issues in the
same order, same helper arrays bit for bit, and where cleanlab raises, what
SPEC says the reference does instead.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from conftest import (
    CONLL_PATH,
    FILTER_BY,
    PRUNE_FILTERS,
    RANKINGS,
    assert_ranked_by_score,
    flat_datasets,
    flatten,
    kwargs_strategy,
    outcome,
    quietly,
    ragged_datasets,
    to_flat_index,
)

REPO = Path(__file__).resolve().parents[1]
REFERENCE_PATH = REPO / "python" / "tokenclean" / "reference.py"


def _load_reference() -> ModuleType:
    """Load reference.py from its path (works without the compiled package)."""
    name = "_tokenclean_reference_under_test"
    spec = importlib.util.spec_from_file_location(name, REFERENCE_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ref = _load_reference()

# The whole-function differential tests get a multiple of the profile's budget.
MORE = settings(max_examples=4 * settings.default.max_examples)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def bitwise_equal(a: Any, b: Any) -> bool:
    a = np.asarray(a)
    b = np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True)) and bool(
            np.array_equal(np.signbit(a), np.signbit(b))
        )
    return bool(np.array_equal(a, b))


def cleanlab_call_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    out = dict(kwargs)
    if not out.get("low_memory", False):
        out["n_jobs"] = 1
    return out


# ---------------------------------------------------------------------------
# the shim itself
# ---------------------------------------------------------------------------


def test_shim_makes_cleanlab_stable(cleanlab_stable: ModuleType) -> None:
    import cleanlab.filter
    import cleanlab.internal.util

    import cleanlab_stable as shim

    assert shim.is_patched()
    assert np.argsort is not shim.STABLE_NUMPY.argsort  # numpy itself untouched
    assert cleanlab.filter.np is shim.STABLE_NUMPY
    assert cleanlab.filter.np.ndarray is np.ndarray  # everything else forwarded
    assert shim.stable_cleanlab() is cleanlab_stable  # idempotent
    assert cleanlab.filter.np is shim.STABLE_NUMPY

    rng = np.random.default_rng(7)
    ties = np.round(rng.random(5000), 1)
    stable = np.argsort(ties, kind="stable")
    np.testing.assert_array_equal(cleanlab.filter.np.argsort(ties), stable)
    np.testing.assert_array_equal(
        cleanlab.internal.util.np.argsort(-ties), np.argsort(-ties, kind="stable")
    )

    # Tie-heavy token data: probabilities rounded to one decimal, float32.
    K, N = 5, 3000
    true = rng.integers(0, K, N)
    p = rng.dirichlet(np.ones(K), N)
    p[np.arange(N), true] += 1.0
    p = np.round(p / p.sum(1, keepdims=True), 1).astype(np.float32)
    labels = np.where(rng.random(N) < 0.2, rng.integers(0, K, N), true)
    cuts = np.arange(7, N, 7)
    sent_labels = [s.tolist() for s in np.split(labels, cuts)]
    sent_probs = np.split(p, cuts)
    for method in RANKINGS:
        for filter_by in FILTER_BY:
            got = quietly(
                cleanlab_stable.find_label_issues,
                sent_labels,
                sent_probs,
                return_indices_ranked_by=method,
                filter_by=filter_by,
                n_jobs=1,
            )
            want = ref.find_label_issues(
                sent_labels, sent_probs, return_indices_ranked_by=method, filter_by=filter_by
            )
            assert got == want, (method, filter_by)
            assert len(got) > 10
        got_lm = quietly(
            cleanlab_stable.find_label_issues,
            sent_labels,
            sent_probs,
            return_indices_ranked_by=method,
            low_memory=True,
        )
        want_lm = ref.find_label_issues(
            sent_labels, sent_probs, return_indices_ranked_by=method, low_memory=True
        )
        assert sorted(got_lm) == sorted(want_lm)


# ---------------------------------------------------------------------------
# whole-function differential tests
# ---------------------------------------------------------------------------


def check_token_level(
    cl_token_filter: ModuleType,
    labels: list[Any],
    pred_probs: list[np.ndarray],
    kwargs: dict[str, Any],
) -> None:
    """Reference vs stable cleanlab on token data, for one set of keywords."""
    ranked = kwargs.get("return_indices_ranked_by")
    low_memory = kwargs.get("low_memory", False)
    ours = outcome(ref.find_label_issues, labels, pred_probs, **kwargs)

    if ranked is None:
        # cleanlab raises here (TypeError; ValueError with low_memory). The reference
        # returns the issues in position order: cleanlab's self-confidence set, sorted.
        theirs_none = outcome(
            cl_token_filter.find_label_issues, labels, pred_probs, **cleanlab_call_kwargs(kwargs)
        )
        assert theirs_none[0] == "raised"
        kwargs = dict(kwargs, return_indices_ranked_by="self_confidence")
        kwargs.pop("rank_by_kwargs", None)

    theirs = outcome(
        cl_token_filter.find_label_issues, labels, pred_probs, **cleanlab_call_kwargs(kwargs)
    )
    if theirs[0] == "raised":
        event(f"cleanlab raised {type(theirs[1]).__name__}")
        assert ours[0] == "raised", f"cleanlab raised {theirs[1]!r}, reference returned"
        assert type(ours[1]) is type(theirs[1]), (ours[1], theirs[1])
        return
    assert ours[0] == "ok", f"reference raised {ours[1]!r}"
    got: list[tuple[int, int]] = ours[1]
    want: list[tuple[int, int]] = theirs[1]
    assert all(type(i) is int and type(j) is int for i, j in got)
    event("issues: " + ("0" if not want else "1-4" if len(want) < 5 else "5+"))

    if ranked is None:
        assert got == sorted(want)
    elif low_memory:
        # cleanlab returns the set in position order; ours is ranked by score.
        assert sorted(got) == sorted(want)
        flat_labels, flat_probs = flatten(labels, pred_probs)
        scores = ref.label_quality_scores(flat_labels, flat_probs, ranked)
        assert_ranked_by_score(to_flat_index(labels, got), scores)
    else:
        assert got == want


@MORE
@given(data=ragged_datasets(), draw=st.data())
def test_token_level_matches_cleanlab(
    cleanlab_stable: ModuleType, data: Any, draw: st.DataObject
) -> None:
    labels, pred_probs = data
    K = pred_probs[0].shape[1]
    kwargs = draw.draw(kwargs_strategy(K), label="kwargs")
    check_token_level(cleanlab_stable, labels, pred_probs, kwargs)


@given(
    data=ragged_datasets(max_classes=8, allow_out_of_range=True),
    ranked=st.sampled_from(RANKINGS),
    low_memory=st.booleans(),
)
def test_out_of_range_probabilities(
    cleanlab_stable: ModuleType, data: Any, ranked: str, low_memory: bool
) -> None:
    """Probabilities up to 1e-6 outside [0, 1] pass cleanlab's validation; the entropy
    score then raises ValueError in both."""
    labels, pred_probs = data
    kwargs: dict[str, Any] = {"return_indices_ranked_by": ranked}
    if low_memory:
        kwargs["low_memory"] = True
    check_token_level(cleanlab_stable, labels, pred_probs, kwargs)


@MORE
@given(data=flat_datasets(), fortran=st.booleans(), draw=st.data())
def test_multiclass_matches_cleanlab(
    cleanlab_stable: ModuleType, data: Any, fortran: bool, draw: st.DataObject
) -> None:
    """Also with column-major probabilities: numpy's row sums (entropy, adjusted
    probabilities) are then sequential, and the reference inherits that."""
    import cleanlab.filter

    labels, pred_probs = data
    if fortran:
        pred_probs = np.asfortranarray(pred_probs)
    K = pred_probs.shape[1]
    kwargs = draw.draw(kwargs_strategy(K, allow_low_memory=False), label="kwargs")
    ours = outcome(ref.find_label_issues_flat, labels, pred_probs, **kwargs)
    theirs = outcome(cleanlab.filter.find_label_issues, labels, pred_probs, n_jobs=1, **kwargs)
    if theirs[0] == "raised":
        assert ours[0] == "raised" and type(ours[1]) is type(theirs[1]), (ours, theirs)
        return
    assert ours[0] == "ok", ours
    want = theirs[1]
    if kwargs["return_indices_ranked_by"] is None:
        want = np.flatnonzero(want)  # cleanlab returns a mask here
    assert ours[1].dtype == np.int64
    np.testing.assert_array_equal(ours[1], want)


@MORE
@given(
    data=flat_datasets(max_classes=20),
    kind=st.sampled_from(["computed", "uncalibrated", "int", "float", "fortran"]),
    filter_by=st.sampled_from(FILTER_BY),
    ranked=st.sampled_from(RANKINGS),
    seed=st.integers(0, 2**32 - 1),
)
def test_confident_joint_argument(
    cleanlab_stable: ModuleType, data: Any, kind: str, filter_by: str, ranked: str, seed: int
) -> None:
    import cleanlab.count
    import cleanlab.filter

    labels, pred_probs = data
    K = pred_probs.shape[1]
    rng = np.random.default_rng(seed)
    if kind == "computed":
        cj = quietly(cleanlab.count.compute_confident_joint, labels, pred_probs)
    elif kind == "uncalibrated":
        cj = np.ascontiguousarray(
            quietly(cleanlab.count.compute_confident_joint, labels, pred_probs, calibrate=False)
        )
    elif kind == "int":
        cj = rng.integers(0, 12, size=(K, K)) * (rng.random((K, K)) < 0.6)
    elif kind == "float":
        cj = rng.random((K, K)) * 9 * (rng.random((K, K)) < 0.6)
    else:
        cj = np.asfortranarray(rng.integers(0, 12, size=(K, K)) * (rng.random((K, K)) < 0.6))
    kwargs: dict[str, Any] = {
        "filter_by": filter_by,
        "return_indices_ranked_by": ranked,
        "confident_joint": cj,
    }
    if rng.random() < 0.5:
        kwargs["frac_noise"] = float(rng.choice([0.3, 0.55, 0.9]))
    ours = outcome(ref.find_label_issues_flat, labels, pred_probs, **kwargs)
    theirs = outcome(cleanlab.filter.find_label_issues, labels, pred_probs, n_jobs=1, **kwargs)
    if theirs[0] == "raised":
        assert ours[0] == "raised" and type(ours[1]) is type(theirs[1]), (ours, theirs)
        return
    assert ours[0] == "ok", ours
    np.testing.assert_array_equal(ours[1], theirs[1])


# ---------------------------------------------------------------------------
# helpers, one by one
# ---------------------------------------------------------------------------


@given(data=flat_datasets())
def test_thresholds_and_confident_joint(cleanlab_stable: ModuleType, data: Any) -> None:
    import cleanlab.count

    labels, pred_probs = data
    K = pred_probs.shape[1]
    t_ref = ref.confident_thresholds(labels, pred_probs, K)
    t_cl = cleanlab.count.get_confident_thresholds(labels, pred_probs)
    assert bitwise_equal(t_ref, t_cl), (t_ref, t_cl)
    all_present = np.unique(labels).shape[0] == K
    assert t_ref.dtype == (pred_probs.dtype if all_present else np.float64)

    for calibrate in (True, False):
        cj_ref, off_ref = ref.confident_joint(labels, pred_probs, calibrate=calibrate)
        cj_cl, off_cl = quietly(
            cleanlab.count.compute_confident_joint,
            labels,
            pred_probs,
            calibrate=calibrate,
            return_indices_of_off_diagonals=True,
        )
        assert bitwise_equal(cj_ref, np.asarray(cj_cl, dtype=np.int64))
        np.testing.assert_array_equal(off_ref, off_cl)
        if not calibrate:
            # cleanlab's uncalibrated joint is a transposed (column-major) array,
            # as on its default path
            calibrated = quietly(cleanlab.count.calibrate_confident_joint, cj_cl, labels)
            assert bitwise_equal(
                ref.calibrate_confident_joint(cj_ref, labels),
                np.asarray(calibrated, dtype=np.int64),
            )

    assert ref.num_label_issues_off_diagonal(labels, pred_probs) == quietly(
        cleanlab.count.num_label_issues, labels, pred_probs
    )
    np.testing.assert_array_equal(
        ref.reduce_issues_mask(labels, pred_probs),
        cleanlab.count._reduce_issues(pred_probs, labels),
    )


@given(data=flat_datasets(), method=st.sampled_from(RANKINGS), adjust=st.booleans())
def test_label_quality_scores(
    cleanlab_stable: ModuleType, data: Any, method: str, adjust: bool
) -> None:
    import cleanlab.rank

    labels, pred_probs = data
    ours = outcome(ref.label_quality_scores, labels, pred_probs, method, adjust)
    theirs = outcome(
        cleanlab.rank.get_label_quality_scores,
        labels,
        pred_probs,
        method=method,
        adjust_pred_probs=adjust,
    )
    assert ours[0] == theirs[0], (ours, theirs)
    if theirs[0] == "raised":
        assert type(ours[1]) is type(theirs[1])
    else:
        assert bitwise_equal(ours[1], theirs[1])


@given(
    values=st.lists(
        st.one_of(
            st.sampled_from([0.5, 1.5, 2.5, 0.25, 0.75, 3.5, 0.0]),
            st.floats(0, 50, allow_nan=False, allow_subnormal=False),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_round_preserving_sum(cleanlab_stable: ModuleType, values: list[float]) -> None:
    import cleanlab.internal.util

    ours = ref.round_preserving_sum(values)
    theirs = cleanlab.internal.util.round_preserving_sum(values)
    assert bitwise_equal(ours, np.asarray(theirs, dtype=np.int64))
    matrix = np.array(values * 3).reshape(3, -1)
    np.testing.assert_array_equal(
        ref.round_preserving_row_totals(matrix),
        cleanlab.internal.util.round_preserving_row_totals(matrix),
    )


def test_round_preserving_sum_ties_go_to_later_positions() -> None:
    np.testing.assert_array_equal(ref.round_preserving_sum([0.5, 0.5, 0.5, 0.5]), [0, 0, 1, 1])
    # 4.5 rounds (half to even) to 4: two of [2, 2, 2] step down, earlier positions first
    np.testing.assert_array_equal(ref.round_preserving_sum([1.5, 1.5, 1.5]), [1, 1, 2])


@given(
    K=st.integers(2, 30),
    n=st.sampled_from([0, 1, 2, 5]),
    frac_noise=st.sampled_from([1.0, 0.0, 0.3, 0.5, 0.77]),
    seed=st.integers(0, 2**32 - 1),
)
def test_prune_count_matrix(
    cleanlab_stable: ModuleType, K: int, n: int, frac_noise: float, seed: int
) -> None:
    import cleanlab.filter

    rng = np.random.default_rng(seed)
    cj = rng.integers(0, 30, size=(K, K)) * (rng.random((K, K)) < 0.5)
    counts = cj.sum(axis=1)
    ours = ref.prune_count_matrix(cj, counts, n, frac_noise)
    theirs = cleanlab.filter._keep_at_least_n_per_class(cj.T, n, frac_noise=frac_noise)
    assert bitwise_equal(ours, np.asarray(theirs, dtype=np.int64))


def test_prune_counts_of_fortran_joint_sum_rows_sequentially(cleanlab_stable: ModuleType) -> None:
    """A Fortran-ordered confident joint makes numpy's column sums sequential."""
    import cleanlab.filter

    keep = cleanlab.filter._keep_at_least_n_per_class
    differs = 0
    for seed in range(60):
        rng = np.random.default_rng([13, seed])
        K = int(rng.integers(9, 30))
        cj = rng.integers(0, 30, (K, K)) * (rng.random((K, K)) < 0.5)
        for frac_noise in (0.3, 0.77, 0.1):
            pairwise = ref.prune_count_matrix(cj, cj.sum(1), 1, frac_noise)
            sequential = ref.prune_count_matrix(
                cj, cj.sum(1), 1, frac_noise, column_sums="sequential"
            )
            differs += not np.array_equal(pairwise, sequential)
            c_order = keep(np.ascontiguousarray(cj).T, 1, frac_noise=frac_noise)
            f_order = keep(np.asfortranarray(cj).T, 1, frac_noise=frac_noise)
            np.testing.assert_array_equal(c_order, pairwise)
            np.testing.assert_array_equal(f_order, sequential)
    assert differs > 0


def test_prune_counts_truncate() -> None:
    # one column [0, 5, 3, 2] with a zero diagonal: the raise of 1 is spread over
    # 3 entries and the results are truncated, not rounded
    cj = np.zeros((4, 4), dtype=np.int64)
    cj[0] = [0, 5, 3, 2]  # cj.T column 0
    pcm = ref.prune_count_matrix(cj, cj.sum(axis=1), 1, 1.0)
    np.testing.assert_array_equal(pcm[:, 0], [1, 4, 2, 1])


# ---------------------------------------------------------------------------
# real data: CoNLL-2003 test set
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conll() -> Any:
    if not CONLL_PATH.exists():
        pytest.skip(f"{CONLL_PATH} not available")
    return np.load(CONLL_PATH)


def _conll_sentences(conll: Any, key: str) -> tuple[list[list[int]], list[np.ndarray]]:
    cuts = np.cumsum(conll["lengths"])[:-1]
    labels = [s.tolist() for s in np.split(conll["labels_flat"], cuts)]
    pred_probs = np.split(conll[key], cuts)
    return labels, pred_probs


@pytest.mark.parametrize("key", ["pred_probs_flat", "pred_probs_joint_flat"])
@pytest.mark.parametrize("ranked", RANKINGS)
def test_conll2003_matches_cleanlab(
    cleanlab_stable: ModuleType, conll: Any, key: str, ranked: str
) -> None:
    labels, pred_probs = _conll_sentences(conll, key)
    want = quietly(
        cleanlab_stable.find_label_issues,
        labels,
        pred_probs,
        return_indices_ranked_by=ranked,
        n_jobs=1,
    )
    got = ref.find_label_issues(labels, pred_probs, return_indices_ranked_by=ranked)
    assert got == want
    assert len(got) > 200

    want_lm = quietly(
        cleanlab_stable.find_label_issues,
        labels,
        pred_probs,
        return_indices_ranked_by=ranked,
        low_memory=True,
    )
    got_lm = ref.find_label_issues(
        labels, pred_probs, return_indices_ranked_by=ranked, low_memory=True
    )
    assert sorted(got_lm) == sorted(want_lm)
    flat_labels, flat_probs = flatten(labels, pred_probs)
    scores = ref.label_quality_scores(flat_labels, flat_probs, ranked)
    assert_ranked_by_score(to_flat_index(labels, got_lm), scores)


@pytest.mark.parametrize("filter_by", FILTER_BY)
def test_conll2003_filters(cleanlab_stable: ModuleType, conll: Any, filter_by: str) -> None:
    labels, pred_probs = _conll_sentences(conll, "pred_probs_flat")
    extra: dict[str, Any] = {}
    if filter_by in PRUNE_FILTERS:
        extra = {"frac_noise": 0.6, "min_examples_per_class": 3}
    want = quietly(
        cleanlab_stable.find_label_issues,
        labels,
        pred_probs,
        filter_by=filter_by,
        return_indices_ranked_by="normalized_margin",
        rank_by_kwargs={"adjust_pred_probs": True},
        n_jobs=1,
        **extra,
    )
    got = ref.find_label_issues(
        labels,
        pred_probs,
        filter_by=filter_by,
        return_indices_ranked_by="normalized_margin",
        rank_by_kwargs={"adjust_pred_probs": True},
        **extra,
    )
    assert got == want
    unranked = ref.find_label_issues(
        labels, pred_probs, filter_by=filter_by, return_indices_ranked_by=None, **extra
    )
    assert unranked == sorted(want)


def test_conll2003_float64_and_mixed(cleanlab_stable: ModuleType, conll: Any) -> None:
    labels, pred_probs = _conll_sentences(conll, "pred_probs_joint_flat")
    as64 = [s.astype(np.float64) for s in pred_probs]
    mixed = [s if i % 2 else s.astype(np.float64) for i, s in enumerate(pred_probs)]
    for data in (as64, mixed):
        want = quietly(cleanlab_stable.find_label_issues, labels, data, n_jobs=1)
        assert ref.find_label_issues(labels, data) == want


# ---------------------------------------------------------------------------
# numerics quirks, each pinned by an input where the obvious alternative differs
# ---------------------------------------------------------------------------


def _synthetic(
    rng: np.random.Generator, N: int, K: int, *, flip: float, decimals: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Softmax rows boosted on a true class; ``flip`` of the labels redrawn."""
    true = rng.integers(0, K, N)
    logits = rng.normal(0, 1.5, (N, K))
    logits[np.arange(N), true] += rng.uniform(0, 4, N)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    if decimals is not None:
        p = np.round(p, decimals)
    labels = np.where(rng.random(N) < flip, rng.integers(0, K, N), true)
    return labels, p


def test_calibration_total_is_summed_in_memory_order(cleanlab_stable: ModuleType) -> None:
    import cleanlab.count

    differs = 0
    for seed in range(150):
        rng = np.random.default_rng([11, seed])
        K = int(rng.integers(3, 12))
        cj = rng.integers(0, 40, (K, K)) * (rng.random((K, K)) < 0.5)
        np.fill_diagonal(cj, np.maximum(cj.diagonal(), 1))
        labels = np.repeat(np.arange(K), rng.integers(1, 200, K))
        col_major = ref.calibrate_confident_joint(cj, labels)
        row_major = ref.calibrate_confident_joint(cj, labels, total_order="C")
        differs += not np.array_equal(col_major, row_major)
        F = cleanlab.count.calibrate_confident_joint(np.asfortranarray(cj), labels)
        C = cleanlab.count.calibrate_confident_joint(np.ascontiguousarray(cj), labels)
        np.testing.assert_array_equal(col_major, F)
        np.testing.assert_array_equal(row_major, C)
    assert differs > 0


@pytest.mark.parametrize("seed", [23, 41, 143])
def test_calibration_order_end_to_end(cleanlab_stable: ModuleType, seed: int) -> None:
    """Datasets where a row-major calibration total changes the issues found."""
    import cleanlab.filter

    rng = np.random.default_rng([5, seed])
    K = int(rng.integers(3, 15))
    N = int(rng.integers(20, 300))
    labels, p = _synthetic(rng, N, K, flip=0.2)
    p = p.astype(np.float32)
    want = quietly(
        cleanlab.filter.find_label_issues,
        labels,
        p,
        return_indices_ranked_by="self_confidence",
        n_jobs=1,
    )
    np.testing.assert_array_equal(ref.find_label_issues_flat(labels, p), want)
    # the same data with the confident joint calibrated row-major gives another answer
    cj_rows = ref.calibrate_confident_joint(
        ref.confident_joint(labels, p, calibrate=False)[0], labels, total_order="C"
    )
    other = ref.find_label_issues_flat(labels, p, confident_joint=cj_rows)
    assert not np.array_equal(other, want)


@pytest.mark.parametrize("seed", [9746, 10468])
def test_num_to_remove_row_sums_are_pairwise(cleanlab_stable: ModuleType, seed: int) -> None:
    """K >= 9: the noise row sums of the num_to_remove_per_class rescaling are
    pairwise sums (a sequential sum changes the answer on these inputs)."""
    import cleanlab.count
    import cleanlab.filter

    rng = np.random.default_rng([6, seed])
    K = int(rng.integers(9, 20))
    N = int(rng.integers(100, 400))
    labels, p = _synthetic(rng, N, K, flip=0.4)
    p = p.astype(np.float32)
    quietly(cleanlab.count.compute_confident_joint, labels, p)  # same draws as the search
    remove = rng.integers(0, 6, K).tolist()
    kwargs = {"filter_by": "prune_by_noise_rate", "num_to_remove_per_class": remove}
    want = quietly(
        cleanlab.filter.find_label_issues,
        labels,
        p,
        return_indices_ranked_by="self_confidence",
        n_jobs=1,
        **kwargs,
    )
    np.testing.assert_array_equal(quietly(ref.find_label_issues_flat, labels, p, **kwargs), want)


def test_threshold_cut_is_float32_when_all_classes_present(cleanlab_stable: ModuleType) -> None:
    f32 = np.float32
    base = np.array([0.64347243, 0.6434724, 0.64347246, 0.6434725], dtype=f32)
    t0 = np.mean(base)
    v = t0 - f32(1e-6)  # on the float32 cut
    assert np.float64(v) < np.float64(t0) - 1e-6  # below the float64 cut
    rows = [[b, 1 - b] for b in base] + [[0.1, 0.9], [0.05, 0.95], [v, 1 - v]]
    p = np.array(rows, dtype=f32)
    labels = np.array([0, 0, 0, 0, 1, 1, 1])
    import cleanlab.filter

    for dtype in (np.float32, np.float64):
        want = quietly(
            cleanlab.filter.find_label_issues,
            labels,
            p.astype(dtype),
            filter_by="confident_learning",
            return_indices_ranked_by="self_confidence",
            n_jobs=1,
        )
        got = ref.find_label_issues_flat(labels, p.astype(dtype), filter_by="confident_learning")
        np.testing.assert_array_equal(got, want)
        assert (6 in got) == (dtype == np.float32)


def test_keep_step_adds_in_input_dtype(cleanlab_stable: ModuleType) -> None:
    import cleanlab.count
    import cleanlab.filter

    f32 = np.float32
    a = f32(0.4358176)
    b = f32(a + f32(1e-6))  # equal in float32, smaller than a + 1e-6 in float64
    p = np.array([[a, b, 1 - a - b], [0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.1, 0.1, 0.8]], f32)
    labels = np.array([0, 1, 0, 2])
    for dtype, kept in ((np.float32, True), (np.float64, False)):
        q = p.astype(dtype)
        mask = ref.reduce_issues_mask(labels, q)
        np.testing.assert_array_equal(mask, cleanlab.count._reduce_issues(q, labels))
        assert bool(mask[0]) is kept
        want = quietly(
            cleanlab.filter.find_label_issues,
            labels,
            q,
            filter_by="predicted_neq_given",
            return_indices_ranked_by="self_confidence",
            n_jobs=1,
        )
        np.testing.assert_array_equal(
            ref.find_label_issues_flat(labels, q, filter_by="predicted_neq_given"), want
        )


def test_single_token_class_is_never_pruned(cleanlab_stable: ModuleType) -> None:
    """min_examples_per_class=0 lets the prune step flag a class's only token, but
    that per-class result is discarded."""
    import cleanlab.filter

    p = np.array(
        [[0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1], [0.9, 0.05, 0.05]]
    )
    labels = np.array([0, 0, 1, 1, 2])  # class 2: one token, predicted 0
    cj = np.array([[2, 0, 0], [0, 2, 0], [5, 0, 0]])
    for filter_by in PRUNE_FILTERS:
        kwargs = {"filter_by": filter_by, "min_examples_per_class": 0, "confident_joint": cj}
        want = quietly(
            cleanlab.filter.find_label_issues,
            labels,
            p,
            return_indices_ranked_by="self_confidence",
            n_jobs=1,
            **kwargs,
        )
        got = ref.find_label_issues_flat(labels, p, **kwargs)
        np.testing.assert_array_equal(got, want)
        assert 4 not in got
    pcm = ref.prune_count_matrix(cj, [2, 2, 1], 0, 1.0)
    assert pcm[0, 2] == 5 and pcm[2, 2] == 0  # the prune step itself would flag token 4


def test_low_memory_unseen_class_threshold_is_floored(cleanlab_stable: ModuleType) -> None:
    """A class no token carries gets the 2e-6 floor in the batched thresholds (not 2,
    not 0): a near-zero row predicting it is then not counted."""
    rng = np.random.default_rng(3)
    labels, p = _synthetic(rng, 300, 3, flip=0.25)
    p = np.concatenate([p, np.zeros((300, 1))], axis=1)  # class 3: never labelled
    p[:40] = [1e-7, 2e-7, 1e-7, 5e-7]  # argmax 3 at 5e-7 < 2e-6 - 1e-6
    labels[:40] = 0
    sentences = [labels[i : i + 6].tolist() for i in range(0, 300, 6)]
    probs = [p[i : i + 6] for i in range(0, 300, 6)]
    for method in RANKINGS:
        want = quietly(
            cleanlab_stable.find_label_issues,
            sentences,
            probs,
            return_indices_ranked_by=method,
            low_memory=True,
        )
        got = ref.find_label_issues(
            sentences, probs, return_indices_ranked_by=method, low_memory=True
        )
        assert sorted(got) == sorted(want)
    predicted = p.argmax(1)
    counted = (predicted != labels) & (p[np.arange(300), predicted] >= 2e-6 - 1e-6)
    assert not counted[:40].any()


def test_cwe_floor_on_self_confidence_is_in_input_dtype(cleanlab_stable: ModuleType) -> None:
    import cleanlab.rank

    p = np.array([[0.0, 0.7, 0.3], [0.2, 0.8, 0.0]], dtype=np.float32)
    labels = np.array([0, 1])
    ours = ref.label_quality_scores(labels, p, "confidence_weighted_entropy")
    theirs = cleanlab.rank.get_label_quality_scores(labels, p, method="confidence_weighted_entropy")
    assert bitwise_equal(ours, theirs)
    assert ours.dtype == np.float64
    # flooring at float64 1e-6 instead of float32(1e-6) changes the first score
    e = ref.label_quality_scores(labels, p.astype(np.float64), "confidence_weighted_entropy")
    assert e[0] != ours[0]


def test_empty_sentences_do_not_promote_dtype(cleanlab_stable: ModuleType) -> None:
    """cleanlab flattens rows, so an empty float64 sentence leaves float32 data float32."""
    rng = np.random.default_rng([7, 0])
    K = int(rng.integers(2, 10))
    N = int(rng.integers(50, 300))
    labels, p = _synthetic(rng, N, K, flip=0.3, decimals=int(rng.integers(1, 3)))
    p32 = p.astype(np.float32)
    cuts = np.arange(5, N, 5)
    sent_labels = [s.tolist() for s in np.split(labels, cuts)]
    sent_probs = np.split(p32, cuts)
    sent_labels = [*sent_labels[:3], [], *sent_labels[3:]]
    sent_probs = [*sent_probs[:3], np.zeros((0, K)), *sent_probs[3:]]
    method = "normalized_margin"
    want = quietly(
        cleanlab_stable.find_label_issues,
        sent_labels,
        sent_probs,
        return_indices_ranked_by=method,
        n_jobs=1,
    )
    assert ref.find_label_issues(sent_labels, sent_probs, return_indices_ranked_by=method) == want
    as64 = [s.astype(np.float64) for s in sent_probs]
    assert ref.find_label_issues(sent_labels, as64, return_indices_ranked_by=method) != want


# ---------------------------------------------------------------------------
# the batched (low_memory) algorithm, piece by piece
# ---------------------------------------------------------------------------


def _label_inspector(labels: np.ndarray, p: np.ndarray, batch_size: int) -> tuple[Any, int]:
    """cleanlab's batched thresholds and issue count, fed ``batch_size`` at a time."""
    from cleanlab.experimental.label_issues_batched import LabelInspector

    lab = LabelInspector(num_class=p.shape[1], verbose=False, n_jobs=1)
    for start in range(0, len(labels), batch_size):
        lab.update_confident_thresholds(
            labels[start : start + batch_size], p[start : start + batch_size]
        )
    for start in range(0, len(labels), batch_size):
        lab.score_label_quality(labels[start : start + batch_size], p[start : start + batch_size])
    return lab.get_confident_thresholds(silent=True), int(lab.get_num_issues(silent=True))


@given(data=flat_datasets(), batch_size=st.sampled_from([3, 7, 50, 10_000]))
def test_low_memory_thresholds_and_count(
    cleanlab_stable: ModuleType, data: Any, batch_size: int
) -> None:
    labels, p = data
    thresholds, count = quietly(_label_inspector, labels, p, batch_size)
    ours = ref.low_memory_thresholds(labels, p, batch_size)
    assert bitwise_equal(ours, thresholds)
    assert ref.low_memory_num_issues(labels, p, ours) == count


@pytest.mark.parametrize("key", ["pred_probs_flat", "pred_probs_joint_flat"])
def test_conll2003_low_memory_thresholds(cleanlab_stable: ModuleType, conll: Any, key: str) -> None:
    labels = conll["labels_flat"].astype(np.int64)
    p = conll[key]
    thresholds, count = quietly(_label_inspector, labels, p, 10_000)
    ours = ref.low_memory_thresholds(labels, p)
    assert bitwise_equal(ours, thresholds)
    assert ref.low_memory_num_issues(labels, p, ours) == count
    # batches matter: one batch, or float64 means, give other thresholds
    assert not bitwise_equal(ref.low_memory_thresholds(labels, p, len(labels)), ours)
    assert not bitwise_equal(ref.low_memory_thresholds(labels, p.astype(np.float64)), ours)


def test_low_memory_count_compares_in_float64(cleanlab_stable: ModuleType) -> None:
    """The count compares float32 probabilities with float64 ``t - 1e-6``."""
    rng = np.random.default_rng(17)
    labels, p = _synthetic(rng, 400, 3, flip=0.1)
    p = p.astype(np.float32)
    for _ in range(200):  # nudge the data until float32(cut) < cut
        cut = ref.low_memory_thresholds(labels, p)[0] - 1e-6
        if np.float64(np.float32(cut)) < cut:
            break
        i = int(rng.choice(np.flatnonzero(labels == 0)))
        p[i, 0] = np.nextafter(p[i, 0], np.float32(0))
    v = np.float32(cut)
    assert v >= np.float32(cut) and not np.float64(v) >= cut
    boundary = np.array([[v, v / 2, 0.0]], dtype=np.float32)  # argmax 0, labelled 1
    labels = np.concatenate([labels, [1]])
    p = np.concatenate([p, boundary])
    _thresholds, count = quietly(_label_inspector, labels, p, 10_000)
    assert ref.low_memory_num_issues(labels, p, ref.low_memory_thresholds(labels, p)) == count
    sentences = [labels[i : i + 5].tolist() for i in range(0, len(labels), 5)]
    probs = [p[i : i + 5] for i in range(0, len(labels), 5)]
    want = quietly(cleanlab_stable.find_label_issues, sentences, probs, low_memory=True)
    assert sorted(ref.find_label_issues(sentences, probs, low_memory=True)) == sorted(want)


def test_low_filters_do_not_unflag(cleanlab_stable: ModuleType) -> None:
    """low_self_confidence / low_normalized_margin keep tokens the model agrees with."""
    import cleanlab.filter

    K = 10
    flat = np.full((30, K), (1 - 0.12) / (K - 1))
    uncertain_labels = np.arange(30) % K
    flat[np.arange(30), uncertain_labels] = 0.12
    sure = np.full((60, K), 0.1 / (K - 1))
    sure_labels = np.arange(60) % K
    sure[np.arange(60), sure_labels] = 0.9
    wrong = np.full((10, K), 0.05 / (K - 2))
    wrong[:, 0] = 0.3
    wrong[:, 1] = 0.65
    p = np.concatenate([flat, sure, wrong])
    labels = np.concatenate([uncertain_labels, sure_labels, np.zeros(10, dtype=int)])
    for filter_by in ("low_self_confidence", "low_normalized_margin"):
        want = quietly(
            cleanlab.filter.find_label_issues,
            labels,
            p,
            filter_by=filter_by,
            return_indices_ranked_by="self_confidence",
            n_jobs=1,
        )
        got = ref.find_label_issues_flat(labels, p, filter_by=filter_by)
        np.testing.assert_array_equal(got, want)
        if filter_by == "low_self_confidence":  # the 10 lowest: argmax == label
            assert ref.reduce_issues_mask(labels, p)[got].all()


def test_class_with_exactly_min_examples_is_skipped(cleanlab_stable: ModuleType) -> None:
    import cleanlab.filter

    p = np.array([[0.9, 0.05, 0.05]] * 4 + [[0.05, 0.9, 0.05]] * 4 + [[0.8, 0.1, 0.1]] * 3)
    labels = np.array([0] * 4 + [1] * 4 + [2] * 3)
    cj = np.array([[4, 0, 0], [0, 4, 0], [6, 0, 1]])
    for min_examples, flagged in ((3, False), (2, True)):
        kwargs = {
            "filter_by": "prune_by_noise_rate",
            "min_examples_per_class": min_examples,
            "confident_joint": cj,
        }
        want = quietly(
            cleanlab.filter.find_label_issues,
            labels,
            p,
            return_indices_ranked_by="self_confidence",
            n_jobs=1,
            **kwargs,
        )
        got = ref.find_label_issues_flat(labels, p, **kwargs)
        np.testing.assert_array_equal(got, want)
        assert (8 in got) is flagged
