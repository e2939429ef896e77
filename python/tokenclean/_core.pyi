"""Type stubs of the compiled engine (``src/python.rs``)."""

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "__version__",
    "calibrate_confident_joint",
    "confident_joint",
    "confident_thresholds",
    "find_label_issues_flat",
    "find_label_issues_ragged",
    "label_quality_scores",
    "sentence_scores",
]
__version__: str

def find_label_issues_ragged(
    labels: Any,
    pred_probs: Any,
    **options: Any,
) -> list[tuple[int, int]]:
    """Token-level issues of a ragged dataset as (sentence, token) tuples.

    ``options``: filter_by, rank_by, adjust_pred_probs, frac_noise, num_to_remove_per_class,
    min_examples_per_class, confident_joint, low_memory, n_jobs.
    """

def find_label_issues_flat(
    labels: npt.NDArray[np.int64],
    pred_probs: npt.NDArray[np.floating[Any]],
    lengths: npt.NDArray[np.int64] | None = None,
    **options: Any,
) -> npt.NDArray[np.int64]:
    """Issues of flat data: (M, 2) (sentence, token) with lengths, else (M,) indices.

    ``options`` as for ``find_label_issues_ragged``, plus allow_one_class and numpy_layout.
    """

def confident_thresholds(
    labels: npt.NDArray[np.int64],
    pred_probs: npt.NDArray[np.floating[Any]],
    *,
    n_jobs: int | None = None,
) -> npt.NDArray[np.floating[Any]]: ...
def confident_joint(
    labels: npt.NDArray[np.int64],
    pred_probs: npt.NDArray[np.floating[Any]],
    thresholds: list[float] | None = None,
    thresholds_wide: bool = True,
    *,
    n_jobs: int | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int, npt.NDArray[np.int64]]: ...
def calibrate_confident_joint(
    confident_joint: npt.NDArray[np.float64],
    label_counts: npt.NDArray[np.int64],
    column_major: bool = False,
) -> npt.NDArray[np.int64]: ...
def label_quality_scores(
    labels: npt.NDArray[np.int64],
    pred_probs: npt.NDArray[np.floating[Any]],
    method: str,
    adjust_pred_probs: bool = False,
    *,
    numpy_layout: bool = True,
    n_jobs: int | None = None,
) -> npt.NDArray[np.floating[Any]]: ...
def sentence_scores(
    scores: npt.NDArray[np.float64],
    lengths: npt.NDArray[np.int64],
    method: str = "min",
    temperature: float = 0.05,
) -> npt.NDArray[np.float64]: ...
