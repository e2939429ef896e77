"""Type stubs of the compiled engine (``src/python.rs``)."""

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["__version__", "find_label_issues_flat", "find_label_issues_ragged"]
__version__: str

def find_label_issues_ragged(
    labels: Any,
    pred_probs: Any,
    *,
    filter_by: str = "prune_by_noise_rate",
    rank_by: str | None = None,
    adjust_pred_probs: bool = False,
    frac_noise: float = 1.0,
    num_to_remove_per_class: list[int] | None = None,
    min_examples_per_class: float = 1.0,
    confident_joint: npt.NDArray[np.float64] | None = None,
    low_memory: bool = False,
    n_jobs: int | None = None,
) -> list[tuple[int, int]]: ...
def find_label_issues_flat(
    labels: npt.NDArray[np.int64],
    pred_probs: npt.NDArray[np.floating[Any]],
    lengths: npt.NDArray[np.int64] | None = None,
    *,
    filter_by: str = "prune_by_noise_rate",
    rank_by: str | None = None,
    adjust_pred_probs: bool = False,
    frac_noise: float = 1.0,
    num_to_remove_per_class: list[int] | None = None,
    min_examples_per_class: float = 1.0,
    confident_joint: npt.NDArray[np.float64] | None = None,
    low_memory: bool = False,
    n_jobs: int | None = None,
    allow_one_class: bool = False,
) -> npt.NDArray[np.int64]: ...
