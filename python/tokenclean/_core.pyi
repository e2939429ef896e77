"""Type stubs of the compiled engine (``src/python/``)."""

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "__version__",
    "calibrate_confident_joint",
    "chunk_candidates",
    "chunk_counts",
    "chunk_issues",
    "chunk_scan",
    "chunk_thresholds",
    "combine_candidates",
    "combine_counts",
    "combine_issues",
    "combine_scans",
    "combine_thresholds",
    "confident_joint",
    "confident_thresholds",
    "find_label_issues_flat",
    "find_label_issues_ragged",
    "kernels",
    "label_quality_scores",
    "label_quality_scores_ragged",
    "plan_candidates",
    "round_preserving_sums",
    "sentence_scores",
    "spans_compare",
    "spans_decode",
    "spans_group",
    "variation_ngrams",
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
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int, npt.NDArray[np.int64], bool]: ...
def calibrate_confident_joint(
    confident_joint: npt.NDArray[np.float64],
    label_counts: npt.NDArray[np.int64],
    column_major: bool = False,
) -> npt.NDArray[np.int64]: ...
def kernels() -> str: ...
def label_quality_scores(
    labels: npt.NDArray[np.int64],
    pred_probs: npt.NDArray[np.floating[Any]],
    method: str,
    adjust_pred_probs: bool = False,
    *,
    numpy_layout: bool = True,
    n_jobs: int | None = None,
) -> npt.NDArray[np.floating[Any]]: ...
def label_quality_scores_ragged(
    labels: Any,
    pred_probs: Any,
    method: str,
    *,
    n_jobs: int | None = None,
) -> tuple[npt.NDArray[np.floating[Any]], npt.NDArray[np.int64]]: ...
def round_preserving_sums(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]: ...
def sentence_scores(
    scores: npt.NDArray[np.float64],
    lengths: npt.NDArray[np.int64],
    method: str = "min",
    temperature: float = 0.05,
) -> npt.NDArray[np.float64]: ...

# The chunked rounds of tokenclean.dask (``src/python/chunks.rs``): ``chunk_*`` run on a
# worker per chunk, ``combine_*`` on the client over every chunk's summary, in chunk order.
# A flaw is an invalid value found by a worker: (kind, position, class or label, value or K).

_I64 = npt.NDArray[np.int64]
_F64 = npt.NDArray[np.float64]
_Flaw = tuple[str, int, int, float]
_Probs = npt.NDArray[np.floating[Any]]

def chunk_counts(labels: _I64, k: int, offset: int) -> tuple[_I64 | None, _Flaw | None]: ...
def combine_counts(
    parts: list[tuple[_I64 | None, _Flaw | None]],
    lengths: _I64,
    n: int,
    k: int,
    **options: Any,
) -> _I64: ...
def chunk_thresholds(
    labels: _I64,
    pred_probs: _Probs,
    first: _I64,
    counts: _I64,
    n_jobs: int | None = None,
) -> bytes: ...
def combine_thresholds(parts: list[bytes], counts: _I64, float64: bool) -> tuple[_F64, bool]: ...
def chunk_scan(
    labels: _I64,
    pred_probs: _Probs,
    thresholds: _F64,
    wide: bool,
    offset: int,
    n_jobs: int | None = None,
) -> tuple[_I64 | None, int, tuple[int, int, float] | None, _Flaw | None]: ...
def combine_scans(
    parts: list[tuple[_I64 | None, int, tuple[int, int, float] | None, _Flaw | None]],
    counts: _I64,
    lengths: _I64,
    **options: Any,
) -> tuple[_I64 | None, int]: ...

_Candidates = tuple[npt.NDArray[np.uint32], _F64, _I64]
_Take = tuple[npt.NDArray[np.uint32], _I64, _F64, _I64]

def plan_candidates(
    candidates: _Candidates | None,
    prune_counts: _I64 | None,
    wanted: int,
    counts: _I64,
    chunks: int,
    **options: Any,
) -> _Take: ...
def chunk_candidates(
    labels: _I64,
    pred_probs: _Probs,
    take: _Take,
    offset: int,
    **options: Any,
) -> _Candidates: ...
def combine_candidates(
    bucket: npt.NDArray[np.uint32],
    key: _F64,
    pos: _I64,
    prune_counts: _I64 | None,
    wanted: int,
    counts: _I64,
    **options: Any,
) -> _I64: ...
def chunk_issues(
    labels: _I64,
    pred_probs: _Probs,
    thresholds: _F64,
    wide: bool,
    selected: _I64,
    offset: int,
    **options: Any,
) -> tuple[_F64, _I64]: ...
def combine_issues(key: _F64, pos: _I64, lengths: _I64, n: int, **options: Any) -> _I64: ...

# Variation n-grams (``src/python/ngrams.rs``): (score, suggested, support, agree, length,
# offset), each of shape (N,).

def variation_ngrams(
    word_ids: _I64,
    labels: _I64,
    lengths: _I64,
    max_n: int = 6,
    min_count: int = 2,
    boundaries: bool = True,
) -> tuple[_F64, _I64, _I64, _I64, _I64, _I64]: ...

# Entity spans of tokenclean.spans (``src/python/spans.rs``). ``prefixes``: one code per class
# (0 O, 1 B, 2 I, 3 E, 4 S, 5 bare); ``types``: entity type id per class; ``scheme``: "IOB1",
# "IOB2", "BIOES" or "IO". Span positions are flat token indices, ``end`` exclusive.

def spans_group(
    labels: _I64,
    lengths: _I64,
    prefixes: npt.NDArray[np.uint8],
    types: _I64,
    scheme: str,
) -> dict[str, _I64]:
    """Keys sentence, start, end, type (one entry per span) and malformed (positions)."""

def spans_decode(
    pred_probs: _Probs,
    lengths: _I64,
    prefixes: npt.NDArray[np.uint8],
    types: _I64,
    scheme: str,
    entity_weight: float = 1.0,
    n_jobs: int | None = None,
) -> _I64: ...
def spans_compare(
    labels: _I64,
    predicted: _I64,
    lengths: _I64,
    prefixes: npt.NDArray[np.uint8],
    types: _I64,
    scheme: str,
) -> dict[str, _I64]:
    """given_* and predicted_* spans, malformed, and per disagreement: kind, sentence, start,
    end, given_first, given_count, predicted_first, predicted_count, has_malformed."""
