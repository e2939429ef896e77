"""Find mislabeled tokens: the token-classification counterpart of cleanlab's
``cleanlab.token_classification.filter``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tokenclean import _core
from tokenclean._options import core_kwargs, float_probs, int_labels

__all__ = ["find_label_issues", "find_label_issues_flat"]


def find_label_issues(
    labels: Sequence[Sequence[int]] | Sequence[np.ndarray],
    pred_probs: Sequence[np.ndarray],
    *,
    return_indices_ranked_by: str | None = "self_confidence",
    low_memory: bool = False,
    **kwargs: Any,
) -> list[tuple[int, int]]:
    """Tokens whose given label is likely wrong, most likely first.

    Same signature and answers as cleanlab 2.9.0's
    ``cleanlab.token_classification.filter.find_label_issues``, with ties broken by position.

    Parameters
    ----------
    labels
        One sequence of integer class ids per sentence (lists of ints or integer arrays).
    pred_probs
        One ``(tokens, K)`` float32 or float64 array per sentence: out-of-sample predicted
        probabilities, columns in class-id order. Arrays are read in place, not copied.
    return_indices_ranked_by
        ``"self_confidence"`` (default), ``"normalized_margin"`` or
        ``"confidence_weighted_entropy"``: issues come back by ascending score. ``None``:
        issues in (sentence, token) order.
    low_memory
        cleanlab's batched estimate (``find_label_issues_batched``); other keywords are then
        ignored with a warning. The result is ranked like the default path.
    **kwargs
        cleanlab's ``filter.find_label_issues`` keywords: ``filter_by``, ``frac_noise``,
        ``num_to_remove_per_class``, ``min_examples_per_class``, ``confident_joint``,
        ``n_jobs``, ``verbose``, ``rank_by_kwargs`` (``{"adjust_pred_probs": bool}``).

    Returns
    -------
    list of (sentence, token) tuples

    Raises
    ------
    ValueError
        For bad values (mismatched sentences, probabilities outside [0, 1] or NaN, labels
        outside ``0..K-1``, an empty dataset, a single class, unknown option values);
        the message names the sentence and token.
    TypeError
        For values of the wrong type, or unknown keywords.

    Examples
    --------
    >>> import numpy as np
    >>> from tokenclean import find_label_issues
    >>> labels = [[0, 0, 1], [1, 0], [0, 1, 1]]
    >>> pred_probs = [
    ...     np.array([[0.95, 0.05], [0.9, 0.1], [0.2, 0.8]]),
    ...     np.array([[0.1, 0.9], [0.15, 0.85]]),
    ...     np.array([[0.8, 0.2], [0.3, 0.7], [0.25, 0.75]]),
    ... ]
    >>> find_label_issues(labels, pred_probs)
    [(1, 1)]
    """
    core, verbose = core_kwargs("find_label_issues", return_indices_ranked_by, low_memory, kwargs)
    issues: list[tuple[int, int]] = _core.find_label_issues_ragged(labels, pred_probs, **core)
    if verbose:
        print(f"Number of label issues found: {len(issues)}")
    return issues


def find_label_issues_flat(
    labels: np.ndarray | Sequence[int],
    pred_probs: np.ndarray,
    lengths: np.ndarray | Sequence[int],
    *,
    return_indices_ranked_by: str | None = "self_confidence",
    low_memory: bool = False,
    **kwargs: Any,
) -> np.ndarray:
    """:func:`find_label_issues` on flat arrays: the entry point for big data.

    Parameters
    ----------
    labels
        ``(N,)`` integer class ids of all tokens, sentences one after another.
    pred_probs
        ``(N, K)`` float32 or float64 probabilities (any strides, memory-mapped is fine;
        read in place).
    lengths
        Number of tokens of each sentence; they add up to N.

    Returns
    -------
    numpy.ndarray
        ``(M, 2)`` int64 array of (sentence, token), ranked as :func:`find_label_issues`
        ranks them (identical answer).

    Examples
    --------
    >>> import numpy as np
    >>> from tokenclean.token_classification.filter import find_label_issues_flat
    >>> labels = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    >>> pred_probs = np.array([[0.95, 0.05], [0.9, 0.1], [0.2, 0.8], [0.1, 0.9],
    ...                        [0.15, 0.85], [0.8, 0.2], [0.3, 0.7], [0.25, 0.75]])
    >>> find_label_issues_flat(labels, pred_probs, [3, 2, 3])
    array([[1, 1]])
    """
    core, verbose = core_kwargs(
        "find_label_issues_flat", return_indices_ranked_by, low_memory, kwargs
    )
    labels_arr = int_labels(labels)
    lengths_arr = int_labels(lengths, "lengths")
    allow_one_class = isinstance(labels, np.ndarray) or all(type(x) is int for x in labels)
    issues: np.ndarray = _core.find_label_issues_flat(
        labels_arr,
        float_probs(pred_probs),
        lengths_arr,
        allow_one_class=allow_one_class,
        **core,
    )
    if verbose:
        print(f"Number of label issues found: {len(issues)}")
    return issues
