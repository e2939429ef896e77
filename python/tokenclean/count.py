"""Confident-learning counts for single-label data: mirrors ``cleanlab.count``.

The functions here take the same arguments and return the same values (same dtypes, same
numbers bit for bit) as their cleanlab 2.9.0 namesakes for one label per example, with ties
broken by position. The per-example work (thresholds, the confident joint) runs in the Rust
engine; only ``K x K`` arithmetic happens in numpy. Multi-label data (``multi_label=True``) is
not supported and raises ``ValueError``.
"""

from __future__ import annotations

import warnings
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from tokenclean import _core
from tokenclean._options import flat_inputs, int_labels, one_of, square_matrix

__all__ = [
    "calibrate_confident_joint",
    "compute_confident_joint",
    "estimate_joint",
    "get_confident_thresholds",
    "num_label_issues",
]

#: Floor of every division by a total, as in cleanlab (keeps ``0 / 0`` out of the way).
_TINY = 1e-100
_ESTIMATION_METHODS = ("off_diagonal", "off_diagonal_calibrated", "off_diagonal_custom")

IntMatrix = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.floating[Any]]
ConfidentJoint = IntMatrix | tuple[IntMatrix, npt.NDArray[np.int64]]


def _single_label_only(multi_label: object) -> None:
    if multi_label:
        raise ValueError(
            "multi_label=True is not supported: tokenclean handles one label per example"
        )


def _require_two_classes(ids: np.ndarray) -> None:
    if ids.size and np.all(ids == ids[0]):
        raise ValueError("labels must contain at least 2 classes")


def _threshold_vector(thresholds: object, num_classes: int) -> tuple[list[float], bool]:
    """User thresholds for the engine: their float64 values and whether numpy would subtract the
    ``1e-6`` slack in float64 (``True``) or in float32 (a float32 array)."""
    arr = np.asarray(thresholds)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"thresholds must be numbers, not {arr.dtype}")
    if arr.dtype.kind == "f" and arr.dtype.itemsize not in (4, 8):
        raise TypeError(f"thresholds have dtype {arr.dtype}; use float32 or float64")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.shape != (num_classes,):
        raise ValueError(
            f"thresholds have shape {arr.shape}; they must be ({num_classes},), one per class"
        )
    wide = arr.dtype != np.float32
    return arr.astype(np.float64).tolist(), wide


def _column_major(matrix: np.ndarray) -> bool:
    """Whether numpy walks this 2-D array column by column (Fortran-like strides)."""
    rows, cols = matrix.shape
    return rows > 1 and cols > 1 and abs(matrix.strides[0]) < abs(matrix.strides[1])


def _calibrate_in_numpy(matrix: np.ndarray, counts: np.ndarray) -> IntMatrix:
    """Calibration of a floating-point joint, with numpy's own arithmetic and sum orders.

    Not a second copy of the engine's ``joint::calibrate``, which serves integer joints: there
    every row sum is exact, so only the grand total's order matters. Here the scaling must
    follow numpy for any float input: float32/float16 row sums stay in their dtype (and the
    ``1e-100`` floor becomes 0 in float32), and ``sum(axis=1)`` of a column-major matrix adds
    column by column rather than pairwise. The rounding rule is shared: the engine's.
    """
    row_totals = np.clip(matrix.sum(axis=1), _TINY, None)
    # Each row i becomes row_i / total_i * count_i. Broadcasting over the transpose keeps the
    # result in the input's memory order, which decides the order of the grand total below.
    scaled = (matrix.T / row_totals * counts).T
    scaled = scaled / np.clip(np.sum(scaled), _TINY, None) * counts.sum()
    # The arithmetic above follows numpy's dtype and reduction order; the rounding rule lives
    # in the engine, once.
    rounded: IntMatrix = _core.round_preserving_sums(np.ascontiguousarray(scaled, np.float64))
    return rounded.reshape(matrix.shape)


