"""Label quality scores and issue ranking for single-label data: mirrors ``cleanlab.rank``.

Scores are computed by the Rust engine and equal cleanlab 2.9.0's bit for bit, with the same
dtype (float32 scores for float32 probabilities, except ``confidence_weighted_entropy`` and
adjusted scores with a class that no example carries, which numpy computes in float64). Every
ordering is a stable sort: equal scores keep their position order.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import numpy.typing as npt

from tokenclean import _core
from tokenclean._options import RANKINGS, flat_inputs, one_of

__all__ = [
    "find_top_issues",
    "get_confidence_weighted_entropy_for_each_label",
    "get_label_quality_scores",
    "get_normalized_margin_for_each_label",
    "get_self_confidence_for_each_label",
    "order_label_issues",
]

FloatArray = npt.NDArray[np.floating[Any]]


def _scores(
    ids: np.ndarray, probs: np.ndarray, method: object, adjust_pred_probs: object
) -> FloatArray:
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, not {type(method).__name__}")
    one_of("method", method, RANKINGS)
    if not isinstance(adjust_pred_probs, (bool, np.bool_)):
        raise TypeError(f"adjust_pred_probs must be a bool, not {type(adjust_pred_probs).__name__}")
    scores: FloatArray = _core.label_quality_scores(ids, probs, method, bool(adjust_pred_probs))
    return scores


def get_label_quality_scores(
    labels: npt.ArrayLike,
    pred_probs: npt.ArrayLike,
    *,
    method: str = "self_confidence",
    adjust_pred_probs: bool = False,
) -> FloatArray:
    """A label quality score in [0, 1] for every example; low means likely mislabeled.

    Parameters
    ----------
    labels
        ``(N,)`` integer class ids in ``0..K-1``.
    pred_probs
        ``(N, K)`` float32 or float64 out-of-sample predicted probabilities (any memory layout).
    method
        - ``"self_confidence"``: the probability of the given label;
        - ``"normalized_margin"``: ``(p[label] - max of the other classes + 1) / 2``;
        - ``"confidence_weighted_entropy"``: the normalised entropy of the row divided by the
          self-confidence, mapped into [0, 1] by ``x -> log(x + 1) / x``.
    adjust_pred_probs
        Score probabilities shifted by the per-class confident thresholds and renormalised,
        which accounts for class imbalance. Not available for
        ``"confidence_weighted_entropy"``.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` scores, float32 for float32 probabilities (float64 for
        ``"confidence_weighted_entropy"``, and for adjusted scores when a class never occurs).

    Examples
    --------
    >>> import numpy as np
    >>> from tokenclean.rank import get_label_quality_scores
    >>> labels = np.array([0, 1, 1])
    >>> pred_probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]])
    >>> get_label_quality_scores(labels, pred_probs)
    array([0.9, 0.4, 0.8])
    >>> get_label_quality_scores(labels, pred_probs, method="normalized_margin")
    array([0.9, 0.4, 0.8])
    """
    ids, probs = flat_inputs(labels, pred_probs)
    return _scores(ids, probs, method, adjust_pred_probs)


def order_label_issues(
    label_issues_mask: npt.ArrayLike,
    labels: npt.ArrayLike,
    pred_probs: npt.ArrayLike,
    *,
    rank_by: str = "self_confidence",
    rank_by_kwargs: dict[str, Any] = {},  # noqa: B006 (never mutated; cleanlab's default)
) -> npt.NDArray[np.intp]:
    """Indices of the flagged examples, lowest label quality score first.

    Parameters
    ----------
    label_issues_mask
        ``(N,)`` boolean mask of the examples to rank (an integer index array works too).
    labels
        ``(N,)`` integer class ids in ``0..K-1`` (at least two classes, unless all are 0).
    pred_probs
        ``(N, K)`` float32 or float64 predicted probabilities.
    rank_by
        Score of :func:`get_label_quality_scores` to rank by.
    rank_by_kwargs
        Extra keywords for :func:`get_label_quality_scores` (``adjust_pred_probs``).

    Returns
    -------
    numpy.ndarray
        Indices of the masked examples by ascending score; equal scores keep index order.

    Examples
    --------
    >>> import numpy as np
    >>> from tokenclean.rank import order_label_issues
    >>> labels = np.array([0, 1, 1, 0])
    >>> pred_probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.6, 0.4]])
    >>> order_label_issues(np.array([False, True, True, True]), labels, pred_probs)
    array([1, 3, 2])
    """
    ids, probs = flat_inputs(labels, pred_probs)
    one_class = ids.size > 0 and bool(np.all(ids == ids[0]))
    if one_class and not (ids[0] == 0 and _zero_labels_allowed(labels)):
        raise ValueError("labels must contain at least 2 classes")
    mask = np.asarray(label_issues_mask)
    if mask.dtype == np.bool_ and mask.shape != ids.shape:
        raise ValueError(
            f"label_issues_mask has shape {mask.shape}; it must be ({ids.shape[0]},) like labels"
        )
    if rank_by_kwargs is None:
        rank_by_kwargs = {}
    extra = sorted(set(rank_by_kwargs) - {"adjust_pred_probs"})
    if extra:
        raise TypeError(f"rank_by_kwargs got an unexpected keyword argument {extra[0]!r}")
    scores = _scores(ids, probs, rank_by, rank_by_kwargs.get("adjust_pred_probs", False))
    positions = np.arange(ids.shape[0])[mask]
    ranked: npt.NDArray[np.intp] = positions[np.argsort(scores[mask], kind="stable")]
    return ranked


def _zero_labels_allowed(labels: object) -> bool:
    """cleanlab accepts a single class only when the labels are all 0 and given as a numpy
    array or as Python ints."""
    if isinstance(labels, np.ndarray):
        return True
    try:
        return all(isinstance(label, int) for label in labels)  # type: ignore[attr-defined]
    except TypeError:
        return False


def find_top_issues(quality_scores: npt.ArrayLike, *, top: int | None = 10) -> npt.NDArray[np.intp]:
    """Indices of the ``top`` lowest quality scores, lowest first (ties in index order).

    Parameters
    ----------
    quality_scores
        ``(N,)`` scores, one per example.
    top
        How many indices to return; ``None`` (or more than N) returns all.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from tokenclean.rank import find_top_issues
    >>> find_top_issues(np.array([0.5, 0.1, 0.9, 0.1]), top=3)
    array([1, 3, 0])
    """
    scores = np.asarray(quality_scores)
    if top is None or top > len(scores):
        top = len(scores)
    top_indices: npt.NDArray[np.intp] = np.argsort(scores, kind="stable")[:top]
    return top_indices


def get_self_confidence_for_each_label(
    labels: npt.ArrayLike, pred_probs: npt.ArrayLike
) -> FloatArray:
    """The predicted probability of each example's given label (the ``"self_confidence"``
    score), in the dtype of ``pred_probs``.

    Examples
    --------
    >>> import numpy as np
    >>> from tokenclean.rank import get_self_confidence_for_each_label
    >>> get_self_confidence_for_each_label(np.array([0, 1]), np.array([[0.7, 0.3], [0.6, 0.4]]))
    array([0.7, 0.4])
    """
    ids, probs = flat_inputs(labels, pred_probs)
    return _scores(ids, probs, "self_confidence", False)


def get_normalized_margin_for_each_label(
    labels: npt.ArrayLike, pred_probs: npt.ArrayLike
) -> FloatArray:
    """``(p[label] - max_{j != label} p[j] + 1) / 2`` for each example, in the dtype of
    ``pred_probs`` (the ``"normalized_margin"`` score).

    Examples
    --------
    >>> import numpy as np
    >>> from tokenclean.rank import get_normalized_margin_for_each_label
    >>> get_normalized_margin_for_each_label(np.array([0, 1]), np.array([[0.7, 0.3], [0.6, 0.4]]))
    array([0.7, 0.4])
    """
    ids, probs = flat_inputs(labels, pred_probs)
    return _scores(ids, probs, "normalized_margin", False)


def get_confidence_weighted_entropy_for_each_label(
    labels: npt.ArrayLike, pred_probs: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """The ``"confidence_weighted_entropy"`` score of each example (float64).

    The row's entropy divided by ``log(K)``, divided by the self-confidence (floored at
    ``1e-6``), then mapped into [0, 1] by ``x -> log(x + 1) / max(x, 1e-6)``. Probabilities
    must lie in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from tokenclean.rank import get_confidence_weighted_entropy_for_each_label
    >>> scores = get_confidence_weighted_entropy_for_each_label(
    ...     np.array([0, 1]), np.array([[0.9, 0.1], [0.9, 0.1]]))
    >>> scores.round(4)
    array([0.8049, 0.3707])
    """
    ids, probs = flat_inputs(labels, pred_probs)
    scores = _scores(ids, probs, "confidence_weighted_entropy", False)
    return cast("npt.NDArray[np.float64]", scores)
