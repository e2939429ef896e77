"""Exact label issues of token datasets spread over a Dask cluster.

:func:`find_label_issues` takes dask arrays chunked by rows and returns exactly what
:func:`tokenclean.token_classification.filter.find_label_issues_flat` returns on the same data
gathered in one place. It runs a few map-reduce rounds. In each, every chunk is read on a worker
by the Rust core (GIL released), and only small summaries travel to the client: label counts,
partial threshold sums, joint counts, prune candidates, then the flagged tokens with their
scores. The probabilities are never gathered.

Every round reads the chunks again, so persist inputs that are costly to produce
(``pred_probs = pred_probs.persist()``) or load them from storage (zarr, npy stacks).

Needs the ``dask`` extra: ``pip install "tokenclean[dask]"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tokenclean import _core
from tokenclean._options import core_kwargs, float_probs, int_labels

try:
    import dask.array as da
    from dask.base import compute
    from dask.delayed import delayed
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        'tokenclean.dask needs dask; install it with: pip install "tokenclean[dask]"'
    ) from e

__all__ = ["find_label_issues"]

_PRUNING = ("prune_by_noise_rate", "prune_by_class", "both")
_LOWEST = ("low_self_confidence", "low_normalized_margin")


def find_label_issues(
    labels: Any,
    pred_probs: Any,
    lengths: Any,
    *,
    return_indices_ranked_by: str | None = "self_confidence",
    low_memory: bool = False,
    **kwargs: Any,
) -> np.ndarray:
    """Label issues of a dataset held as dask arrays; same answer as ``find_label_issues_flat``.

    Parameters
    ----------
    labels
        ``(N,)`` dask (or numpy) array of integer class ids, sentences one after another.
    pred_probs
        ``(N, K)`` float32 or float64 dask array, chunked by rows (column chunks are joined).
        Chunk edges may fall inside sentences; ``labels`` is rechunked to match.
    lengths
        Number of tokens of each sentence (numpy, dask or a sequence); they add up to N.
    return_indices_ranked_by, **kwargs
        As :func:`tokenclean.token_classification.filter.find_label_issues_flat`: every
        ``filter_by``, ranking and keyword it takes. ``n_jobs`` sets the threads each worker
        uses per chunk.
    low_memory
        Not supported (``NotImplementedError``): cleanlab's batched estimate depends on
        batches of 10,000 consecutive tokens, and here no machine holds more than its chunks.

    Returns
    -------
    numpy.ndarray
        ``(M, 2)`` int64 array of (sentence, token), ranked.

    Raises
    ------
    ValueError, TypeError
        As ``find_label_issues_flat``; invalid values are reported at the first one of the
        whole dataset, by sentence and token.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from tokenclean.dask import find_label_issues
    >>> labels = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    >>> pred_probs = np.array([[0.95, 0.05], [0.9, 0.1], [0.2, 0.8], [0.1, 0.9],
    ...                        [0.15, 0.85], [0.8, 0.2], [0.3, 0.7], [0.25, 0.75]])
    >>> find_label_issues(da.from_array(labels, chunks=3),
    ...                   da.from_array(pred_probs, chunks=(3, 2)), [3, 2, 3])
    array([[1, 1]])
    """
    core, verbose = core_kwargs("find_label_issues", return_indices_ranked_by, low_memory, kwargs)
    if low_memory:
        raise NotImplementedError(
            "low_memory=True is not supported by tokenclean.dask: cleanlab's batched estimate "
            "follows batches of 10,000 consecutive tokens; each worker already holds only its "
            "chunks, so call it without low_memory"
        )
    probs = _dask_probs(pred_probs)
    ids = _dask_labels(labels, probs)
    n, k = (int(d) for d in probs.shape)
    lens = int_labels(_computed(lengths), "lengths")
    opts = dict(core, allow_one_class=True)
    threads = core["n_jobs"]

    # (labels, pred_probs, position of the first token) of every non-empty chunk
    rows = probs.chunks[0]
    starts = np.concatenate([[0], np.cumsum(rows)[:-1]]).astype(np.int64)
    blocks = [
        (lab, pp, int(start))
        for lab, pp, start, size in zip(
            ids.to_delayed().ravel(), probs.to_delayed().ravel(), starts, rows, strict=False
        )
        if size > 0
    ]

    def on_chunks(
        func: Any, *args: Any, per_chunk: list[Any] | None = None, **kw: Any
    ) -> list[Any]:
        """``func(labels, pred_probs, offset, [per_chunk[i],] *args, **kw)`` on the workers."""
        task = delayed(func, pure=True)
        extra = [()] * len(blocks) if per_chunk is None else [(x,) for x in per_chunk]
        return list(
            compute(*[task(*b, *x, *args, **kw) for b, x in zip(blocks, extra, strict=False)])
        )

    # 1: label counts, checks of labels, lengths and options.
    count = delayed(_chunk_counts, pure=True)
    counted = list(compute(*[count(lab, off, k) for lab, _, off in blocks]))
    counts = _core.combine_counts(counted, lens, n, k, **opts)
    firsts = np.cumsum([np.zeros(k, np.int64)] + [c for c, _ in counted[:-1]], axis=0)

    # 2: thresholds, numpy's pairwise sums completed across chunk edges.
    encoded = on_chunks(_chunk_thresholds, counts, threads, per_chunk=list(firsts))
    thresholds, wide = _core.combine_thresholds(encoded, counts, probs.dtype == np.float64)

    # 3: validation, joint counts, prune counts.
    scans = on_chunks(_chunk_scan, thresholds, wide, threads)
    prune_counts, wanted = _core.combine_scans(scans, counts, lens, **opts)

    # 4: the best candidates per prune bucket (or the lowest scores), in two exchanges: about
    # twice each chunk's share first, then only what can still make the cut.
    selected = np.empty(0, np.int64)
    if core["filter_by"] in _PRUNING + _LOWEST:
        found: Any = None
        for _ in range(2):
            take = _core.plan_candidates(found, prune_counts, wanted, counts, len(blocks), **opts)
            parts = on_chunks(_chunk_candidates, take, **opts)
            found = tuple(np.concatenate([f[i] for f in parts]) for i in range(3))
        bucket, key, pos = found
        selected = _core.combine_candidates(bucket, key, pos, prune_counts, wanted, counts, **opts)

    # 5: the flagged tokens with their scores, ranked on the client.
    cuts = np.searchsorted(selected, [off for _, _, off in blocks] + [n])
    mine = [
        selected[a:b] - off for (_, _, off), a, b in zip(blocks, cuts[:-1], cuts[1:], strict=False)
    ]
    flagged = on_chunks(_chunk_issues, thresholds, wide, per_chunk=mine, **opts)
    keys = np.concatenate([f[0] for f in flagged])
    positions = np.concatenate([f[1] for f in flagged])
    issues: np.ndarray = _core.combine_issues(keys, positions, lens, n, **opts)
    if verbose:
        print(f"Number of label issues found: {len(issues)}")
    return issues


def _computed(x: Any) -> Any:
    return x.compute() if isinstance(x, da.Array) else x


def _dask_probs(pred_probs: Any) -> da.Array:
    probs = pred_probs if isinstance(pred_probs, da.Array) else da.asarray(pred_probs)
    if probs.ndim != 2:
        raise ValueError(f"pred_probs has shape {probs.shape}; it must be (N, K)")
    if probs.dtype.kind != "f" or probs.dtype.itemsize not in (4, 8):
        raise TypeError(
            f"pred_probs has dtype {probs.dtype}; probabilities must be float32 or float64"
        )
    if any(np.isnan(d) for d in probs.shape):
        raise ValueError(
            "pred_probs has chunks of unknown size; call pred_probs.compute_chunk_sizes() first"
        )
    if len(probs.chunks[1]) > 1:
        probs = probs.rechunk({1: -1})
    return probs


def _dask_labels(labels: Any, probs: da.Array) -> da.Array:
    ids = labels if isinstance(labels, da.Array) else da.asarray(labels)
    if ids.ndim != 1:
        raise ValueError(f"labels have shape {ids.shape}; they must be 1-D")
    if ids.dtype.kind == "b" or ids.dtype.kind not in "iu":
        raise TypeError(f"labels have dtype {ids.dtype}; labels must be integer class ids")
    if np.isnan(ids.shape[0]):
        raise ValueError(
            "labels has chunks of unknown size; call labels.compute_chunk_sizes() first"
        )
    if ids.shape[0] != probs.shape[0]:
        raise ValueError(
            f"{ids.shape[0]} labels but {probs.shape[0]} rows of pred_probs; they must match"
        )
    return ids.rechunk((probs.chunks[0],))


# What the workers run on each chunk: native arrays, then the Rust core.


def _chunk_counts(labels: Any, offset: int, k: int) -> Any:
    return _core.chunk_counts(int_labels(labels), k, offset)


def _chunk_thresholds(
    labels: Any, pred_probs: Any, offset: int, first: Any, counts: Any, n_jobs: Any
) -> bytes:
    return _core.chunk_thresholds(
        int_labels(labels), float_probs(pred_probs), first, counts, n_jobs
    )


def _chunk_scan(
    labels: Any, pred_probs: Any, offset: int, thresholds: Any, wide: bool, n_jobs: Any
) -> Any:
    return _core.chunk_scan(
        int_labels(labels), float_probs(pred_probs), thresholds, wide, offset, n_jobs
    )


def _chunk_candidates(labels: Any, pred_probs: Any, offset: int, take: Any, **options: Any) -> Any:
    return _core.chunk_candidates(
        int_labels(labels), float_probs(pred_probs), take, offset, **options
    )


def _chunk_issues(
    labels: Any,
    pred_probs: Any,
    offset: int,
    selected: Any,
    thresholds: Any,
    wide: bool,
    **options: Any,
) -> Any:
    return _core.chunk_issues(
        int_labels(labels),
        float_probs(pred_probs),
        thresholds,
        wide,
        selected,
        offset,
        **options,
    )