def _confident_joint(
    ids: np.ndarray, probs: np.ndarray, thresholds: object, calibrate: bool
) -> tuple[IntMatrix, npt.NDArray[np.int64]]:
    """The (optionally calibrated) confident joint and the off-diagonal example indices."""
    if thresholds is None:
        joint, off_diagonal, _, label_counts, any_confident = _core.confident_joint(ids, probs)
    else:
        values, wide = _threshold_vector(thresholds, probs.shape[1])
        joint, off_diagonal, _, label_counts, any_confident = _core.confident_joint(
            ids, probs, values, wide
        )
    if calibrate:
        # cleanlab calibrates a transposed, hence column-major, matrix here.
        calibrated: IntMatrix = _core.calibrate_confident_joint(
            joint.astype(np.float64), label_counts, column_major=True
        )
        return calibrated, off_diagonal
    # Same values and the same memory layout as cleanlab's matrix, so that a later calibration
    # of it sums in the same order: column-major (a transpose), except when no token is
    # confident, where cleanlab starts from a row-major matrix of zeros.
    if not any_confident:
        return joint, off_diagonal
    return np.asfortranarray(joint), off_diagonal


def get_confident_thresholds(
    labels: npt.ArrayLike,
    pred_probs: npt.ArrayLike,
    multi_label: bool = False,
) -> FloatArray:
    """Per-class confident thresholds: the mean predicted probability of each class over the
    examples labelled with it.

    Parameters
    ----------
    labels
        ``(N,)`` integer class ids in ``0..K-1``.
    pred_probs
        ``(N, K)`` float32 or float64 out-of-sample predicted probabilities.
    multi_label
        Must be False (multi-label data is not supported).

    Returns
    -------
    numpy.ndarray
        ``(K,)`` thresholds, clipped below at ``2e-6``. A class that no example carries gets
        ``2`` (above any probability). float32 when ``pred_probs`` is float32 and every class
        occurs, float64 otherwise (as in cleanlab).

    Examples
    --------
    >>> import numpy as np
    >>> from tokenclean.count import get_confident_thresholds
    >>> labels = np.array([0, 0, 1, 1, 1])
    >>> pred_probs = np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8], [0.4, 0.6], [0.5, 0.5]])
    >>> get_confident_thresholds(labels, pred_probs)
    array([0.8       , 0.63333333])
    >>> get_confident_thresholds(np.array([0, 0, 0]), np.array([[0.9, 0.1]] * 3))
    array([0.9, 2. ])
    """
    _single_label_only(multi_label)
    ids, probs = flat_inputs(labels, pred_probs)
    thresholds: FloatArray = _core.confident_thresholds(ids, probs)
    return thresholds


def compute_confident_joint(
    labels: npt.ArrayLike,
    pred_probs: npt.ArrayLike,
    *,
    thresholds: npt.ArrayLike | None = None,
    calibrate: bool = True,
    multi_label: bool = False,
    return_indices_of_off_diagonals: bool = False,
) -> ConfidentJoint:
    """The confident joint: counts of examples by given label (row) and confidently predicted
    label (column).

    An example counts when at least one class ``j`` has ``pred_probs[i, j] >= thresholds[j] -
    1e-6``; its column is that class, or the argmax of its row when several classes qualify.
    The diagonal is raised to at least 1.

    Parameters
    ----------
    labels
        ``(N,)`` integer class ids in ``0..K-1``.
    pred_probs
        ``(N, K)`` float32 or float64 predicted probabilities.
    thresholds
        Optional ``(K,)`` (or ``(K, 1)``) per-class thresholds; by default
        :func:`get_confident_thresholds`. A float32 array is compared as numpy compares
        float32 values (the ``1e-6`` slack is subtracted in float32).
    calibrate
        Rescale the counts so that row ``k`` sums to the number of examples labelled ``k``
        and the matrix sums to ``N`` (:func:`calibrate_confident_joint`).
    multi_label
        Must be False (multi-label data is not supported).
    return_indices_of_off_diagonals
        Also return the indices of the counted examples whose confident class differs from
        their label.

    Returns
    -------
    numpy.ndarray or tuple
        ``(K, K)`` int64 matrix; with ``return_indices_of_off_diagonals=True`` the tuple
        ``(matrix, indices)`` with ``indices`` an int64 array in increasing order.

    Examples
    --------
    >>> import numpy as np
    >>> from tokenclean.count import compute_confident_joint
    >>> labels = np.array([0, 0, 0, 1, 1, 1])
    >>> pred_probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9],
    ...                        [0.2, 0.8], [0.3, 0.7], [0.35, 0.65]])
    >>> compute_confident_joint(labels, pred_probs, calibrate=False)
    array([[2, 1],
           [0, 1]])
    >>> cj, off_diagonal = compute_confident_joint(
    ...     labels, pred_probs, return_indices_of_off_diagonals=True)
    >>> cj
    array([[2, 1],
           [0, 3]])
    >>> off_diagonal
    array([2])
    """
    _single_label_only(multi_label)
    ids, probs = flat_inputs(labels, pred_probs)
    matrix, off_diagonal = _confident_joint(ids, probs, thresholds, calibrate)
    if return_indices_of_off_diagonals:
        return matrix, off_diagonal
    return matrix


