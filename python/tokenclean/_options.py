"""Keyword handling shared by every ``find_label_issues`` entry point.

The Rust core gets plain, already-typed values; everything that is a Python-level concern
(unknown keywords, wrong types, names of methods, cleanlab's warnings and exception classes)
is settled here, once: the binding refuses a bad value only tersely, for direct callers of
``_core``. Rules that need the data (K, the labels), such as the length of
``num_to_remove_per_class``, are the core's (``check_options`` in ``src/filter.rs``).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from tokenclean.errors import InvalidOptionError, InvalidOptionTypeError

RANKINGS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")

# Keywords of cleanlab's filter.find_label_issues that the token function passes through.
FILTER_KEYWORDS = frozenset(
    {
        "filter_by",
        "frac_noise",
        "num_to_remove_per_class",
        "min_examples_per_class",
        "confident_joint",
        "n_jobs",
        "verbose",
        "rank_by_kwargs",
        "multi_label",
    }
)
_PRUNE_FILTERS = ("prune_by_noise_rate", "prune_by_class", "both")
FILTERS = (
    *_PRUNE_FILTERS,
    "confident_learning",
    "predicted_neq_given",
    "low_self_confidence",
    "low_normalized_margin",
)
_INT64_MAX = 2**63 - 1
MAX_THREADS = 256  # as in src/parallel.rs, which also caps TOKENCLEAN_NUM_THREADS


def _is_real(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def _is_int(x: object) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_))


def one_of(
    name: str,
    value: object,
    choices: Sequence[str],
    error: type[Exception] = ValueError,
    also: str = "",
) -> None:
    """Refuse ``value`` unless it is one of ``choices`` (``also`` names another allowed value)."""
    if value not in choices:
        raise error(f"{name}={value!r} is not one of {', '.join(choices)}{also}")


def square_matrix(value: object, name: str = "confident_joint", kinds: str = "iuf") -> np.ndarray:
    """``value`` as a non-empty K x K array of numbers (dtype kinds ``kinds``), not copied."""
    arr = np.asarray(value)
    if arr.dtype.kind not in kinds:
        raise TypeError(f"{name} must hold numbers, not {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(f"{name} has shape {arr.shape}; it must be K x K")
    return arr


def core_kwargs(
    func: str,
    return_indices_ranked_by: str | None,
    low_memory: bool,
    kwargs: dict[str, Any],
) -> tuple[dict[str, Any], bool]:
    """Validate cleanlab-style keywords; return the core's keywords and ``verbose``."""
    unknown = sorted(set(kwargs) - FILTER_KEYWORDS)
    if unknown:
        raise TypeError(f"{func}() got an unexpected keyword argument {unknown[0]!r}")
    if not isinstance(low_memory, (bool, np.bool_)):
        raise TypeError(f"low_memory must be a bool, not {type(low_memory).__name__}")
    if return_indices_ranked_by is not None and not isinstance(return_indices_ranked_by, str):
        raise TypeError(
            "return_indices_ranked_by must be a string or None, "
            f"not {type(return_indices_ranked_by).__name__}"
        )
    if return_indices_ranked_by is not None:
        one_of("return_indices_ranked_by", return_indices_ranked_by, RANKINGS, also=" (or None)")
    if low_memory:
        for name in kwargs:
            warnings.warn(f"`{name}` is not used when `low_memory=True`.", stacklevel=3)

    filter_by = kwargs.get("filter_by", "prune_by_noise_rate")
    # cleanlab asserts filter_by (and n_jobs below) unless low_memory=True, which ignores them.
    if not isinstance(filter_by, str):
        error = InvalidOptionTypeError if not low_memory else TypeError
        raise error(f"filter_by must be a string, not {type(filter_by).__name__}")
    if not low_memory:
        one_of("filter_by", filter_by, FILTERS, InvalidOptionError)

    frac_noise = kwargs.get("frac_noise", 1.0)
    if not _is_real(frac_noise):
        raise TypeError(f"frac_noise must be a number, not {type(frac_noise).__name__}")

    min_examples = kwargs.get("min_examples_per_class", 1)
    if not _is_real(min_examples):
        raise TypeError(
            f"min_examples_per_class must be a number, not {type(min_examples).__name__}"
        )

    removals = kwargs.get("num_to_remove_per_class")
    if removals is not None:
        seq = list(np.asarray(removals).ravel()) if isinstance(removals, np.ndarray) else removals
        try:
            items = list(seq)
        except TypeError:
            raise TypeError("num_to_remove_per_class must be a sequence of integers") from None
        if not all(_is_int(r) for r in items):
            raise TypeError("num_to_remove_per_class must be a sequence of integers")
        removals = [int(r) for r in items]
        if any(not -_INT64_MAX - 1 <= r <= _INT64_MAX for r in removals):
            raise ValueError("num_to_remove_per_class holds a value beyond the int64 range")

    cj = kwargs.get("confident_joint")
    if cj is not None:
        cj = square_matrix(cj)
        # Keep the layout: numpy's (and so cleanlab's) sums follow it.
        cj = cj.astype(np.float64, copy=False)

    n_jobs = kwargs.get("n_jobs")
    if n_jobs is not None:
        if not _is_int(n_jobs):
            raise TypeError(f"n_jobs must be an integer or None, not {type(n_jobs).__name__}")
        if n_jobs < 1:
            raise InvalidOptionError(f"n_jobs={n_jobs}; it must be at least 1")
        # More threads than this only adds start-up cost; results never depend on it.
        n_jobs = min(int(n_jobs), MAX_THREADS)

    rank_by_kwargs = kwargs.get("rank_by_kwargs") or {}
    if not isinstance(rank_by_kwargs, dict):
        raise TypeError("rank_by_kwargs must be a dict")
    extra = sorted(set(rank_by_kwargs) - {"adjust_pred_probs"})
    if extra:
        raise TypeError(f"rank_by_kwargs got an unexpected keyword argument {extra[0]!r}")
    adjust = rank_by_kwargs.get("adjust_pred_probs", False)
    if not isinstance(adjust, (bool, np.bool_)):
        raise TypeError("rank_by_kwargs['adjust_pred_probs'] must be a bool")

    if kwargs.get("multi_label", False):
        raise ValueError(
            "multi_label=True is not supported: tokenclean handles one label per token"
        )

    verbose = bool(kwargs.get("verbose", False))
    if low_memory:
        # cleanlab ignores every keyword under low_memory (after warning above).
        filter_by, frac_noise, min_examples, removals, cj, adjust = (
            "prune_by_noise_rate",
            1.0,
            1,
            None,
            None,
            False,
        )
    else:
        # num_to_remove_per_class with other filters is refused by the core's check_options.
        if filter_by not in _PRUNE_FILTERS and frac_noise != 1.0:
            warnings.warn(
                "frac_noise only affects filter_by 'prune_by_noise_rate', 'prune_by_class' "
                "and 'both'.",
                stacklevel=3,
            )
        if filter_by == "confident_learning" and cj is not None:
            warnings.warn(
                "confident_joint is ignored with filter_by='confident_learning', which "
                "estimates its own.",
                stacklevel=3,
            )
            cj = None
    return (
        {
            "filter_by": filter_by,
            "rank_by": return_indices_ranked_by,
            "adjust_pred_probs": bool(adjust),
            "frac_noise": float(frac_noise),
            "num_to_remove_per_class": removals,
            "min_examples_per_class": float(min_examples),
            "confident_joint": cj,
            "low_memory": bool(low_memory),
            "n_jobs": n_jobs,
        },
        verbose,
    )


