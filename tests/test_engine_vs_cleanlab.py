"""The Rust engine gives stable cleanlab 2.9.0's answer, exactly.

Differential tests of the public engine API against cleanlab made deterministic by
``cleanlab_stable.py`` (SPEC section 1), called with ``n_jobs=1`` and warnings suppressed:
random token data with every keyword, the multi-class function, and the CoNLL-2003 test set
with both sets of predicted probabilities. Where tokenclean deliberately differs (SPEC
section 4): ``low_memory=True`` results are compared as sets (cleanlab returns position
order, ours is ranked), and ``return_indices_ranked_by=None`` (cleanlab's token function
raises) is compared with cleanlab's self-confidence issues in position order.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenclean
import tokenclean.filter
from conftest import (
    CONLL_PATH,
    FILTER_BY,
    PRUNE_FILTERS,
    RANKINGS,
    assert_ranked_by_score,
    both_ok,
    flat_datasets,
    flatten,
    kwargs_strategy,
    note,
    outcome,
    quietly,
    ragged_datasets,
    to_flat_index,
)
from tokenclean import reference as ref
from tokenclean.testing import assert_flat_matches_ragged, iob_datasets
from tokenclean.token_classification.filter import find_label_issues_flat as engine_flat

engine_list = tokenclean.find_label_issues
engine_multiclass = tokenclean.filter.find_label_issues

CONLL_KEYS = ("pred_probs_flat", "pred_probs_joint_flat")

MORE = settings(max_examples=3 * settings.default.max_examples)

N_JOBS = (None, 1, 2, 3)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def first_difference(got: list[Any], want: list[Any]) -> str:
    where = next(
        (i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b),
        min(len(got), len(want)),
    )
    return (
        f"{len(got)} vs {len(want)} issues; first difference at {where}: "
        f"{got[where : where + 3]} vs {want[where : where + 3]}"
    )


def make_confident_joint(
    kind: str, order: str, seed: int, labels: np.ndarray, pred_probs: np.ndarray
) -> np.ndarray:
    """A ``confident_joint`` keyword value: random int / float counts, or cleanlab's own
    (calibrated or not), in C or Fortran order."""
    import cleanlab.count

    K = pred_probs.shape[1]
    rng = np.random.default_rng(seed)
    if kind == "int":
        cj = rng.integers(0, 12, size=(K, K)) * (rng.random((K, K)) < 0.6)
    elif kind == "float":
        cj = rng.random((K, K)) * 9 * (rng.random((K, K)) < 0.6)
    else:
        cj = quietly(
            cleanlab.count.compute_confident_joint,
            labels,
            pred_probs,
            calibrate=kind == "computed",
        )
    return np.asfortranarray(cj) if order == "F" else np.ascontiguousarray(cj)


@st.composite
def extra_keywords(
    draw: st.DrawFn, kwargs: dict[str, Any], labels: np.ndarray, pred_probs: np.ndarray
) -> dict[str, Any]:
    """Sometimes a ``confident_joint`` (for both); ``n_jobs`` goes to the engine only."""
    extra: dict[str, Any] = {}
    if not kwargs.get("low_memory", False) and draw(st.integers(0, 2)) == 0:
        kind = draw(st.sampled_from(["int", "float", "computed", "uncalibrated"]))
        order = draw(st.sampled_from("CF"))
        seed = draw(st.integers(0, 2**32 - 1))
        extra["confident_joint"] = make_confident_joint(kind, order, seed, labels, pred_probs)
        note(f"confident_joint {kind} {order}")
    return extra


def cleanlab_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    out = dict(kwargs)
    if not out.get("low_memory", False):
        out["n_jobs"] = 1
    return out


# ---------------------------------------------------------------------------
# token function on random data
# ---------------------------------------------------------------------------


def check_token_level(
    cl_token_filter: ModuleType,
    labels: list[Any],
    pred_probs: list[np.ndarray],
    kwargs: dict[str, Any],
    n_jobs: int | None,
) -> list[tuple[int, int]] | None:
    """Engine vs stable cleanlab on token data, for one set of keywords."""
    ranked = kwargs.get("return_indices_ranked_by")
    low_memory = kwargs.get("low_memory", False)
    engine_kwargs = dict(kwargs) if n_jobs is None else dict(kwargs, n_jobs=n_jobs)
    ours = outcome(engine_list, labels, pred_probs, **engine_kwargs)

    if ranked is None:
        # cleanlab's token function raises here; ours returns the self-confidence issues
        # in position order.
        kwargs = dict(kwargs, return_indices_ranked_by="self_confidence")
        kwargs.pop("rank_by_kwargs", None)
    theirs = outcome(
        cl_token_filter.find_label_issues, labels, pred_probs, **cleanlab_kwargs(kwargs)
    )
    if not both_ok(ours, theirs, "cleanlab"):
        return None
    got: list[tuple[int, int]] = ours[1]
    want: list[tuple[int, int]] = theirs[1]
    assert isinstance(got, list)
    assert all(type(i) is int and type(j) is int for i, j in got)
    note("issues: " + ("0" if not want else "1-4" if len(want) < 5 else "5+"))

    if ranked is None:
        assert got == sorted(want), first_difference(got, sorted(want))
    elif low_memory:
        assert sorted(got) == sorted(want)
        flat_labels, flat_probs = flatten(labels, pred_probs)
        scores = ref.label_quality_scores(flat_labels, flat_probs, ranked)
        assert_ranked_by_score(to_flat_index(labels, got), scores)
    else:
        assert got == want, first_difference(got, want)
    return got


@MORE
@given(data=ragged_datasets(), n_jobs=st.sampled_from(N_JOBS), draw=st.data())
def test_token_level_matches_cleanlab(
    cleanlab_stable: ModuleType, data: Any, n_jobs: int | None, draw: st.DataObject
) -> None:
    labels, pred_probs = data
    K = pred_probs[0].shape[1]
    kwargs = draw.draw(kwargs_strategy(K), label="kwargs")
    flat_labels, flat_probs = flatten(labels, pred_probs)
    kwargs.update(draw.draw(extra_keywords(kwargs, flat_labels, flat_probs), label="extra"))
    got = check_token_level(cleanlab_stable, labels, pred_probs, kwargs, n_jobs)
    if got is not None:
        # the flat token API gives the same answer
        lengths = [len(s) for s in labels]
        flat = quietly(engine_flat, flat_labels, flat_probs, lengths, **kwargs)
        assert [tuple(row) for row in flat.tolist()] == got


@given(
    data=iob_datasets(dtype="mixed", max_sentences=40, flip_rate=0.08),
    kwargs=kwargs_strategy(allow_low_memory=True),
)
def test_named_entity_data_matches_cleanlab(
    cleanlab_stable: ModuleType, data: Any, kwargs: Any
) -> None:
    """Model-like NER data (tokenclean.testing): peaked probabilities, IOB2 tags, few errors."""
    _, labels, pred_probs = data
    got = check_token_level(cleanlab_stable, labels, pred_probs, kwargs, None)
    if got is not None:
        # the invariants the testing module offers hold on the same data
        quietly(assert_flat_matches_ragged, labels, pred_probs, **kwargs)


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
    check_token_level(cleanlab_stable, labels, pred_probs, kwargs, None)


@pytest.mark.parametrize("filter_by", [*FILTER_BY, "low_memory"])
@pytest.mark.parametrize("ranked", RANKINGS)
def test_one_class_of_python_int_zeros(
    cleanlab_stable: ModuleType, filter_by: str, ranked: str
) -> None:
    """cleanlab accepts labels of a single class when they are all Python int 0 (some
    filters then raise ValueError): the engine does what cleanlab does."""
    labels = [[0, 0, 0], [], [0, 0, 0, 0]]
    pred_probs = [
        np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.5, 0.5, 0.0]]),
        np.zeros((0, 3)),
        np.array([[0.3, 0.3, 0.4], [1.0, 0.0, 0.0], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]]),
    ]
    kwargs: dict[str, Any] = {"return_indices_ranked_by": ranked}
    if filter_by == "low_memory":
        kwargs["low_memory"] = True
    else:
        kwargs["filter_by"] = filter_by
    check_token_level(cleanlab_stable, labels, pred_probs, kwargs, None)


# ---------------------------------------------------------------------------
# multi-class function on random data
# ---------------------------------------------------------------------------


def _rows_strided(p: np.ndarray) -> np.ndarray:
    big = np.full((2 * p.shape[0], p.shape[1]), np.nan, dtype=p.dtype)
    big[::2] = p
    return big[::2]


LAYOUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "C": np.ascontiguousarray,
    "F": np.asfortranarray,
    "rows-strided": _rows_strided,
}


@settings(max_examples=2 * settings.default.max_examples)
@given(data=flat_datasets(), layout=st.sampled_from(sorted(LAYOUTS)), draw=st.data())
def test_multiclass_matches_cleanlab(
    cleanlab_stable: ModuleType, data: Any, layout: str, draw: st.DataObject
) -> None:
    import cleanlab.filter

    labels, pred_probs = data
    pred_probs = LAYOUTS[layout](pred_probs)
    K = pred_probs.shape[1]
    kwargs = draw.draw(kwargs_strategy(K, allow_low_memory=False), label="kwargs")
    kwargs.update(draw.draw(extra_keywords(kwargs, labels, pred_probs), label="extra"))
    n_jobs = draw.draw(st.sampled_from(N_JOBS), label="n_jobs")
    ours = outcome(engine_multiclass, labels, pred_probs, n_jobs=n_jobs, **kwargs)
    theirs = outcome(cleanlab.filter.find_label_issues, labels, pred_probs, n_jobs=1, **kwargs)
    if not both_ok(ours, theirs, "cleanlab"):
        return
    got, want = ours[1], theirs[1]
    assert got.dtype == want.dtype and got.shape == want.shape, (got, want)
    np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------
# real data: CoNLL-2003 test set
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conll() -> Any:
    if not CONLL_PATH.exists():
        pytest.skip(f"{CONLL_PATH} not available")
    with np.load(CONLL_PATH) as z:
        return {key: z[key] for key in ("labels_flat", "lengths", *CONLL_KEYS)}


def conll_sentences(conll: Any, key: str) -> tuple[list[list[int]], list[np.ndarray]]:
    cuts = np.cumsum(conll["lengths"])[:-1]
    labels = [s.tolist() for s in np.split(conll["labels_flat"], cuts)]
    pred_probs = np.split(conll[key], cuts)
    return labels, pred_probs


def assert_same_token_issues(
    cl_token_filter: ModuleType, labels: Any, pred_probs: Any, **kwargs: Any
) -> list[tuple[int, int]]:
    want = quietly(cl_token_filter.find_label_issues, labels, pred_probs, n_jobs=1, **kwargs)
    got = quietly(engine_list, labels, pred_probs, **kwargs)
    assert got == want, f"{kwargs}: {first_difference(got, want)}"
    return got


@pytest.mark.parametrize("filter_by", FILTER_BY)
@pytest.mark.parametrize("key", CONLL_KEYS)
def test_conll2003_matches_cleanlab(
    cleanlab_stable: ModuleType, conll: Any, key: str, filter_by: str
) -> None:
    labels, pred_probs = conll_sentences(conll, key)
    issues = set()
    for ranked in RANKINGS:
        got = assert_same_token_issues(
            cleanlab_stable,
            labels,
            pred_probs,
            filter_by=filter_by,
            return_indices_ranked_by=ranked,
        )
        assert len(got) > 100
        issues.add(frozenset(got))
    assert len(issues) == 1  # the ranking orders the same set
    unranked = quietly(
        engine_list, labels, pred_probs, filter_by=filter_by, return_indices_ranked_by=None
    )
    assert unranked == sorted(got)

    # rank_by_kwargs (and, for the prune filters, frac_noise and min_examples_per_class)
    extra: dict[str, Any] = {}
    if filter_by in PRUNE_FILTERS:
        extra = {"frac_noise": 0.6, "min_examples_per_class": 3}
    ranked = "normalized_margin" if key == CONLL_KEYS[0] else "self_confidence"
    assert_same_token_issues(
        cleanlab_stable,
        labels,
        pred_probs,
        filter_by=filter_by,
        return_indices_ranked_by=ranked,
        rank_by_kwargs={"adjust_pred_probs": True},
        **extra,
    )


@pytest.mark.parametrize("key", CONLL_KEYS)
def test_conll2003_low_memory(cleanlab_stable: ModuleType, conll: Any, key: str) -> None:
    labels, pred_probs = conll_sentences(conll, key)
    flat_labels, flat_probs = flatten(labels, pred_probs)
    for ranked in RANKINGS:
        want = quietly(
            cleanlab_stable.find_label_issues,
            labels,
            pred_probs,
            return_indices_ranked_by=ranked,
            low_memory=True,
        )
        got = quietly(
            engine_list, labels, pred_probs, return_indices_ranked_by=ranked, low_memory=True
        )
        assert len(got) > 100
        assert sorted(got) == sorted(want)
        scores = ref.label_quality_scores(flat_labels, flat_probs, ranked)
        assert_ranked_by_score(to_flat_index(labels, got), scores)


@pytest.mark.parametrize("key", CONLL_KEYS)
def test_conll2003_prune_keywords(cleanlab_stable: ModuleType, conll: Any, key: str) -> None:
    """num_to_remove_per_class and a supplied confident joint (C and Fortran order)."""
    import cleanlab.count

    labels, pred_probs = conll_sentences(conll, key)
    flat_labels, flat_probs = flatten(labels, pred_probs)
    remove = [40, 5, 3, 12, 0, 9, 2, 30, 7]
    for filter_by in PRUNE_FILTERS:
        assert_same_token_issues(
            cleanlab_stable,
            labels,
            pred_probs,
            filter_by=filter_by,
            num_to_remove_per_class=remove,
        )
    cj = quietly(cleanlab.count.compute_confident_joint, flat_labels, flat_probs, calibrate=False)
    cj = cj + np.arange(81).reshape(9, 9) % 7
    for order in "CF":
        assert_same_token_issues(
            cleanlab_stable,
            labels,
            pred_probs,
            filter_by="prune_by_noise_rate",
            confident_joint=np.asarray(cj, order=order),
            frac_noise=0.7,
            return_indices_ranked_by="normalized_margin",
        )


def test_conll2003_float64_and_mixed(cleanlab_stable: ModuleType, conll: Any) -> None:
    labels, pred_probs = conll_sentences(conll, "pred_probs_joint_flat")
    as64 = [s.astype(np.float64) for s in pred_probs]
    mixed = [s if i % 2 else s.astype(np.float64) for i, s in enumerate(pred_probs)]
    for data in (as64, mixed):
        assert_same_token_issues(
            cleanlab_stable, labels, data, return_indices_ranked_by="confidence_weighted_entropy"
        )


@pytest.mark.parametrize("key", CONLL_KEYS)
def test_conll2003_multiclass(cleanlab_stable: ModuleType, conll: Any, key: str) -> None:
    import cleanlab.filter

    labels = conll["labels_flat"].astype(np.int64)
    for layout in ("C", "F"):
        pred_probs = LAYOUTS[layout](conll[key])
        for ranked in (None, *RANKINGS):
            kwargs: dict[str, Any] = {"return_indices_ranked_by": ranked}
            if layout == "F":
                kwargs["filter_by"] = "both"
                kwargs["rank_by_kwargs"] = {"adjust_pred_probs": ranked != RANKINGS[2]}
            want = quietly(
                cleanlab.filter.find_label_issues, labels, pred_probs, n_jobs=1, **kwargs
            )
            got = quietly(engine_multiclass, labels, pred_probs, **kwargs)
            assert got.dtype == want.dtype and got.shape == want.shape, (layout, kwargs)
            np.testing.assert_array_equal(got, want, err_msg=f"{layout} {kwargs}")
            assert np.count_nonzero(want) > 100 if ranked is None else len(want) > 100