def calibrate_confident_joint(
    confident_joint: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    multi_label: bool = False,
) -> IntMatrix:
    """Rescale a confident joint into integer counts of the whole dataset.

    Row ``k`` is scaled to the number of examples labelled ``k``, the matrix to ``N``, and each
    row is rounded to integers that keep its total.

    Parameters
    ----------
    confident_joint
        ``(K, K)`` matrix of counts (any numeric dtype and memory layout; numpy sums follow the
        layout, as in cleanlab).
    labels
        ``(N,)`` integer class ids in ``0..K-1``.
    multi_label
        Must be False (multi-label data is not supported).

    Returns
    -------
    numpy.ndarray
        ``(K, K)`` int64 matrix whose row ``k`` sums to the count of label ``k``.

    Examples
    --------
    >>> import numpy as np
    >>> from tokenclean.count import calibrate_confident_joint
    >>> calibrate_confident_joint(np.array([[2, 1], [1, 1]]), np.array([0, 0, 0, 0, 1, 1]))
    array([[3, 1],
           [1, 1]])
    """
    _single_label_only(multi_label)
    matrix = square_matrix(confident_joint, kinds="biuf")
    k = matrix.shape[0]
    ids = int_labels(labels)
    if ids.size and (ids.min() < 0 or ids.max() >= k):
        bad = ids.min() if ids.min() < 0 else ids.max()
        raise ValueError(
            f"label {bad} is not a class index of a {k} x {k} confident joint (0..{k - 1})"
        )
    counts = np.bincount(ids, minlength=k).astype(np.int64)
    if matrix.dtype.kind in "biu":
        # Integer row sums are exact in any order; only the grand total depends on the layout.
        calibrated: IntMatrix = _core.calibrate_confident_joint(
            matrix.astype(np.float64), counts, column_major=_column_major(matrix)
        )
        return calibrated
    return _calibrate_in_numpy(matrix, counts)


def estimate_joint(
    labels: npt.ArrayLike | None,
    pred_probs: npt.ArrayLike | None,
    *,
    confident_joint: npt.ArrayLike | None = None,
    multi_label: bool = False,
) -> npt.NDArray[np.float64]:
    """Estimate the joint distribution of given and true labels (sums to 1).

    Parameters
    ----------
    labels
        ``(N,)`` integer class ids. With a ``confident_joint`` and ``labels=None`` the matrix is
        normalised as it is, without calibration.
    pred_probs
        ``(N, K)`` predicted probabilities; only used when ``confident_joint`` is None.
    confident_joint
        Optional ``(K, K)`` confident joint to calibrate instead of computing one.
    multi_label
        Must be False (multi-label data is not supported).

    Returns
    -------
    numpy.ndarray
        ``(K, K)`` float64 matrix; row ``k`` sums to the fraction of examples labelled ``k``.

    Examples
    --------
    >>> import numpy as np
    >>> from tokenclean.count import estimate_joint
    >>> labels = np.array([0, 0, 0, 1, 1, 1])
    >>> pred_probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9],
    ...                        [0.2, 0.8], [0.3, 0.7], [0.35, 0.65]])
    >>> estimate_joint(labels, pred_probs)
    array([[0.33333333, 0.16666667],
           [0.        , 0.5       ]])
    """
    _single_label_only(multi_label)
    if confident_joint is None:
        if labels is None or pred_probs is None:
            raise ValueError("labels and pred_probs are needed when confident_joint is None")
        ids, probs = flat_inputs(labels, pred_probs)
        calibrated, _ = _confident_joint(ids, probs, None, calibrate=True)
    elif labels is not None:
        calibrated = calibrate_confident_joint(confident_joint, labels)
    else:
        calibrated = np.asarray(confident_joint)
    joint: npt.NDArray[np.float64] = calibrated / np.clip(float(np.sum(calibrated)), _TINY, None)
    return joint


