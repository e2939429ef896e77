"""tokenclean.dask gives exactly find_label_issues_flat's answer, on a real multi-process cluster.

The cluster tests run every round on two worker processes; the hypothesis test runs the same
rounds on dask's synchronous scheduler, which is faster and reaches many more datasets and
chunkings (the rounds do not depend on where they run).
"""

from __future__ import annotations

import contextlib
import itertools
import pickle
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import (
    FILTER_BY,
    RANKINGS,
    flat_datasets,
    kwargs_strategy,
    outcome,
    run_readme_example,
)
from conftest import sentence_dataset as dataset
from tokenclean import _core
from tokenclean import dask as tcd
from tokenclean.datasets import load_wnut17_sample
from tokenclean.errors import InvalidOptionError
from tokenclean.token_classification.filter import find_label_issues_flat


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def on_dask(
    labels: np.ndarray, pred_probs: np.ndarray, lengths: Any, rows: Any, **kwargs: Any
) -> np.ndarray:
    """``tokenclean.dask.find_label_issues`` on arrays cut in chunks of ``rows`` rows (a size,
    or a tuple of sizes)."""
    return tcd.find_label_issues(
        da.from_array(labels, chunks=(rows,)),
        da.from_array(pred_probs, chunks=(rows, -1)),
        lengths,
        **kwargs,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ranked_by", [*RANKINGS, None])
@pytest.mark.parametrize("filter_by", FILTER_BY)
def test_every_filter_and_ranking(
    client: Client, filter_by: str, ranked_by: str | None, dtype: Any
) -> None:
    labels, p, lengths = dataset(3000, 6, dtype, seed=11)
    kw = {"filter_by": filter_by, "return_indices_ranked_by": ranked_by}
    want = find_label_issues_flat(labels, p, lengths, **kw)
    assert len(want) > 20
    # 401 rows per chunk: edges fall inside sentences and inside numpy's summation leaves.
    got = on_dask(labels, p, lengths, 401, **kw)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.int64 and got.shape == want.shape


def test_chunks_without_some_classes_and_empty_chunks(client: Client) -> None:
    labels, p, lengths = dataset(2000, 5, np.float32, seed=3)
    # Class 4 only in the last 300 tokens, class 3 never: chunks hold no token of some class.
    labels[labels == 4] = 0
    labels[-300:][labels[-300:] == 2] = 4
    labels[labels == 3] = 1
    chunks = (1, 0, 700, 999, 0, 300)
    for filter_by in FILTER_BY:
        want = find_label_issues_flat(labels, p, lengths, filter_by=filter_by)
        got = on_dask(labels, p, lengths, chunks, filter_by=filter_by)
        np.testing.assert_array_equal(got, want, err_msg=filter_by)


@pytest.mark.parametrize(
    "kw",
    [
        {"num_to_remove_per_class": [3, 0, 5, 1]},
        {"filter_by": "both", "num_to_remove_per_class": [2, 2, 2, 2]},
        {"frac_noise": 0.5, "min_examples_per_class": 30},
        {"rank_by_kwargs": {"adjust_pred_probs": True}, "n_jobs": 2},
        {"filter_by": "prune_by_class", "return_indices_ranked_by": "normalized_margin"},
    ],
)
def test_keywords(client: Client, kw: dict[str, Any]) -> None:
    labels, p, lengths = dataset(2500, 4, np.float64, seed=5)
    want = find_label_issues_flat(labels, p, lengths, **kw)
    np.testing.assert_array_equal(on_dask(labels, p, lengths, 333, **kw), want)


@pytest.mark.parametrize("order", ["C", "F"])
def test_a_given_confident_joint_in_either_layout(client: Client, order: str) -> None:
    labels, p, lengths = dataset(1500, 3, np.float32, seed=8)
    cj = np.asarray([[400.0, 30.0, 12.0], [25.0, 380.0, 40.0], [9.0, 21.0, 450.0]], order=order)
    want = find_label_issues_flat(labels, p, lengths, confident_joint=cj)
    np.testing.assert_array_equal(on_dask(labels, p, lengths, 250, confident_joint=cj), want)


def test_dask_lengths_and_numpy_labels(client: Client) -> None:
    labels, p, lengths = dataset(1200, 3, np.float32, seed=2)
    want = find_label_issues_flat(labels, p, lengths)
    got = tcd.find_label_issues(
        labels, da.from_array(p, chunks=(170, 1)), da.from_array(lengths, chunks=50)
    )
    np.testing.assert_array_equal(got, want)


def test_only_small_summaries_reach_the_client(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels, p, lengths = dataset(200_000, 9, np.float64, seed=9, flip=0.03)
    received: list[int] = []
    compute = tcd.compute

    def measured(*tasks: Any, **kw: Any) -> Any:
        out = compute(*tasks, **kw)
        received.append(len(pickle.dumps(out)))
        return out

    monkeypatch.setattr(tcd, "compute", measured)
    want = find_label_issues_flat(labels, p, lengths)
    np.testing.assert_array_equal(on_dask(labels, p, lengths, 25_000), want)
    assert len(received) == 6  # counts, thresholds, scan, two candidate exchanges, issues
    # What travels grows with the issues (and chunks), not with the probabilities.
    # (Here 16% of the tokens are issues, each of which must travel with its score.)
    assert sum(received) < 100 * len(want) + 50_000 * 8, (received, len(want))
    assert sum(received) < p.nbytes / 4, (received, p.nbytes)


def flat_error(labels: np.ndarray, p: np.ndarray, lengths: Any, **kw: Any) -> str:
    with pytest.raises(ValueError) as e:
        find_label_issues_flat(labels, p, lengths, **kw)
    return str(e.value)


def test_the_first_invalid_value_of_the_dataset_is_named(client: Client) -> None:
    labels, p, lengths = dataset(1000, 3, np.float64, seed=4)
    p[900, 1] = np.nan
    p[450, 2] = 1.5  # an earlier chunk's problem wins, whichever worker finishes first
    message = flat_error(labels, p, lengths)
    assert "sentence" in message and "1.5" in message
    with pytest.raises(ValueError, match=re.escape(message)):
        on_dask(labels, p, lengths, 100)


def test_bad_labels_and_lengths_are_refused_as_by_the_flat_function(client: Client) -> None:
    labels, p, lengths = dataset(600, 3, np.float32, seed=6)
    bad = labels.copy()
    bad[[333, 500]] = [7, -1]
    message = flat_error(bad, p, lengths)
    assert "label 7" in message
    with pytest.raises(ValueError, match=re.escape(message)):
        on_dask(bad, p, lengths, 100)
    short = lengths.copy()
    short[0] += 1
    with pytest.raises(ValueError, match=re.escape(flat_error(labels, p, short))):
        on_dask(labels, p, short, 100)
    one = np.zeros_like(labels) + 2
    with pytest.raises(ValueError, match=re.escape(flat_error(one, p, lengths))):
        on_dask(one, p, lengths, 100)


def test_what_is_not_supported_is_refused(client: Client) -> None:
    labels, p, lengths = dataset(300, 3, np.float32, seed=1)
    with pytest.raises(NotImplementedError, match="low_memory"):
        on_dask(labels, p, lengths, 100, low_memory=True)
    with pytest.raises(TypeError, match="float32 or float64"):
        on_dask(labels, p.astype(np.float16), lengths, 100)
    with pytest.raises(TypeError, match="integer class ids"):
        on_dask(labels.astype(np.float64), p, lengths, 100)
    with pytest.raises(ValueError, match="299 labels but 300 rows of pred_probs"):
        tcd.find_label_issues(labels[:-1], da.from_array(p, chunks=(100, 3)), lengths)
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        unknown = da.from_array(p, chunks=(100, 3))
        tcd.find_label_issues(labels, unknown[unknown[:, 0] >= 0], lengths)
    with pytest.raises(TypeError, match="unexpected keyword"):
        on_dask(labels, p, lengths, 100, filter_bye="both")
    # the options are checked as on the other paths, by the same code
    with pytest.raises(InvalidOptionError, match="filter_by='nope' is not one of"):
        on_dask(labels, p, lengths, 100, filter_by="nope")
    with pytest.raises(InvalidOptionError, match="n_jobs=0; it must be at least 1"):
        on_dask(labels, p, lengths, 100, n_jobs=0)
    with pytest.raises(ValueError, match="num_to_remove_per_class only works with filter_by"):
        on_dask(
            labels,
            p,
            lengths,
            100,
            filter_by="low_self_confidence",
            num_to_remove_per_class=[1] * 3,
        )
    with pytest.raises(ValueError, match=r"confident_joint has shape \(3, 2\); it must be K x K"):
        on_dask(labels, p, lengths, 100, confident_joint=np.ones((3, 2)))


@settings(deadline=None)
@given(
    data=flat_datasets(max_classes=12, max_sentences=40),
    kwargs=kwargs_strategy(allow_low_memory=False),
    cuts=st.lists(st.integers(0, 1000), max_size=5),
    sentences=st.lists(st.integers(0, 1000), max_size=30),
)
def test_any_chunking_gives_the_flat_answer(
    data: tuple[np.ndarray, np.ndarray],
    kwargs: dict[str, Any],
    cuts: list[int],
    sentences: list[int],
) -> None:
    labels, p = data
    n = len(labels)
    edges = sorted({0, n, *(c % (n + 1) for c in cuts)})
    chunks = tuple(b - a for a, b in itertools.pairwise(edges))
    bounds = sorted({0, n, *(s % (n + 1) for s in sentences)})
    lengths = np.diff(bounds)
    want = outcome(find_label_issues_flat, labels, p, lengths, **kwargs)
    with dask.config.set(scheduler="synchronous"):
        got = outcome(on_dask, labels, p, lengths, chunks, **kwargs)
    if want[0] == "raised":
        assert got[0] == "raised" and type(got[1]) is type(want[1]), (got, want)
        assert str(got[1]) == str(want[1])
    else:
        assert got[0] == "ok", got[1]
        np.testing.assert_array_equal(got[1], want[1])


def test_the_readme_example_runs_and_prints_the_flat_answer(tmp_path: Path) -> None:
    stdout = run_readme_example("## Scaling out with Dask", tmp_path)
    sample = load_wnut17_sample()
    want = find_label_issues_flat(
        np.concatenate(sample.labels),
        np.concatenate(sample.pred_probs),
        [len(s) for s in sample.labels],
    )
    assert stdout.strip() == str(want[:3])


def test_more_classes_than_bucket_ids_hold_are_refused() -> None:
    k = 65_536
    p = np.full((2, k), 1.0 / k, np.float32)
    labels = np.array([0, 1])
    with pytest.raises(ValueError, match="65536 classes; the chunked"):
        tcd.find_label_issues(labels, da.from_array(p, chunks=(1, k)), [2])


@pytest.mark.parametrize(
    ("first", "counts", "error", "match"),
    [
        # The plan of 2**62 tokens takes 2**59 bytes, more than any address space: this used
        # to abort the process.
        ([0, 0, 0], [2**62, 2**62, 0], MemoryError, "cannot be allocated"),
        ([0, 0, 0], [2**63 - 1] * 3, ValueError, "add up to more than"),
        ([0], [1], ValueError, "one per class"),
        ([0, 0, 0], [1, 1, 0], ValueError, "holds 2 tokens of class 1"),
        ([5, 0, 0], [5, 2, 0], ValueError, "holds 1 tokens of class 0 after 5"),
    ],
)
def test_round2_refuses_counts_that_do_not_fit(
    first: list[int], counts: list[int], error: type[Exception], match: str
) -> None:
    """Counts of another dataset, or made up, raise; the process survives to check that."""
    labels = np.array([0, 1, 1], np.int64)
    p = np.full((3, 3), 1 / 3)
    with pytest.raises(error, match=match):
        _core.chunk_thresholds(labels, p, np.array(first, np.int64), np.array(counts, np.int64))
    # The same chunk with fitting counts still gives its summary.
    fitting = np.array([1, 2, 0], np.int64)
    assert _core.chunk_thresholds(labels, p, np.zeros(3, np.int64), fitting)


def _round2(
    labels: np.ndarray, p: np.ndarray, edges: list[int], k: int
) -> tuple[list[bytes], np.ndarray]:
    """Every chunk's encoded threshold summary, as ``tokenclean.dask`` computes them."""
    counts = np.bincount(labels, minlength=k).astype(np.int64)
    parts = []
    for a, b in itertools.pairwise(edges):
        first = np.bincount(labels[:a], minlength=k).astype(np.int64)
        parts.append(_core.chunk_thresholds(labels[a:b], p[a:b], first, counts))
    return parts, counts


@settings(deadline=None, max_examples=150)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 700),
    cut=st.floats(0, 1),
    damage=st.sampled_from(["byte", "truncate", "swap", "changed chunk", "counts", "none"]),
    where=st.floats(0, 1),
)
def test_the_threshold_combiner_refuses_summaries_that_do_not_fit(
    seed: int, n: int, cut: float, damage: str, where: float
) -> None:
    """A chunk that changed between rounds, a damaged or truncated summary, or counts of
    another dataset give the exact thresholds or a ValueError, never a panic."""
    k = 3
    labels, p, _ = dataset(n, k, np.float64, seed=seed % 1000)
    labels = labels.astype(np.int64)
    mid = int(cut * n)
    edges = [0, mid, n] if 0 < mid < n else [0, n]
    parts, counts = _round2(labels, p, edges, k)
    expected = _core.confident_thresholds(labels, p)
    if damage == "byte":
        i, blob = int(where * (len(parts) - 1)), bytearray(parts[0])
        blob[int(where * (len(blob) - 1))] ^= 0x5A
        parts[i] = bytes(blob)
    elif damage == "truncate":
        parts[-1] = parts[-1][: int(where * len(parts[-1]))]
    elif damage == "swap":
        parts.reverse()
    elif damage == "changed chunk":
        other = labels.copy()
        other[int(where * (n - 1))] = (other[int(where * (n - 1))] + 1) % k
        parts[-1] = _round2(other, p, edges, k)[0][-1]
    elif damage == "counts":
        counts = counts.copy()
        counts[int(where * (k - 1))] += 1 + int(where * 1e15)
    try:
        got, _ = _core.combine_thresholds(parts, counts, True)
    except ValueError as e:
        assert damage != "none" and "do not match" in str(e)
        return
    if damage == "none" or (damage == "swap" and len(parts) == 1):
        np.testing.assert_array_equal(got, expected)


