"""Code written against cleanlab's token-classification modules keeps working (issue 19).

The names cleanlab's own token tests import exist here, the private ``_softmin_sentence_score``
behaves as cleanlab's, and where cleanlab checks an option with ``assert`` our error is also an
``AssertionError`` (and still the ``ValueError`` or ``TypeError`` we document). Written from
cleanlab's source and behaviour; the differential parts need cleanlab and skip without it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tokenclean
from conftest import outcome
from tokenclean.errors import InvalidOptionError, InvalidOptionTypeError
from tokenclean.filter import find_label_issues as find_mc
from tokenclean.token_classification.filter import find_label_issues_flat as find_flat
from tokenclean.token_classification.rank import (
    _softmin_sentence_score,
    get_label_quality_scores,
)

LABELS = [[0, 0], [1, 1, 1], [2]]
PRED_PROBS = [
    np.array([[0.85, 0.1, 0.05], [0.6, 0.3, 0.1]]),
    np.array([[0.05, 0.15, 0.8], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1]]),
    np.array([[0.1, 0.2, 0.7]]),
]


def test_names_cleanlab_tests_import_exist() -> None:
    from tokenclean.token_classification import filter, rank, summary

    for module, names in [
        (filter, ["find_label_issues"]),
        (rank, ["get_label_quality_scores", "issues_from_scores", "_softmin_sentence_score"]),
        (summary, ["display_issues", "common_label_issues", "filter_by_token"]),
    ]:
        for name in names:
            assert callable(getattr(module, name)), f"{module.__name__}.{name}"
    assert issubclass(InvalidOptionError, ValueError)
    assert issubclass(InvalidOptionError, AssertionError)
    assert issubclass(InvalidOptionTypeError, TypeError)
    assert issubclass(InvalidOptionTypeError, AssertionError)


# ---------------------------------------------------------------------------
# _softmin_sentence_score
# ---------------------------------------------------------------------------


def softmin(scores: list[float], temperature: float) -> float:
    weights = [math.exp((1 - s) / temperature) for s in scores]
    return sum(w * s for w, s in zip(weights, scores, strict=False)) / sum(weights)


SCORES = [[0.3, 0.7, 1.0], [0.5], [0.0, 1.0], [0.95, 0.9, 0.92, 0.4]]


@pytest.mark.parametrize("temperature", [0.05, 0.3, 2.0])
def test_softmin_helper_known(temperature: float) -> None:
    got = _softmin_sentence_score(SCORES, temperature=temperature)
    assert isinstance(got, np.ndarray) and got.dtype == np.float64
    np.testing.assert_allclose(got, [softmin(s, temperature) for s in SCORES], rtol=1e-13)


def test_softmin_helper_default_and_limits() -> None:
    np.testing.assert_allclose(
        _softmin_sentence_score(SCORES), [softmin(s, 0.05) for s in SCORES], rtol=1e-13
    )
    np.testing.assert_array_equal(
        _softmin_sentence_score(SCORES, temperature=0), [0.3, 0.5, 0, 0.4]
    )
    np.testing.assert_allclose(
        _softmin_sentence_score(SCORES, temperature=math.inf), [np.mean(s) for s in SCORES]
    )
    # below 1e-6 (and negative) acts as 1e-6
    np.testing.assert_array_equal(
        _softmin_sentence_score(SCORES, temperature=-2.0),
        _softmin_sentence_score(SCORES, temperature=1e-6),
    )


def test_softmin_helper_dtypes_and_edges() -> None:
    f32 = [np.array(s, dtype=np.float32) for s in SCORES]
    assert _softmin_sentence_score(f32).dtype == np.float32
    assert _softmin_sentence_score(f32, temperature=0).dtype == np.float32
    # a numpy float64 temperature widens, as numpy does in cleanlab's arithmetic
    assert _softmin_sentence_score(f32, temperature=np.float64(0.2)).dtype == np.float64
    mixed = [f32[0], np.array(SCORES[1])]
    assert _softmin_sentence_score(mixed).dtype == np.float64

    got = _softmin_sentence_score([[0.2, 0.4], [], [0.5, float("nan")]])
    assert not np.isnan(got[0]) and np.isnan(got[1]) and np.isnan(got[2])
    assert _softmin_sentence_score([]).shape == (0,)

    with pytest.raises(TypeError, match="temperature must be a number"):
        _softmin_sentence_score(SCORES, temperature="hot")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"token_scores\[1\] has shape \(1, 2\)"):
        _softmin_sentence_score([[0.5], [[0.5, 0.5]]])
    with pytest.raises(TypeError, match="list of sentences"):
        _softmin_sentence_score(0.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("temperature", [0, 0.05, 0.5, math.inf])
def test_softmin_helper_scores_sentences_as_get_label_quality_scores(temperature: float) -> None:
    sentences, token_info = get_label_quality_scores(
        LABELS,
        PRED_PROBS,
        sentence_score_method="softmin",
        sentence_score_kwargs={"temperature": temperature},
    )
    np.testing.assert_array_equal(
        _softmin_sentence_score(token_info, temperature=temperature), sentences
    )


@given(
    st.lists(
        st.lists(st.floats(0, 1), min_size=1, max_size=8).map(np.array),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from(["float32", "float64"]),
    st.sampled_from([0, 0.0, 0.01, 0.05, 1.0, 25.0, math.inf, 1e-9, -1.0]),
)
def test_softmin_helper_matches_cleanlab(
    scores: list[np.ndarray], dtype: str, temperature: float
) -> None:
    cl_rank = pytest.importorskip("cleanlab.token_classification.rank")
    scores = [s.astype(dtype) for s in scores]
    ours = _softmin_sentence_score(scores, temperature=temperature)
    theirs = cl_rank._softmin_sentence_score(scores, temperature=temperature)
    assert ours.dtype == theirs.dtype
    if temperature == 0:
        np.testing.assert_array_equal(ours, theirs)
    elif dtype == "float64":  # atol: products of subnormal scores may underflow differently
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-300)
    else:  # cleanlab rounds each step to float32; we round once
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------
# errors that cleanlab raises with assert
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["unsupported_method", "Min", "", None, 3])
def test_unknown_sentence_score_method(method: Any) -> None:
    with pytest.raises(AssertionError, match="Select from the following methods:") as caught:
        get_label_quality_scores(LABELS, PRED_PROBS, sentence_score_method=method)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, InvalidOptionError)
    assert "min, softmin" in str(caught.value)


def _flat_call(**kwargs: Any) -> Any:
    labels = np.concatenate([np.array(s) for s in LABELS])
    return find_flat(labels, np.concatenate(PRED_PROBS), [2, 3, 1], **kwargs)


def _mc_call(**kwargs: Any) -> Any:
    labels = np.concatenate([np.array(s) for s in LABELS])
    return find_mc(labels, np.concatenate(PRED_PROBS), **kwargs)


CALLS: dict[str, Callable[..., Any]] = {
    "list": lambda **kw: tokenclean.find_label_issues(LABELS, PRED_PROBS, **kw),
    "flat": _flat_call,
    "multi-class": _mc_call,
}
ASSERTED = [
    ({"filter_by": "nope"}, ValueError, "filter_by='nope' is not one of prune_by_noise_rate"),
    ({"filter_by": "Both"}, ValueError, "filter_by='Both'"),
    ({"filter_by": None}, TypeError, "filter_by must be a string"),
    ({"filter_by": 2}, TypeError, "filter_by must be a string"),
    ({"n_jobs": 0}, ValueError, "n_jobs=0; it must be at least 1"),
    ({"n_jobs": -4}, ValueError, "n_jobs=-4"),
    # cleanlab asserts filter_by before it looks at num_to_remove_per_class
    ({"filter_by": "nope", "num_to_remove_per_class": [1, 1, 1]}, ValueError, "filter_by='nope'"),
]


@pytest.mark.parametrize("api", list(CALLS))
@pytest.mark.parametrize(("kwargs", "kind", "match"), ASSERTED)
def test_asserted_options_are_assertion_errors(
    api: str, kwargs: dict[str, Any], kind: type[Exception], match: str
) -> None:
    with pytest.raises(AssertionError, match=match) as caught:
        CALLS[api](**kwargs)
    assert isinstance(caught.value, kind)
    assert isinstance(caught.value, InvalidOptionError)


def test_low_memory_ignores_filter_by_and_n_jobs_like_cleanlab() -> None:
    """cleanlab's token function passes no keyword to its batched path (it only warns)."""
    with pytest.warns(UserWarning, match="`filter_by` is not used"):
        issues = tokenclean.find_label_issues(LABELS, PRED_PROBS, low_memory=True, filter_by="nope")
    assert issues == tokenclean.find_label_issues(LABELS, PRED_PROBS, low_memory=True)


@pytest.mark.parametrize(("kwargs", "kind", "match"), ASSERTED)
def test_cleanlab_asserts_where_we_raise(
    cleanlab_stable: Any, kwargs: dict[str, Any], kind: type[Exception], match: str
) -> None:
    """The same calls make cleanlab 2.9.0 raise an AssertionError: what its callers catch."""
    import cleanlab.filter

    for theirs in (
        outcome(cleanlab_stable.find_label_issues, LABELS, PRED_PROBS, **kwargs),
        outcome(
            cleanlab.filter.find_label_issues,
            np.concatenate([np.array(s) for s in LABELS]),
            np.concatenate(PRED_PROBS),
            **kwargs,
        ),
    ):
        assert theirs[0] == "raised" and type(theirs[1]) is AssertionError, theirs


def test_cleanlab_asserts_on_sentence_score_method(cleanlab_stable: Any) -> None:
    import cleanlab.token_classification.rank as cl_rank

    for method in ("unsupported_method", None):
        theirs = outcome(
            cl_rank.get_label_quality_scores, LABELS, PRED_PROBS, sentence_score_method=method
        )
        assert theirs[0] == "raised" and type(theirs[1]) is AssertionError
        assert "Select from the following methods:" in str(theirs[1])