def num_label_issues(
    labels: npt.ArrayLike,
    pred_probs: npt.ArrayLike,
    *,
    confident_joint: npt.ArrayLike | None = None,
    estimation_method: str = "off_diagonal",
    multi_label: bool = False,
) -> np.int64:
    """Estimated number of label issues in the dataset.

    Parameters
    ----------
    labels
        ``(N,)`` integer class ids in ``0..K-1`` (at least two distinct classes).
    pred_probs
        ``(N, K)`` float32 or float64 out-of-sample predicted probabilities.
    confident_joint
        ``(K, K)`` confident joint; used only by ``estimation_method="off_diagonal_custom"``
        (ignored with a warning otherwise).
    estimation_method
        - ``"off_diagonal"``: examples counted off the diagonal of the confident joint whose
          given label does not become the argmax when ``1e-6`` is added to its probability
          (the number ``filter_by="confident_learning"`` finds);
        - ``"off_diagonal_calibrated"``: ``N`` times the off-diagonal mass of
          :func:`estimate_joint`, rounded;
        - ``"off_diagonal_custom"``: the same from the given ``confident_joint``.
    multi_label
        Must be False (multi-label data is not supported).

    Returns
    -------
    numpy.int64

    Examples
    --------
    >>> import numpy as np
    >>> from tokenclean.count import num_label_issues
    >>> labels = np.array([0, 0, 0, 1, 1, 1])
    >>> pred_probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9],
    ...                        [0.2, 0.8], [0.3, 0.7], [0.35, 0.65]])
    >>> int(num_label_issues(labels, pred_probs))
    1
    >>> int(num_label_issues(labels, pred_probs, estimation_method="off_diagonal_calibrated"))
    1
    """
    if not isinstance(estimation_method, str):
        raise TypeError(
            f"estimation_method must be a string, not {type(estimation_method).__name__}"
        )
    one_of("estimation_method", estimation_method, _ESTIMATION_METHODS)
    if confident_joint is not None and estimation_method != "off_diagonal_custom":
        warnings.warn(
            f"confident_joint is ignored with estimation_method={estimation_method!r}, which "
            "computes its own from labels and pred_probs; pass "
            "estimation_method='off_diagonal_custom' to count issues from your matrix.",
            UserWarning,
            stacklevel=2,
        )
    _single_label_only(multi_label)
    ids, probs = flat_inputs(labels, pred_probs)
    _require_two_classes(ids)

    if estimation_method == "off_diagonal":
        _, _, surviving, _, _ = _core.confident_joint(ids, probs)
        return cast(np.int64, np.int64(surviving))
    if estimation_method == "off_diagonal_calibrated":
        matrix, _ = _confident_joint(ids, probs, None, calibrate=True)
    else:
        if confident_joint is None:
            raise ValueError(
                "estimation_method='off_diagonal_custom' needs a confident_joint (K x K); "
                "compute one with tokenclean.count.compute_confident_joint"
            )
        matrix = np.asarray(confident_joint)
        k = probs.shape[1]
        if matrix.shape != (k, k):
            raise ValueError(
                f"confident_joint has shape {matrix.shape}; it must be {k} x {k} "
                "(K = pred_probs.shape[1])"
            )
    joint = estimate_joint(ids, probs, confident_joint=matrix)
    off_diagonal_fraction = 1.0 - joint.trace()
    issues = np.rint(off_diagonal_fraction * ids.shape[0]).astype(np.int64)
    return cast(np.int64, issues)