@settings(deadline=None, max_examples=100)
@given(
    blobs=st.lists(st.binary(max_size=200), max_size=3),
    counts=st.lists(st.integers(0, 2**62), min_size=1, max_size=4),
    float64=st.booleans(),
)
def test_the_threshold_combiner_never_panics_on_arbitrary_bytes(
    blobs: list[bytes], counts: list[int], float64: bool
) -> None:
    with contextlib.suppress(ValueError):
        _core.combine_thresholds(blobs, np.array(counts, np.int64), float64)


@settings(deadline=None, max_examples=100)
@given(
    joints=st.lists(st.lists(st.integers(-(2**40), 2**40), min_size=0, max_size=10), max_size=3),
    counts=st.lists(st.integers(0, 50), min_size=1, max_size=3),
    wanted=st.integers(0, 100),
    bucket=st.lists(st.integers(0, 20), max_size=6),
    filter_by=st.sampled_from(FILTER_BY),
    chunks=st.integers(0, 4),
)
def test_the_other_combiners_never_panic(
    joints: list[list[int]],
    counts: list[int],
    wanted: int,
    bucket: list[int],
    filter_by: str,
    chunks: int,
) -> None:
    """Summaries that no chunk could have sent give an answer or a ValueError."""
    c = np.array(counts, np.int64)
    lengths = np.array([c.sum()], np.int64)
    parts = [(np.array(j, np.int64), 0, None, None) for j in joints]
    b = np.array(bucket, np.uint32)
    key = np.linspace(0, 1, len(bucket))
    pos = np.arange(len(bucket), dtype=np.int64)
    prune = None
    with contextlib.suppress(ValueError):
        prune, wanted = _core.combine_scans(parts, c, lengths, filter_by=filter_by)
    with contextlib.suppress(ValueError):
        _core.plan_candidates((b, key, pos), prune, wanted, c, chunks, filter_by=filter_by)
    with contextlib.suppress(ValueError):
        _core.combine_candidates(b, key, pos, prune, wanted, c, filter_by=filter_by)
    with contextlib.suppress(ValueError):
        _core.combine_issues(key, pos, lengths, int(c.sum()))
