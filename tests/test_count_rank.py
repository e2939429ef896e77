"""``tokenclean.count`` and ``tokenclean.rank`` against cleanlab 2.9.0 made stable.

Every function and argument combination is compared with cleanlab on generated data (float32
and float64, missing classes, ties from rounded probabilities, unnormalised rows, several
memory layouts): same values bit for bit, same dtypes, same return types. Small hand-made
examples with known answers and the error paths follow.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import warnings
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import RANKINGS, flat_datasets
from tokenclean import count, rank

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cl(cleanlab_stable: Any) -> SimpleNamespace:
    """cleanlab's ``count`` and ``rank`` modules, patched for stable sorting."""
    import cleanlab.count
    import cleanlab.rank

    return SimpleNamespace(count=cleanlab.count, rank=cleanlab.rank)


def quietly(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` with warnings and printed output suppressed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.redirect_stdout(io.StringIO()):
            return fn(*args, **kwargs)


def assert_identical(ours: Any, theirs: Any, where: object = None) -> None:
    """Same type, dtype, shape and values (NaN equal to NaN, -0.0 distinct from 0.0).

    Byte order is not compared: for big-endian input cleanlab's plain indexing keeps it, our
    results are always native.
    """
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=False):
            assert_identical(a, b, where)
        return
    assert type(ours) is type(theirs), (where, type(ours), type(theirs))
    a, b = np.asarray(ours), np.asarray(theirs)
    assert a.dtype == b.dtype.newbyteorder("="), (where, a.dtype, b.dtype)
    assert a.shape == b.shape, (where, a.shape, b.shape)
    if a.dtype.kind == "f":
        assert np.array_equal(a, b, equal_nan=True), (where, a, b)
        assert np.array_equal(np.signbit(a), np.signbit(b)), where
    else:
        assert np.array_equal(a, b), (where, a, b)


def present_classes(labels: np.ndarray) -> int:
    return int(np.unique(labels).size)


DATA = flat_datasets(max_classes=25, max_sentences=30, max_len=12)

# ---------------------------------------------------------------------------
# count: differential
# ---------------------------------------------------------------------------


@given(DATA)
def test_confident_thresholds_match(cl: SimpleNamespace, data: Any) -> None:
    labels, probs = data
    assert_identical(
        count.get_confident_thresholds(labels, probs),
        cl.count.get_confident_thresholds(labels, probs),
    )


@given(DATA, st.booleans(), st.booleans())
def test_confident_joint_matches(
    cl: SimpleNamespace, data: Any, calibrate: bool, with_indices: bool
) -> None:
    labels, probs = data
    kw = {"calibrate": calibrate, "return_indices_of_off_diagonals": with_indices}
    ours = count.compute_confident_joint(labels, probs, **kw)
    theirs = cl.count.compute_confident_joint(labels, probs, **kw)
    assert_identical(ours, theirs)
    if not calibrate:
        # Same memory layout too, which decides how a later calibration sums the matrix.
        matrix = ours[0] if with_indices else ours
        expected = theirs[0] if with_indices else theirs
        assert matrix.flags.f_contiguous == expected.flags.f_contiguous


def test_confident_joint_without_confident_tokens_is_row_major(cl: SimpleNamespace) -> None:
    # No token reaches a threshold: cleanlab starts from a row-major zero matrix there, not
    # from a transpose, and the layout decides a later calibration's sum order.
    labels = np.array([11, 9])
    probs = np.zeros((2, 17), dtype=np.float32)
    probs[0, 4] = 1.0
    probs[1, [2, 6, 10, 12, 14]] = [0.1, 0.4, 0.1, 0.2, 0.1]
    ours = count.compute_confident_joint(labels, probs, calibrate=False)
    theirs = cl.count.compute_confident_joint(labels, probs, calibrate=False)
    assert_identical(ours, theirs)
    assert ours.flags.c_contiguous and not ours.flags.f_contiguous
    assert theirs.flags.c_contiguous


@given(DATA, st.sampled_from(["float32", "float64", "list", "int", "column"]), st.integers(0, 9))
def test_confident_joint_with_thresholds_matches(
    cl: SimpleNamespace, data: Any, kind: str, seed: int
) -> None:
    labels, probs = data
    rng = np.random.default_rng(seed)
    K = probs.shape[1]
    values = np.round(rng.random(K), int(rng.integers(1, 4)))
    # Thresholds equal to some probabilities exercise the 1e-6 slack in both dtypes.
    values[: K // 2] = probs[rng.integers(0, len(probs), K // 2), np.arange(K // 2)]
    thresholds: Any = {
        "float32": values.astype(np.float32),
        "float64": values,
        "list": values.tolist(),
        "int": (values > 0.5).astype(np.int64),
        "column": values.astype(np.float32),
    }[kind]
    for calibrate in (False, True):
        ours = count.compute_confident_joint(
            labels,
            probs,
            thresholds=thresholds.reshape(K, 1) if kind == "column" else thresholds,
            calibrate=calibrate,
            return_indices_of_off_diagonals=True,
        )
        theirs = cl.count.compute_confident_joint(
            labels,
            probs,
            thresholds=thresholds,
            calibrate=calibrate,
            return_indices_of_off_diagonals=True,
        )
        assert_identical(ours, theirs)


def _joint_variants(cj: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The same confident joint in dtypes and layouts whose numpy sums differ."""
    halves = np.round(cj * rng.choice([0.5, 1.5, 2.5])) / 2  # x.5 entries: rounding ties
    return {
        "fortran int64 (cleanlab's own)": cj,
        "C int64": np.ascontiguousarray(cj),
        "C int32": np.ascontiguousarray(cj, dtype=np.int32),
        "strided view": np.repeat(np.ascontiguousarray(cj), 2, axis=1)[:, ::2],
        "C float64": np.ascontiguousarray(cj) * 1.37,
        "fortran float64": np.asfortranarray(cj * 0.73),
        "C float32": np.ascontiguousarray(cj * 0.91, dtype=np.float32),
        "half-integers": np.ascontiguousarray(halves),
        "bool": np.ascontiguousarray(cj > 1),
    }


@given(DATA, st.integers(0, 2**32 - 1))
def test_calibrate_estimate_and_custom_count_match(
    cl: SimpleNamespace, data: Any, seed: int
) -> None:
    labels, probs = data
    rng = np.random.default_rng(seed)
    cj = quietly(cl.count.compute_confident_joint, labels, probs, calibrate=False)
    for name, matrix in _joint_variants(cj, rng).items():
        assert_identical(
            count.calibrate_confident_joint(matrix, labels),
            cl.count.calibrate_confident_joint(matrix, labels),
            where=name,
        )
        assert_identical(
            count.estimate_joint(labels, probs, confident_joint=matrix),
            cl.count.estimate_joint(labels, probs, confident_joint=matrix),
            where=name,
        )
        assert_identical(
            count.estimate_joint(None, None, confident_joint=matrix),
            cl.count.estimate_joint(None, None, confident_joint=matrix),
            where=name,
        )
        assert_identical(
            count.num_label_issues(
                labels, probs, confident_joint=matrix, estimation_method="off_diagonal_custom"
            ),
            cl.count.num_label_issues(
                labels, probs, confident_joint=matrix, estimation_method="off_diagonal_custom"
            ),
            where=name,
        )


@given(DATA)
def test_estimate_joint_and_num_label_issues_match(cl: SimpleNamespace, data: Any) -> None:
    labels, probs = data
    assert_identical(count.estimate_joint(labels, probs), cl.count.estimate_joint(labels, probs))
    for method in ("off_diagonal", "off_diagonal_calibrated"):
        assert_identical(
            count.num_label_issues(labels, probs, estimation_method=method),
            cl.count.num_label_issues(labels, probs, estimation_method=method),
        )


@given(
    st.integers(1, 12),
    st.integers(0, 400),
    st.sampled_from([0.5, 0.25, 0.1, 1 / 3]),
    st.integers(0, 2**32 - 1),
)
@settings(max_examples=40)
def test_calibration_rounding_ties_match(
    cl: SimpleNamespace, K: int, N: int, step: float, seed: int
) -> None:
    """Confident joints whose scaled entries land on .5: the row-rounding tie-breaks."""
    rng = np.random.default_rng(seed)
    N = max(N, K)
    labels = np.concatenate([np.arange(K), rng.integers(0, K, N - K)])
    cj = np.round(rng.integers(0, 9, (K, K)) / step) * step
    for matrix in (cj, np.asfortranarray(cj), cj.astype(np.int64)):
        assert_identical(
            count.calibrate_confident_joint(matrix, labels),
            cl.count.calibrate_confident_joint(matrix, labels),
        )


# ---------------------------------------------------------------------------
# rank: differential
# ---------------------------------------------------------------------------


@given(DATA, st.sampled_from(RANKINGS), st.booleans())
def test_label_quality_scores_match(
    cl: SimpleNamespace, data: Any, method: str, adjust: bool
) -> None:
    labels, probs = data
    kw = {"method": method, "adjust_pred_probs": adjust}
    if adjust and method == "confidence_weighted_entropy":
        with pytest.raises(ValueError):
            rank.get_label_quality_scores(labels, probs, **kw)
        with pytest.raises(ValueError):
            cl.rank.get_label_quality_scores(labels, probs, **kw)
        return
    assert_identical(
        rank.get_label_quality_scores(labels, probs, **kw),
        cl.rank.get_label_quality_scores(labels, probs, **kw),
    )


@given(DATA)
def test_per_method_scores_match(cl: SimpleNamespace, data: Any) -> None:
    labels, probs = data
    for name in (
        "get_self_confidence_for_each_label",
        "get_normalized_margin_for_each_label",
        "get_confidence_weighted_entropy_for_each_label",
    ):
        assert_identical(getattr(rank, name)(labels, probs), getattr(cl.rank, name)(labels, probs))


@given(DATA, st.sampled_from(RANKINGS), st.booleans(), st.integers(0, 2**32 - 1))
def test_order_label_issues_matches(
    cl: SimpleNamespace, data: Any, method: str, adjust: bool, seed: int
) -> None:
    labels, probs = data
    adjust = adjust and method != "confidence_weighted_entropy"
    rng = np.random.default_rng(seed)
    mask = rng.random(len(labels)) < rng.choice([0.0, 0.3, 1.0])
    kwargs = {"adjust_pred_probs": True} if adjust else {}
    assert_identical(
        rank.order_label_issues(mask, labels, probs, rank_by=method, rank_by_kwargs=kwargs),
        cl.rank.order_label_issues(mask, labels, probs, rank_by=method, rank_by_kwargs=kwargs),
    )


@given(
    st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 1.0, np.nan]), max_size=40),
    st.sampled_from(["float32", "float64"]),
    st.one_of(st.none(), st.integers(-3, 50)),
)
def test_find_top_issues_matches(
    cl: SimpleNamespace, values: list[float], dtype: str, top: int | None
) -> None:
    scores = np.array(values, dtype=dtype)
    assert_identical(
        rank.find_top_issues(scores, top=top), cl.rank.find_top_issues(scores, top=top)
    )


def _layouts(probs: np.ndarray) -> dict[str, np.ndarray]:
    big_endian = probs.astype(probs.dtype.newbyteorder(">"))
    wide = np.zeros((probs.shape[0], 2 * probs.shape[1]), dtype=probs.dtype)
    wide[:, ::2] = probs
    return {
        "fortran": np.asfortranarray(probs),
        "strided": wide[:, ::2],
        "reversed rows": probs[::-1].copy()[::-1],
        "big-endian": big_endian,
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scores_and_counts_in_other_layouts_match(cl: SimpleNamespace, dtype: Any) -> None:
    """Row sums follow the memory layout in numpy (pairwise vs column by column)."""
    rng = np.random.default_rng(3)
    N, K = 400, 12
    labels = rng.integers(0, K, N)
    probs = rng.dirichlet(np.full(K, 0.3), N)
    probs[rng.random(N) < 0.3] *= 0.9  # unnormalised rows
    for name, layout in _layouts(probs.astype(dtype)).items():
        for method in RANKINGS:
            for adjust in (False, True) if method != "confidence_weighted_entropy" else (False,):
                assert_identical(
                    rank.get_label_quality_scores(
                        labels, layout, method=method, adjust_pred_probs=adjust
                    ),
                    cl.rank.get_label_quality_scores(
                        labels, layout, method=method, adjust_pred_probs=adjust
                    ),
                    where=(name, method, adjust),
                )
        for method in ("off_diagonal", "off_diagonal_calibrated"):
            assert_identical(
                count.num_label_issues(labels, layout, estimation_method=method),
                cl.count.num_label_issues(labels, layout, estimation_method=method),
                where=name,
            )


def test_missing_classes_and_ties_match(cl: SimpleNamespace) -> None:
    """float32 probabilities rounded to one decimal, two classes never used."""
    rng = np.random.default_rng(11)
    N, K = 2000, 6
    labels = rng.choice([0, 2, 3, 5], N)
    probs = np.round(rng.dirichlet(np.ones(K), N), 1).astype(np.float32)
    assert count.get_confident_thresholds(labels, probs).dtype == np.float64
    for fn in ("get_confident_thresholds", "estimate_joint"):
        assert_identical(getattr(count, fn)(labels, probs), getattr(cl.count, fn)(labels, probs))
    assert_identical(
        count.compute_confident_joint(labels, probs, return_indices_of_off_diagonals=True),
        cl.count.compute_confident_joint(labels, probs, return_indices_of_off_diagonals=True),
    )
    for method in ("off_diagonal", "off_diagonal_calibrated"):
        assert_identical(
            count.num_label_issues(labels, probs, estimation_method=method),
            cl.count.num_label_issues(labels, probs, estimation_method=method),
        )
    mask = rng.random(N) < 0.5
    for method in RANKINGS:
        for adjust in (False, True) if method != "confidence_weighted_entropy" else (False,):
            theirs = cl.rank.get_label_quality_scores(
                labels, probs, method=method, adjust_pred_probs=adjust
            )
            ours = rank.get_label_quality_scores(
                labels, probs, method=method, adjust_pred_probs=adjust
            )
            assert_identical(ours, theirs)
            kw = {"adjust_pred_probs": adjust}
            assert_identical(
                rank.order_label_issues(mask, labels, probs, rank_by=method, rank_by_kwargs=kw),
                cl.rank.order_label_issues(mask, labels, probs, rank_by=method, rank_by_kwargs=kw),
            )
            assert_identical(
                rank.find_top_issues(ours, top=50), cl.rank.find_top_issues(theirs, top=50)
            )


def test_python_lists_and_one_class_match(cl: SimpleNamespace) -> None:
    labels = np.zeros(4, dtype=np.int64)
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.6, 0.4], [0.2, 0.8]])
    mask = np.array([True, True, True, False])
    # cleanlab allows a single class here only when it is class 0 (numpy array or Python ints).
    expected = cl.rank.order_label_issues(mask, labels, probs)
    assert_identical(rank.order_label_issues(mask, labels, probs), expected)
    # cleanlab itself fails on a Python list further down (labels.shape); we accept it.
    assert_identical(rank.order_label_issues(mask, labels.tolist(), probs), expected)
    assert_identical(
        rank.get_label_quality_scores(labels, probs),
        cl.rank.get_label_quality_scores(labels, probs),
    )
    for fn in ("get_confident_thresholds", "compute_confident_joint"):
        theirs = getattr(cl.count, fn)(labels.tolist(), probs)
        assert_identical(getattr(count, fn)(labels.tolist(), probs), theirs)
    for fn in (rank.order_label_issues, cl.rank.order_label_issues):
        with pytest.raises(ValueError):
            fn(mask, np.ones(4, dtype=np.int64), probs)
    for fn in (count.num_label_issues, cl.count.num_label_issues):
        with pytest.raises(ValueError):
            fn(labels, probs)


# ---------------------------------------------------------------------------
# known answers (hand-computed)
# ---------------------------------------------------------------------------

LABELS = np.array([0, 0, 0, 1, 1, 1, 2, 2])
PROBS = np.array(
    [
        [0.8, 0.1, 0.1],
        [0.6, 0.3, 0.1],
        [0.1, 0.8, 0.1],  # labelled 0, confidently 1
        [0.2, 0.7, 0.1],
        [0.1, 0.9, 0.0],
        [0.3, 0.3, 0.4],  # labelled 1, confidently 2
        [0.1, 0.1, 0.8],
        [0.0, 0.2, 0.8],
    ]
)


def test_known_thresholds_and_joint() -> None:
    thresholds = count.get_confident_thresholds(LABELS, PROBS)
    np.testing.assert_allclose(thresholds, [0.5, 0.6333333333333333, 0.8])
    cj, off = count.compute_confident_joint(
        LABELS, PROBS, calibrate=False, return_indices_of_off_diagonals=True
    )
    # Row 0: tokens 0 and 1 (0.6 >= 0.5 - 1e-6) confidently 0, token 2 confidently 1.
    # Row 1: tokens 3 and 4 confidently 1; token 5 reaches no threshold for class 1 (0.3 <
    # 0.633) but none for class 2 either (0.4 < 0.8): not counted. Row 2: both confidently 2.
    np.testing.assert_array_equal(cj, [[2, 1, 0], [0, 2, 0], [0, 0, 2]])
    np.testing.assert_array_equal(off, [2])
    assert cj.dtype == np.int64 and off.dtype == np.int64
    calibrated = count.compute_confident_joint(LABELS, PROBS)
    np.testing.assert_array_equal(calibrated.sum(axis=1), np.bincount(LABELS))
    np.testing.assert_array_equal(calibrated, [[2, 1, 0], [0, 3, 0], [0, 0, 2]])
    joint = count.estimate_joint(LABELS, PROBS)
    np.testing.assert_allclose(joint, np.array([[2, 1, 0], [0, 3, 0], [0, 0, 2]]) / 8)
    assert count.num_label_issues(LABELS, PROBS) == 1
    assert count.num_label_issues(LABELS, PROBS, estimation_method="off_diagonal_calibrated") == 1
    assert isinstance(count.num_label_issues(LABELS, PROBS), np.int64)
    custom = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 2]])
    # Calibrated: rows scaled to 3, 3, 2 -> [[1.5, 1.5, 0], [1.5, 1.5, 0], [0, 0, 2]] rounded
    # keeping row totals; off-diagonal mass 3/8 of 8 examples.
    assert (
        count.num_label_issues(
            LABELS, PROBS, confident_joint=custom, estimation_method="off_diagonal_custom"
        )
        == 3
    )


def test_calibration_keeps_row_totals_and_breaks_ties_by_position() -> None:
    # Row 0 scales to [1.5, 1.5] (sum 3): half-to-even gives [2, 2] = 4, one unit too many;
    # the earlier of the two equal remainders gives it back. Row 1 scales to [0.5, 0.5]: both
    # round to 0, the later one gains the missing unit.
    out = count.calibrate_confident_joint(np.array([[1.0, 1.0], [1.0, 1.0]]), [0, 0, 0, 1])
    np.testing.assert_array_equal(out, [[1, 2], [0, 1]])
    assert out.dtype == np.int64
    same_from_ints = count.calibrate_confident_joint(np.array([[1, 1], [1, 1]]), [0, 0, 0, 1])
    np.testing.assert_array_equal(same_from_ints, out)


def test_known_scores_and_order() -> None:
    sc = rank.get_self_confidence_for_each_label(LABELS, PROBS)
    np.testing.assert_array_equal(sc, PROBS[np.arange(8), LABELS])
    margin = rank.get_normalized_margin_for_each_label(LABELS, PROBS)
    others = np.where(np.eye(3, dtype=bool)[LABELS], -np.inf, PROBS).max(axis=1)
    np.testing.assert_allclose(margin, (sc - others + 1) / 2)
    entropy = -(PROBS * np.log(np.where(PROBS > 0, PROBS, 1))).sum(axis=1) / np.log(3)
    x = entropy / np.maximum(sc, 1e-6)
    np.testing.assert_allclose(
        rank.get_confidence_weighted_entropy_for_each_label(LABELS, PROBS),
        np.log(x + 1) / np.maximum(x, 1e-6),
        rtol=1e-12,
    )
    np.testing.assert_array_equal(
        rank.get_label_quality_scores(LABELS, PROBS, method="normalized_margin"), margin
    )
    # Self-confidence 0.1 (token 2) < 0.3 (token 5) < 0.6 (token 1) < 0.8 (token 0).
    mask = np.array([True, True, True, False, False, True, False, False])
    np.testing.assert_array_equal(rank.order_label_issues(mask, LABELS, PROBS), [2, 5, 1, 0])
    # Ties keep position order: tokens 6 and 7 both score 0.8.
    np.testing.assert_array_equal(rank.find_top_issues(sc, top=None), [2, 5, 1, 3, 0, 6, 7, 4])
    np.testing.assert_array_equal(rank.find_top_issues(sc, top=3), [2, 5, 1])
    assert rank.find_top_issues(sc).shape == (8,)


def test_float32_dtypes() -> None:
    probs = PROBS.astype(np.float32)
    assert count.get_confident_thresholds(LABELS, probs).dtype == np.float32
    assert rank.get_label_quality_scores(LABELS, probs).dtype == np.float32
    assert rank.get_normalized_margin_for_each_label(LABELS, probs).dtype == np.float32
    assert rank.get_confidence_weighted_entropy_for_each_label(LABELS, probs).dtype == np.float64
    adjusted = rank.get_label_quality_scores(LABELS, probs, adjust_pred_probs=True)
    assert adjusted.dtype == np.float32
    missing = np.where(LABELS == 2, 0, LABELS)
    assert rank.get_label_quality_scores(missing, probs, adjust_pred_probs=True).dtype == (
        np.float64
    )


# ---------------------------------------------------------------------------
# errors and options
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: count.get_confident_thresholds(LABELS, PROBS, multi_label=True),
        lambda: count.compute_confident_joint(LABELS, PROBS, multi_label=True),
        lambda: count.calibrate_confident_joint(np.eye(3), LABELS, multi_label=True),
        lambda: count.estimate_joint(LABELS, PROBS, multi_label=True),
        lambda: count.num_label_issues(LABELS, PROBS, multi_label=True),
    ],
)
def test_multi_label_is_refused(call: Callable[[], Any]) -> None:
    with pytest.raises(ValueError, match="multi_label=True is not supported"):
        call()


def test_num_label_issues_options() -> None:
    with pytest.raises(ValueError, match="estimation_method"):
        count.num_label_issues(LABELS, PROBS, estimation_method="diagonal")
    with pytest.raises(ValueError, match="needs a confident_joint"):
        count.num_label_issues(LABELS, PROBS, estimation_method="off_diagonal_custom")
    with pytest.raises(ValueError, match="must be 3 x 3"):
        count.num_label_issues(
            LABELS, PROBS, confident_joint=np.eye(2), estimation_method="off_diagonal_custom"
        )
    with pytest.warns(UserWarning, match="confident_joint is ignored"):
        n = count.num_label_issues(LABELS, PROBS, confident_joint=np.eye(3, dtype=int))
    assert n == 1


def test_bad_inputs_get_clear_errors() -> None:
    with pytest.raises(ValueError, match="thresholds have shape"):
        count.compute_confident_joint(LABELS, PROBS, thresholds=[0.5, 0.5])
    with pytest.raises(TypeError, match="float32 or float64"):
        count.compute_confident_joint(LABELS, PROBS, thresholds=np.ones(3, dtype=np.float16))
    with pytest.raises(ValueError, match="must be K x K"):
        count.calibrate_confident_joint(np.ones((2, 3)), [0, 1])
    with pytest.raises(ValueError, match="not a class index"):
        count.calibrate_confident_joint(np.ones((2, 2)), [0, 2])
    with pytest.raises(ValueError, match="rows of pred_probs"):
        rank.get_label_quality_scores(LABELS[:-1], PROBS)
    with pytest.raises(ValueError, match="not one of"):
        rank.get_label_quality_scores(LABELS, PROBS, method="entropy")
    with pytest.raises(ValueError, match="not supported"):
        rank.get_label_quality_scores(
            LABELS, PROBS, method="confidence_weighted_entropy", adjust_pred_probs=True
        )
    with pytest.raises(TypeError, match="unexpected keyword"):
        rank.order_label_issues(LABELS > 0, LABELS, PROBS, rank_by_kwargs={"method": "x"})
    with pytest.raises(ValueError, match="label_issues_mask"):
        rank.order_label_issues(np.ones(3, dtype=bool), LABELS, PROBS)
    nan = PROBS.copy()
    nan[4, 1] = np.nan
    with pytest.raises(ValueError, match="token 4"):
        count.num_label_issues(LABELS, nan)
    with pytest.raises(ValueError, match="label 3 at token 1"):
        rank.get_label_quality_scores(np.array([0, 3]), PROBS[:2])


def test_order_label_issues_accepts_index_arrays() -> None:
    # cleanlab indexes with the mask, so an index array works the same way.
    np.testing.assert_array_equal(
        rank.order_label_issues(np.array([5, 2, 1]), LABELS, PROBS), [2, 5, 1]
    )


def test_count_and_rank_work_without_pandas() -> None:
    code = (
        "import sys; sys.modules['pandas'] = None\n"
        "import numpy as np\n"
        "from tokenclean import count, rank\n"
        "import tokenclean.token_classification.rank, tokenclean.token_classification.summary\n"
        "l = np.array([0, 1, 1]); p = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])\n"
        "print(count.num_label_issues(l, p), rank.get_label_quality_scores(l, p).tolist())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["0", "[0.9,", "0.4,", "0.8]"]