def int_labels(labels: object, name: str = "labels") -> np.ndarray:
    """``labels`` as a 1-D native int64 array (no copy when it already is one)."""
    what = "labels must be integer class ids" if name == "labels" else f"{name} must be integers"
    if not isinstance(labels, np.ndarray):
        if isinstance(labels, (str, bytes)) or not hasattr(labels, "__len__"):
            raise TypeError(f"{name} must be a 1-D array or sequence, not {type(labels).__name__}")
        items: list[Any] = list(labels)  # type: ignore[call-overload]
        for i, x in enumerate(items):
            if isinstance(x, (bool, np.bool_)):
                raise TypeError(f"{name}[{i}] is a bool; {what}")
            if isinstance(x, np.ndarray):
                raise TypeError(f"{name}[{i}] is an array; {what}")
    arr = np.asarray(labels)
    if not isinstance(labels, np.ndarray) and arr.dtype.kind == "f":
        # numpy promotes a mix of Python ints and np.uint64 to float64; rebuild exactly.
        items = list(labels)  # type: ignore[call-overload]
        if all(isinstance(x, (int, np.integer)) for x in items):
            if any(not -_INT64_MAX - 1 <= int(x) <= _INT64_MAX for x in items):
                raise ValueError(f"{name} hold a value beyond the int64 range")
            arr = np.array([int(x) for x in items], dtype=np.int64)
    if arr.dtype.kind == "b":
        raise TypeError(f"{name} are booleans; {what}")
    if arr.dtype.kind not in "iu":
        if arr.size == 0:
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} have dtype {arr.dtype}; {what}")
    if arr.ndim != 1:
        raise ValueError(f"{name} have shape {arr.shape}; they must be 1-D")
    if arr.dtype.kind == "u" and arr.size and arr.max() > _INT64_MAX:
        too_large = "too large to be a class id" if name == "labels" else "more than int64 holds"
        raise ValueError(f"{name} hold {arr.max()}, {too_large}")
    return arr.astype(np.dtype(np.int64).newbyteorder("="), copy=False)


def float_probs(pred_probs: object) -> np.ndarray:
    """``pred_probs`` as a float32/float64 array in native byte order, borrowed when possible."""
    if isinstance(pred_probs, np.ndarray):
        arr = pred_probs
        if arr.dtype.kind != "f" or arr.dtype.itemsize not in (4, 8):
            raise TypeError(
                f"pred_probs has dtype {arr.dtype}; probabilities must be float32 or float64"
            )
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        return arr
    if not isinstance(pred_probs, (list, tuple)):
        kind = type(pred_probs).__name__
        raise TypeError(f"pred_probs must be a 2-D numpy array (or nested lists), not {kind}")
    try:
        return np.asarray(pred_probs, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"pred_probs cannot be read as a float array: {e}") from None


def flat_inputs(labels: object, pred_probs: object) -> tuple[np.ndarray, np.ndarray]:
    """``labels`` as native int64 and ``pred_probs`` as a float32/float64 (N, K) array."""
    ids = int_labels(labels)
    probs = float_probs(pred_probs)
    if probs.ndim != 2:
        raise ValueError(f"pred_probs has shape {probs.shape}; it must be (N, K)")
    if probs.shape[0] != ids.shape[0]:
        raise ValueError(
            f"{ids.shape[0]} labels but {probs.shape[0]} rows of pred_probs; they must match"
        )
    return ids, probs
