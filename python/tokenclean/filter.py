"""Multi-class (one label per example) label issues: mirrors ``cleanlab.filter``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tokenclean import _core
from tokenclean._options import core_kwargs, float_probs, int_labels

__all__ = ["find_label_issues"]


def find_label_issues(
    labels: np.ndarray | Sequence[int],
    pred_probs: np.ndarray,
    *,
    return_indices_ranked_by: str | None = None,
    **kwargs: Any,
) -> np.ndarray:
    """Examples whose given label is likely wrong.

    Same signature and answers as cleanlab 2.9.0's ``cleanlab.filter.find_label_issues``
    (single-label), with ties broken by position.

    Parameters
    ----------
    labels
        ``(N,)`` integer class ids.
    pred_probs
        ``(N, K)`` float32 or float64 out-of-sample predicted probabilities.
    return_indices_ranked_by
        ``None`` (default): a boolean mask of issues. Otherwise ``"self_confidence"``,
        ``"normalized_margin"`` or ``"confidence_weighted_entropy"``: the issues' indices by
        ascending score.
    **kwargs
        ``rank_by_kwargs``, ``filter_by``, ``frac_noise``, ``num_to_remove_per_class``,
        ``min_examples_per_class``, ``confident_joint``, ``n_jobs``, ``verbose``,
        ``multi_label`` (only False).

    Examples
    --------
    >>> import numpy as np
    >>> from tokenclean.filter import find_label_issues
    >>> labels = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    >>> pred_probs = np.array([[0.95, 0.05], [0.9, 0.1], [0.2, 0.8], [0.1, 0.9],
    ...                        [0.15, 0.85], [0.8, 0.2], [0.3, 0.7], [0.25, 0.75]])
    >>> find_label_issues(labels, pred_probs).nonzero()[0]
    array([4])
    >>> find_label_issues(labels, pred_probs, return_indices_ranked_by="self_confidence")
    array([4])
    """
    core, verbose = core_kwargs("find_label_issues", return_indices_ranked_by, False, kwargs)
    labels_arr = int_labels(labels)
    allow_one_class = isinstance(labels, np.ndarray) or all(type(x) is int for x in labels)
    flat: np.ndarray = _core.find_label_issues_flat(
        labels_arr,
        float_probs(pred_probs),
        None,
        allow_one_class=allow_one_class,
        numpy_layout=True,
        **core,
    )
    if verbose:
        print(f"Number of label issues found: {len(flat)}")
    if return_indices_ranked_by is None:
        mask = np.zeros(len(labels_arr), dtype=bool)
        mask[flat] = True
        return mask
    return flat
