"""Pure-numpy reference implementation of tokenclean's label-issue search.

This module is the *oracle* of the project: a slow, readable description of
the algorithm in ``SPEC.md`` section 3 that the Rust engine is tested
against. It is written from the specification, not from cleanlab, but it is
meant to give exactly the answer of cleanlab 2.9.0 *with every sort made
stable*, bit for bit, for float32 and float64 probabilities.

Conventions used throughout
---------------------------
* Tokens are numbered ``0..N-1`` in sentence-then-token order ("flat index").
* ``p`` is the ``(N, K)`` probability matrix, ``labels`` the ``(N,)`` given
  class of every token.
* "the dtype" is the dtype of ``p`` (float32 or float64). Arithmetic happens
  in that dtype unless a comment says otherwise; Python scalars combined with
  numpy arrays follow NEP 50 (a Python float added to a float32 array is a
  float32 operation).
* Every ordering uses a *stable* sort, so equal keys keep position order.
  numpy's float comparisons are used: ``-0.0 == 0.0`` (a tie) and NaN sorts
  after every number.
* Sums that matter for rounding are numpy's pairwise sums of a contiguous
  1-D array (:func:`_pairwise_sum`); the comments say which element order is
  summed.

Subtleties (each pinned by a test in ``tests/test_reference_vs_cleanlab.py``)
-------------------------------------------------------------------------
* Only sentences with rows take part in the dtype promotion of the token
  function: an empty float64 sentence leaves float32 data float32.
* The calibration total is summed column-major; the prune step's column sums
  are pairwise, or sequential for a confident joint supplied in Fortran order.
* Row sums of the entropy score and of the adjusted probabilities are
  numpy's ``sum(axis=1)``: pairwise for row-major input (always the case for
  flattened token data), sequential across columns for column-major input.
* Prune counts are truncated, not rounded; ``num_to_remove_per_class`` can
  produce NaN entries (0/0), which prune nothing, and a row containing NaN
  skips the sum-preserving adjustment.
* The batched (``low_memory``) thresholds floor a never-seen class at
  ``2e-6``, not 2, and compare float32 probabilities in float64.

Only numpy is imported at module level; scipy is imported lazily for the
``confidence_weighted_entropy`` score (``scipy.special.xlogy``).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "FILTER_METHODS",
    "PRUNE_FILTERS",
    "SCORE_METHODS",
    "calibrate_confident_joint",
    "confident_joint",
    "confident_thresholds",
    "find_label_issues",
    "find_label_issues_flat",
    "label_quality_scores",
    "low_memory_num_issues",
    "low_memory_thresholds",
    "num_label_issues_off_diagonal",
    "prune_count_matrix",
    "reduce_issues_mask",
    "round_preserving_row_totals",
    "round_preserving_sum",
]

#: Ways of choosing the flagged tokens (``filter_by``).
FILTER_METHODS = (
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_normalized_margin",
    "low_self_confidence",
)
#: Filters that use the prune-count matrix.
PRUNE_FILTERS = ("prune_by_noise_rate", "prune_by_class", "both")
#: Label quality scores (``return_indices_ranked_by``).
SCORE_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")

_MISSING_CLASS_THRESHOLD = 2  # a Python int: it turns the threshold vector into float64
_THRESHOLD_FLOOR = 2e-6  # lower bound of every per-class threshold
_SLACK = 1e-6  # fuzz used in threshold comparisons and in the "keep" test
_SCORE_FLOOR = 1e-6  # lower bound applied before dividing in the entropy score
_TINY = 1e-100  # guards the divisions of the calibration step
_LOW_MEMORY_BATCH = 10_000  # batch length of the low-memory algorithm

FloatArray = NDArray[Any]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


# ---------------------------------------------------------------------------
# small numeric building blocks
# ---------------------------------------------------------------------------


def _stable_argsort(values: ArrayLike) -> IntArray:
    """Indices that sort ``values`` ascending; equal values keep position order."""
    return np.argsort(np.asarray(values), kind="stable").astype(np.int64, copy=False)


def _pairwise_sum(values: FloatArray) -> Any:
    """numpy's sum of a 1-D array, in its dtype, with numpy's pairwise algorithm.

    The summation order is the element order of ``values``. (numpy: fewer than
    8 values are added in order; up to 128 values use eight interleaved
    accumulators combined as ``((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7))`` followed
    by the remaining tail in order; longer runs are split in two at ``n/2``
    rounded down to a multiple of 8.)
    """
    return np.sum(np.ascontiguousarray(values).reshape(-1))


def _numpy_mean(values: FloatArray) -> Any:
    """``np.mean`` of a non-empty 1-D float array, spelled out.

    The pairwise sum is taken in the array's dtype; the division by the count
    happens in float64 and the quotient is rounded back to the dtype.
    """
    total = _pairwise_sum(values)
    return values.dtype.type(np.float64(total) / np.float64(values.shape[0]))


def _indices_by_class(labels: IntArray, num_classes: int) -> list[IntArray]:
    """For every class ``k``, the flat indices of tokens labelled ``k``, ascending."""
    order = _stable_argsort(labels)
    bounds = np.searchsorted(labels[order], np.arange(num_classes + 1), side="left")
    return [order[bounds[k] : bounds[k + 1]] for k in range(num_classes)]


def _as_labels(labels: ArrayLike) -> IntArray:
    return np.asarray(labels, dtype=np.int64).reshape(-1)


def _given_label_probs(labels: IntArray, p: FloatArray) -> FloatArray:
    """``p[f, labels[f]]`` for every token (the self-confidence)."""
    out: FloatArray = p[np.arange(labels.shape[0]), labels]
    return out


# ---------------------------------------------------------------------------
# thresholds and the confident joint (SPEC section 3, steps 3-4)
# ---------------------------------------------------------------------------


def confident_thresholds(labels: ArrayLike, pred_probs: FloatArray, K: int) -> FloatArray:
    """Per-class confidence thresholds ``t_k``.

    ``t_k`` is the mean of ``p[f, k]`` over the tokens labelled ``k`` (numpy's
    mean, see :func:`_numpy_mean`). A class that no token carries gets the
    integer ``2``, which no probability reaches; because it is a Python int,
    the presence of any missing class makes the whole vector float64 (when
    every class is present, the vector keeps the probabilities' dtype).
    Finally every threshold is raised to at least ``2e-6`` (in the vector's
    dtype).
    """
    y = _as_labels(labels)
    p = np.asarray(pred_probs)
    means: list[Any] = []
    any_missing = False
    for k, members in enumerate(_indices_by_class(y, K)):
        if members.shape[0] == 0:
            any_missing = True
            means.append(None)
        else:
            means.append(_numpy_mean(p[members, k]))
    if any_missing:
        vec = np.array(
            [_MISSING_CLASS_THRESHOLD if m is None else float(m) for m in means],
            dtype=np.float64,
        )
    else:
        vec = np.array(means, dtype=p.dtype)
    floored: FloatArray = np.maximum(vec, vec.dtype.type(_THRESHOLD_FLOOR))
    return floored


def _confident_guesses(
    labels: IntArray, p: FloatArray, thresholds: FloatArray
) -> tuple[BoolArray, IntArray]:
    """Which tokens are counted in the confident joint, and their guessed class.

    Class ``j`` is *confident* for a token when ``p[f, j] >= t_j - 1e-6``; the
    subtraction happens in the thresholds' dtype, the comparison in the wider
    of the two dtypes. A token with no confident class is not counted. With
    exactly one, that class is the guess; with several, the guess is the
    row's argmax (first maximum).
    """
    cut = thresholds - thresholds.dtype.type(_SLACK)
    confident = p >= cut
    n_confident = confident.sum(axis=1)
    guess = np.where(n_confident > 1, p.argmax(axis=1), confident.argmax(axis=1))
    return n_confident > 0, guess.astype(np.int64)


def round_preserving_sum(x: ArrayLike) -> IntArray:
    """Round floats to integers whose total is the rounded total of the floats.

    Every value is rounded half-to-even. While the sum of the rounded values
    (numpy pairwise sum, then rounded) differs from the rounded sum of the
    originals, ``d`` entries are moved by one step towards the target, where
    ``d`` is the remaining difference (at most the number of entries). The
    entries are chosen by a stable ascending sort of ``x - round(x)``:

    * to step *down*, the first ``d`` entries of that order (the most
      rounded-up ones, ties by position);
    * to step *up*, the first ``d`` entries of the *reversed* order, so among
      equal fractional parts the later position is raised first.

    A step that leaves the rounded total unchanged ends the loop.
    """
    floats = np.asarray(x, dtype=np.float64).reshape(-1)
    ints = np.round(floats)
    target = np.round(_pairwise_sum(floats))
    current = np.round(_pairwise_sum(ints))
    while abs(current - target) > _SLACK:
        diff = np.round(target - current)
        step = -1 if diff < 0.0 else 1
        n_changes = min(int(abs(diff)), floats.shape[0])
        order = _stable_argsort(floats - ints)
        if step == 1:
            order = order[::-1]
        chosen = order[:n_changes]
        ints[chosen] = ints[chosen] + step
        previous, current = current, np.round(_pairwise_sum(ints))
        if current == previous:
            # No representable progress (values past 2**53, or no entry to move): cleanlab
            # loops forever here; the engine stops, and so does the oracle.
            break
    with np.errstate(invalid="ignore"):
        return ints.astype(np.int64)


def round_preserving_row_totals(m: ArrayLike) -> IntArray:
    """:func:`round_preserving_sum` applied to every row of a 2-D matrix."""
    mat = np.asarray(m)
    rows = [round_preserving_sum(mat[i]) for i in range(mat.shape[0])]
    if not rows:
        return np.zeros(mat.shape, dtype=np.int64)
    return np.stack(rows).astype(np.int64)


def calibrate_confident_joint(
    cj: ArrayLike, labels: ArrayLike, *, total_order: str = "F"
) -> IntArray:
    """Rescale a confident joint to the label counts, then round it.

    1. Row ``i`` is divided by its total (at least ``1e-100``) and multiplied
       by the number of tokens labelled ``i``: ``cj[i, j] / rowsum_i * n_i``,
       in float64.
    2. The whole matrix is divided by its total (at least ``1e-100``) and
       multiplied by ``N``. The total is a pairwise sum over the matrix in
       memory order. With the default ``total_order="F"`` that is
       **column-major** order (column 0 top to bottom, then column 1, ...):
       the order on the path of ``find_label_issues``, where the confident
       joint is a transposed array. (cleanlab's public
       ``calibrate_confident_joint`` follows the memory layout of the matrix
       it is given: ``total_order="C"`` reproduces it for a C-ordered matrix.)
    3. Every row is rounded with :func:`round_preserving_sum`.
    """
    joint = np.asarray(cj)
    K = joint.shape[0]
    y = _as_labels(labels)
    counts = np.bincount(y, minlength=K).astype(np.int64)
    row_totals = np.maximum(joint.sum(axis=1), _TINY).astype(np.float64)
    scaled = joint.astype(np.float64) / row_totals[:, None] * counts[:, None].astype(np.float64)
    total = _pairwise_sum(scaled.ravel(order="F" if total_order == "F" else "C"))
    scaled = scaled / max(float(total), _TINY) * np.float64(int(counts.sum()))
    return round_preserving_row_totals(scaled)


def confident_joint(
    labels: ArrayLike, pred_probs: FloatArray, calibrate: bool = True
) -> tuple[IntArray, IntArray]:
    """The confident joint ``CJ[given label][guessed class]`` and its off-diagonal tokens.

    Each counted token (see :func:`_confident_guesses`) adds one to
    ``CJ[label, guess]``. The diagonal is then raised to at least 1 and, when
    ``calibrate`` is true, the matrix is calibrated with
    :func:`calibrate_confident_joint`.

    Returns ``(cj, off_diagonal)``: ``cj`` is an int64 ``(K, K)`` matrix,
    ``off_diagonal`` the flat indices (ascending) of counted tokens whose
    guess differs from their label.
    """
    y = _as_labels(labels)
    p = np.asarray(pred_probs)
    K = p.shape[1]
    thresholds = confident_thresholds(y, p, K)
    counted, guess = _confident_guesses(y, p, thresholds)
    cells = y[counted] * K + guess[counted]
    cj = np.bincount(cells, minlength=K * K).astype(np.int64).reshape(K, K)
    np.fill_diagonal(cj, np.maximum(np.diagonal(cj), 1))
    if calibrate:
        cj = calibrate_confident_joint(cj, y)
    off_diagonal = np.flatnonzero(counted & (guess != y)).astype(np.int64)
    return cj, off_diagonal


def reduce_issues_mask(labels: ArrayLike, pred_probs: FloatArray) -> BoolArray:
    """Tokens the model (almost) agrees with: never reported as issues.

    ``1e-6`` is added, in the probabilities' dtype, to each token's
    probability of its given label; a token is kept out of the issues when
    the argmax of that row (first maximum) is then the given label.
    """
    y = _as_labels(labels)
    p = np.array(pred_probs, copy=True)
    rows = np.arange(y.shape[0])
    p[rows, y] = p[rows, y] + p.dtype.type(_SLACK)
    mask: BoolArray = p.argmax(axis=1) == y
    return mask


def num_label_issues_off_diagonal(labels: ArrayLike, pred_probs: FloatArray) -> int:
    """Estimated number of issues: off-diagonal confident-joint tokens not kept.

    The off-diagonal tokens of the (uncalibrated) confident joint, minus
    those for which :func:`reduce_issues_mask` is true.
    """
    y = _as_labels(labels)
    _, off_diagonal = confident_joint(y, pred_probs, calibrate=False)
    keep = reduce_issues_mask(y, pred_probs)
    return int(np.count_nonzero(~keep[off_diagonal]))


# ---------------------------------------------------------------------------
# prune counts (SPEC section 3, step 5)
# ---------------------------------------------------------------------------


def prune_count_matrix(
    cj: ArrayLike,
    label_counts: ArrayLike,
    min_examples_per_class: int = 1,
    frac_noise: float = 1.0,
    num_to_remove_per_class: Sequence[int] | None = None,
    *,
    column_sums: str = "pairwise",
) -> IntArray:
    """How many tokens to prune, as an int64 matrix ``PCM`` oriented like ``CJ.T``.

    ``PCM[j, k]`` (``j != k``) is the number of tokens labelled ``k`` to flag
    as probably being ``j``; ``PCM[k, k]`` is the number of tokens labelled
    ``k`` to keep. Starting from ``M = CJ.T`` in float64, for every column
    ``k``:

    1. the diagonal entry is raised to at least ``min_examples_per_class``;
       the raise ``r_k`` is subtracted from every entry of the column,
       divided by ``max(nonzero_k - 1, 1)`` where ``nonzero_k`` counts the
       non-zero entries of the column (diagonal included) before the change;
       negative results become 0 and the diagonal is set to its raised value;
    2. the off-diagonal entries are multiplied by ``frac_noise`` and the
       diagonal gains what they lost: the pairwise sum, down the column, of
       ``M - M * frac_noise`` (off-diagonal; the diagonal term is 0);
    3. the matrix is **truncated** to integers (``4.5 -> 4``): column totals
       are not preserved.

    The column sums of step 2 are pairwise because ``CJ.T`` is then a
    column-major array (numpy reduces each contiguous column). For a
    confident joint *supplied* in Fortran order, ``CJ.T`` is row-major and
    numpy adds the rows one after another: pass ``column_sums="sequential"``
    to reproduce that (it only matters for K >= 9 and ``frac_noise < 1``).

    With ``num_to_remove_per_class`` (``n``), the matrix is then rebuilt:
    ``psy[i, j] = PCM[i, j] / rowsum(PCM)[j]`` -- note the row total of row
    ``j`` divides *column* ``j`` (numpy broadcasting); ``noise_i`` = pairwise
    sum of row ``i`` of ``psy`` minus ``psy[i, i]``; ``T[i, j] = psy[i, j] *
    n_i / noise_i`` off the diagonal, ``T[i, i] = label_count_i - n_i``; and
    the result is ``round_preserving_row_totals(T)``. Divisions by zero give
    NaN entries, which numpy casts to an integer that is never positive (so
    they prune nothing).
    """
    m = np.array(cj, dtype=np.float64).T.copy()
    K = m.shape[0]
    counts = np.asarray(label_counts, dtype=np.int64)

    diagonal = np.diagonal(m).copy()
    raised = np.maximum(diagonal, min_examples_per_class)
    raise_by = raised - diagonal
    nonzero = np.count_nonzero(m, axis=0)
    spread_over = np.maximum(nonzero - 1.0, 1.0)
    m = m - (raise_by / spread_over)[None, :]
    m[m < 0] = 0
    np.fill_diagonal(m, raised)

    reduced = m * frac_noise
    np.fill_diagonal(reduced, np.diagonal(m))
    lost = m - reduced
    if column_sums == "sequential":
        lost_per_column = np.array([np.cumsum(lost[:, k])[-1] for k in range(K)])
    else:
        lost_per_column = np.array([_pairwise_sum(lost[:, k]) for k in range(K)])
    np.fill_diagonal(reduced, np.diagonal(m) + lost_per_column)
    pcm = reduced.astype(np.int64)  # truncation toward zero

    if num_to_remove_per_class is not None:
        remove = np.asarray(num_to_remove_per_class, dtype=np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            row_totals = pcm.sum(axis=1)
            psy = pcm / row_totals[None, :]
            noise = np.array([_pairwise_sum(psy[i]) for i in range(K)]) - np.diagonal(psy)
            target = psy * remove[:, None] / noise[:, None]
        np.fill_diagonal(target, counts - remove)
        pcm = round_preserving_row_totals(target)
    out: IntArray = pcm
    return out


# ---------------------------------------------------------------------------
# label quality scores (SPEC section 3, step 8)
# ---------------------------------------------------------------------------


def _adjusted_probs(labels: IntArray, p: FloatArray) -> FloatArray:
    """``p - t + max(t)``, each row divided by its total.

    ``t`` are the :func:`confident_thresholds` of the full data. The result
    has the promoted dtype of ``p`` and ``t`` (float64 when a class is
    missing, because ``t`` then is float64). The row total is numpy's
    ``sum(axis=1)``: a pairwise sum along each row for a row-major ``p``
    (always the case for flattened token data); for a column-major ``p``
    numpy adds the columns one after another instead.
    """
    t = confident_thresholds(labels, p, p.shape[1])
    adjusted: FloatArray = p - t
    adjusted += t.max()
    adjusted /= adjusted.sum(axis=1, keepdims=True)
    return adjusted


def _normalized_margin(labels: IntArray, p: FloatArray) -> FloatArray:
    """``(p[label] - max_{j != label} p[j] + 1) / 2``, in the dtype of ``p``."""
    own = _given_label_probs(labels, p)
    others = np.array(p, copy=True)
    others[np.arange(labels.shape[0]), labels] = -np.inf
    best_other = others.max(axis=1)
    out: FloatArray = (own - best_other + 1) / 2
    return out


def _confidence_weighted_entropy(labels: IntArray, p: FloatArray) -> FloatArray:
    """The confidence-weighted entropy score (always float64).

    1. ``ValueError`` if any probability is below 0 or above 1 (no slack).
    2. entropy ``e = -sum_j xlogy(p_j, p_j)`` computed in the dtype of ``p``
       (scipy's ``xlogy``; the row sum is pairwise for a row-major ``p`` and
       sequential over the columns for a column-major one, as numpy does),
       then divided by ``log(K)`` in float64;
    3. ``s = e / max(p[label], 1e-6)`` (the ``max`` in the dtype of ``p``);
    4. score ``= log(s + 1) / max(s, 1e-6)`` in float64.
    """
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError("confidence_weighted_entropy needs every probability in [0, 1]")
    # scipy is needed only here; its xlogy on float32 input computes in float32
    xlogy = importlib.import_module("scipy.special").xlogy

    K = p.shape[1]
    entropy = -np.sum(xlogy(p, p), axis=1) / np.log(np.float64(K))
    own = np.maximum(_given_label_probs(labels, p), p.dtype.type(_SCORE_FLOOR))
    ratio = entropy / own
    out: FloatArray = np.log(ratio + 1) / np.maximum(ratio, _SCORE_FLOOR)
    return out


def label_quality_scores(
    labels: ArrayLike,
    pred_probs: FloatArray,
    method: str = "self_confidence",
    adjust_pred_probs: bool = False,
) -> FloatArray:
    """Label quality score of every token (lower = more likely mislabelled).

    ``method`` is one of :data:`SCORE_METHODS`:

    * ``self_confidence``: ``p[label]`` (dtype of ``p``);
    * ``normalized_margin``: see :func:`_normalized_margin` (dtype of ``p``);
    * ``confidence_weighted_entropy``: see :func:`_confidence_weighted_entropy`
      (float64; raises ``ValueError`` for probabilities outside [0, 1]).

    ``adjust_pred_probs=True`` scores :func:`_adjusted_probs` instead of
    ``p``; it is a ``ValueError`` with ``confidence_weighted_entropy``.
    """
    if method not in SCORE_METHODS:
        raise ValueError(f"unknown label quality score method: {method!r}")
    y = _as_labels(labels)
    p = np.asarray(pred_probs)
    if adjust_pred_probs:
        if method == "confidence_weighted_entropy":
            raise ValueError(
                "adjust_pred_probs cannot be combined with confidence_weighted_entropy"
            )
        p = _adjusted_probs(y, p)
    if method == "self_confidence":
        return _given_label_probs(y, p)
    if method == "normalized_margin":
        return _normalized_margin(y, p)
    return _confidence_weighted_entropy(y, p)


# ---------------------------------------------------------------------------
# flagging (SPEC section 3, steps 5-7)
# ---------------------------------------------------------------------------


def _flag_prune_by_class(
    p: FloatArray, groups: list[IntArray], pcm: IntArray, min_examples: int
) -> BoolArray:
    """Per class ``k`` with more than ``min_examples`` tokens (and at least 2):
    flag the ``count_k - PCM[k, k]`` tokens with the smallest ``p[:, k]``."""
    flags = np.zeros(p.shape[0], dtype=bool)
    for k, members in enumerate(groups):
        n_k = members.shape[0]
        if n_k <= min_examples or n_k <= 1:
            continue
        n_flag = int(n_k - pcm[k, k])
        if n_flag >= 1:
            order = _stable_argsort(p[members, k])
            flags[members[order[:n_flag]]] = True
    return flags


def _flag_prune_by_noise_rate(
    p: FloatArray, groups: list[IntArray], pcm: IntArray, min_examples: int
) -> BoolArray:
    """Per class ``k`` with more than ``min_examples`` tokens (and at least 2):
    for every other class ``j`` with ``PCM[j, k] > 0``, flag the ``PCM[j, k]``
    tokens with the largest margin ``p[:, j] - p[:, k]`` (computed in the
    dtype; ordered by a stable ascending sort of the *negated* margin)."""
    flags = np.zeros(p.shape[0], dtype=bool)
    K = p.shape[1]
    for k, members in enumerate(groups):
        n_k = members.shape[0]
        if n_k <= min_examples or n_k <= 1:
            continue
        rows = p[members]
        for j in range(K):
            n_flag = int(pcm[j, k])
            if j == k or n_flag <= 0:
                continue
            margin = rows[:, j] - rows[:, k]
            order = _stable_argsort(-margin)
            flags[members[order[:n_flag]]] = True
    return flags


def _issue_mask(
    y: IntArray,
    p: FloatArray,
    *,
    filter_by: str,
    frac_noise: float,
    num_to_remove_per_class: Sequence[int] | None,
    min_examples_per_class: int,
    confident_joint_in: ArrayLike | None,
) -> BoolArray:
    """The boolean issue mask of :func:`find_label_issues_flat` (before ranking)."""
    K = p.shape[1]
    if filter_by in ("low_self_confidence", "low_normalized_margin"):
        scores = label_quality_scores(y, p, filter_by[len("low_") :])
        n_issues = num_label_issues_off_diagonal(y, p)
        flags = np.zeros(y.shape[0], dtype=bool)
        flags[_stable_argsort(scores)[:n_issues]] = True
        return flags  # the low_* filters skip the "keep" step

    if filter_by == "confident_learning":
        flags = np.zeros(y.shape[0], dtype=bool)
        flags[confident_joint(y, p, calibrate=True)[1]] = True
    elif filter_by == "predicted_neq_given":
        flags = p.argmax(axis=1) != y
    else:
        column_sums = "pairwise"
        if confident_joint_in is None:
            cj = confident_joint(y, p)[0]
        else:
            cj = np.asarray(confident_joint_in)
            if cj.flags.f_contiguous and not cj.flags.c_contiguous:
                column_sums = "sequential"  # see prune_count_matrix
        groups = _indices_by_class(y, K)
        counts = np.array([g.shape[0] for g in groups], dtype=np.int64)
        pcm = prune_count_matrix(
            cj,
            counts,
            min_examples_per_class,
            frac_noise,
            num_to_remove_per_class,
            column_sums=column_sums,
        )
        if filter_by == "prune_by_class":
            flags = _flag_prune_by_class(p, groups, pcm, min_examples_per_class)
        elif filter_by == "prune_by_noise_rate":
            flags = _flag_prune_by_noise_rate(p, groups, pcm, min_examples_per_class)
        else:  # both
            flags = _flag_prune_by_class(
                p, groups, pcm, min_examples_per_class
            ) & _flag_prune_by_noise_rate(p, groups, pcm, min_examples_per_class)

    flags[reduce_issues_mask(y, p)] = False
    return flags


def _rank(
    flags: BoolArray,
    y: IntArray,
    p: FloatArray,
    method: str | None,
    adjust_pred_probs: bool,
) -> IntArray:
    """Flagged indices by ascending score (ties by position); position order if no method.

    Scores are computed on *all* tokens, then the flagged ones are sorted.
    """
    flagged = np.flatnonzero(flags).astype(np.int64)
    if method is None:
        return flagged
    scores = label_quality_scores(y, p, method, adjust_pred_probs)
    return flagged[_stable_argsort(scores[flagged])]


def low_memory_thresholds(
    labels: ArrayLike, pred_probs: FloatArray, batch_size: int = _LOW_MEMORY_BATCH
) -> FloatArray:
    """Per-class thresholds of the batched (``low_memory=True``) algorithm, float64.

    A running mean over consecutive batches of ``batch_size`` tokens. Each
    batch's :func:`confident_thresholds` (float32 when the batch holds every
    class of float32 input, else float64; floored at ``2e-6`` in that dtype)
    enters weighted by the batch's class counts ``c``, in float64:
    ``t = (seen * t + c * t_batch) / max(seen + c, 1)``, then
    ``t = max(t, 2e-6)`` and ``seen += c``. A class that no token carries ends
    at ``2e-6`` (not at 2).
    """
    y = _as_labels(labels)
    p = np.asarray(pred_probs)
    N, K = p.shape
    thresholds = np.zeros(K, dtype=np.float64)
    seen = np.zeros(K, dtype=np.float64)
    for start in range(0, N, batch_size):
        batch_y = y[start : start + batch_size]
        batch_p = p[start : start + batch_size]
        batch_t = confident_thresholds(batch_y, batch_p, K).astype(np.float64)
        batch_n = np.bincount(batch_y, minlength=K).astype(np.float64)
        thresholds = (seen * thresholds + batch_n * batch_t) / np.maximum(seen + batch_n, 1.0)
        thresholds = np.maximum(thresholds, _THRESHOLD_FLOOR)
        seen = seen + batch_n
    return thresholds


def low_memory_num_issues(labels: ArrayLike, pred_probs: FloatArray, thresholds: FloatArray) -> int:
    """Number of issues estimated by the batched algorithm.

    Tokens whose argmax ``a`` (first maximum) differs from the label and with
    ``p[a] >= t_a - 1e-6``, where ``t`` are the float64
    :func:`low_memory_thresholds`: the subtraction and the comparison are in
    float64 even for float32 probabilities.
    """
    y = _as_labels(labels)
    p = np.asarray(pred_probs)
    predicted = p.argmax(axis=1)
    cut = np.asarray(thresholds, dtype=np.float64) - _SLACK
    confident = p[np.arange(y.shape[0]), predicted] >= cut[predicted]
    return int(np.count_nonzero(confident & (predicted != y)))


def _low_memory_issues(y: IntArray, p: FloatArray, method: str | None) -> IntArray:
    """The batched (``low_memory=True``) algorithm, ranked by score.

    1. :func:`low_memory_thresholds` with batches of 10 000 tokens;
    2. ``n`` = :func:`low_memory_num_issues`;
    3. the ``n`` lowest ``method`` scores (stable sort; the scores are those of
       :func:`label_quality_scores` without ``adjust_pred_probs``), minus the
       tokens selected by :func:`reduce_issues_mask`. The order of the
       remaining tokens is kept (ascending score). With ``method=None``,
       self-confidence selects and the result is in position order.
    """
    thresholds = low_memory_thresholds(y, p)
    n_issues = low_memory_num_issues(y, p, thresholds)
    scores = label_quality_scores(y, p, "self_confidence" if method is None else method)
    selected = _stable_argsort(scores)[:n_issues]
    selected = selected[~reduce_issues_mask(y, p)[selected]]
    if method is None:
        selected = np.sort(selected)
    return selected


# ---------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------


def find_label_issues_flat(
    labels: ArrayLike,
    pred_probs: FloatArray,
    *,
    return_indices_ranked_by: str | None = "self_confidence",
    rank_by_kwargs: dict[str, Any] | None = None,
    filter_by: str = "prune_by_noise_rate",
    frac_noise: float = 1.0,
    num_to_remove_per_class: Sequence[int] | None = None,
    min_examples_per_class: int = 1,
    confident_joint: ArrayLike | None = None,
    low_memory: bool = False,
    n_jobs: int | None = None,
    verbose: bool = False,
) -> IntArray:
    """Flat indices of tokens whose given label is likely wrong.

    ``labels`` is an ``(N,)`` integer array, ``pred_probs`` an ``(N, K)``
    float32 or float64 array (valid input is assumed). The result (int64) is
    ranked by ascending ``return_indices_ranked_by`` score with ties in
    position order, or in position order when that is ``None``.

    ``rank_by_kwargs`` may hold ``adjust_pred_probs`` (for the ranking only).
    ``confident_joint`` (``K x K``) replaces the estimated one for the prune
    filters. ``low_memory=True`` runs the batched algorithm
    (:func:`_low_memory_issues`) and ignores the filtering keywords.
    ``n_jobs`` and ``verbose`` are accepted and have no effect.
    """
    del n_jobs, verbose
    y = _as_labels(labels)
    p = np.asarray(pred_probs)
    if low_memory:
        return _low_memory_issues(y, p, return_indices_ranked_by)
    if filter_by not in FILTER_METHODS:
        raise ValueError(f"unknown filter_by: {filter_by!r}")
    if num_to_remove_per_class is not None and filter_by not in PRUNE_FILTERS:
        raise ValueError("num_to_remove_per_class needs a prune filter_by")
    adjust = bool((rank_by_kwargs or {}).get("adjust_pred_probs", False))
    flags = _issue_mask(
        y,
        p,
        filter_by=filter_by,
        frac_noise=frac_noise,
        num_to_remove_per_class=num_to_remove_per_class,
        min_examples_per_class=min_examples_per_class,
        confident_joint_in=confident_joint if filter_by != "confident_learning" else None,
    )
    return _rank(flags, y, p, return_indices_ranked_by, adjust)


def _flat_dtype(sentences: list[FloatArray]) -> np.dtype[Any]:
    """Promoted dtype of the flattened probabilities.

    Only sentences that contribute rows take part (the flattening in cleanlab
    builds the matrix from rows), so an empty float64 sentence does not turn
    float32 data into float64.
    """
    non_empty = [s.dtype for s in sentences if s.shape[0] > 0]
    if not non_empty:
        return np.dtype(np.float64)
    return np.result_type(*non_empty)


def find_label_issues(
    labels: Sequence[ArrayLike],
    pred_probs: Sequence[ArrayLike],
    *,
    return_indices_ranked_by: str | None = "self_confidence",
    low_memory: bool = False,
    **kwargs: Any,
) -> list[tuple[int, int]]:
    """Token-level label issues as ``(sentence, token)`` pairs.

    ``labels[i]`` lists the given classes of sentence ``i`` and
    ``pred_probs[i]`` is its ``(T_i, K)`` probability array. Sentences are
    flattened in order (dtype: see :func:`_flat_dtype`), passed to
    :func:`find_label_issues_flat` with ``kwargs`` (ignored when
    ``low_memory=True``), and the flat indices mapped back.
    """
    label_parts = [_as_labels(sentence) for sentence in labels]
    prob_parts = [np.asarray(sentence) for sentence in pred_probs]
    dtype = _flat_dtype(prob_parts)
    K = next((s.shape[1] for s in prob_parts if s.shape[0] > 0), 0)
    flat_labels = (
        np.concatenate(label_parts) if label_parts else np.zeros(0, dtype=np.int64)
    ).astype(np.int64)
    flat_probs = np.concatenate(
        [s.astype(dtype, copy=False).reshape(-1, K) for s in prob_parts if s.shape[0] > 0]
    )
    if low_memory:
        flat = find_label_issues_flat(
            flat_labels,
            flat_probs,
            return_indices_ranked_by=return_indices_ranked_by,
            low_memory=True,
        )
    else:
        flat = find_label_issues_flat(
            flat_labels, flat_probs, return_indices_ranked_by=return_indices_ranked_by, **kwargs
        )
    lengths = np.array([part.shape[0] for part in label_parts], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    sentence = np.searchsorted(starts, flat, side="right") - 1
    token = flat - starts[sentence]
    return [(int(i), int(j)) for i, j in zip(sentence.tolist(), token.tolist(), strict=False)]
