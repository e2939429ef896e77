"""SPEC section 5, valid layouts: strided, Fortran-order, negatively strided, big-endian,
read-only and memory-mapped arrays, nested Python lists, numpy integer labels of every width,
tuples, mixed float32/float64 sentences and empty sentences all give the answer of the plain
layout (C-contiguous native float arrays and lists of Python ints), leave the input untouched,
and the flat API agrees with the list API.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tokenclean
from tokenclean.token_classification.filter import find_label_issues_flat as find_flat

find_list = tokenclean.find_label_issues

K = 4
DTYPES = [np.float32, np.float64]
# Keyword sets the layouts are checked under: the default, and two other paths.
CONFIGS: list[dict[str, Any]] = [
    {},
    {"filter_by": "both", "return_indices_ranked_by": "normalized_margin"},
    {"filter_by": "confident_learning", "return_indices_ranked_by": "confidence_weighted_entropy"},
]
CONFIG_IDS = ["default", "both-margin", "cl-entropy"]


def _make(seed: int = 7) -> tuple[list[int], np.ndarray, np.ndarray]:
    """(lengths, flat labels int64, flat float64 probabilities) with ~12% flipped labels."""
    rng = np.random.default_rng(seed)
    lengths = [int(x) for x in rng.integers(1, 9, size=30)]
    n = sum(lengths)
    true = rng.integers(0, K, size=n)
    logits = rng.normal(0.0, 1.0, size=(n, K))
    logits[np.arange(n), true] += 2.5
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    labels = true.copy()
    flip = rng.random(n) < 0.12
    labels[flip] = (labels[flip] + rng.integers(1, K, size=int(flip.sum()))) % K
    return lengths, labels.astype(np.int64), p


LENGTHS, LABELS, PROBS64 = _make()
OFFSETS = np.concatenate([[0], np.cumsum(LENGTHS)])
N = int(OFFSETS[-1])


def _split(flat: np.ndarray) -> list[np.ndarray]:
    return [flat[OFFSETS[s] : OFFSETS[s + 1]] for s in range(len(LENGTHS))]


def plain(dtype: Any) -> tuple[list[list[int]], list[np.ndarray]]:
    """The reference layout: Python int lists and C-contiguous native arrays."""
    labels = [[int(x) for x in chunk] for chunk in _split(LABELS)]
    probs = [np.ascontiguousarray(chunk, dtype=dtype) for chunk in _split(PROBS64)]
    return labels, probs


_BASELINE: dict[tuple[str, int], list[tuple[int, int]]] = {}


def baseline(dtype: Any, config: int) -> list[tuple[int, int]]:
    key = (np.dtype(dtype).name, config)
    if key not in _BASELINE:
        _BASELINE[key] = find_list(*plain(dtype), **CONFIGS[config])
    return _BASELINE[key]


def _snapshot(obj: Any) -> Any:
    """A deep copy of nested lists / tuples / arrays, to check the call did not modify them."""
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, (list, tuple)):
        return [_snapshot(x) for x in obj]
    return obj


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and np.array_equal(a, b)
        )
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=False))
    return bool(a == b) and type(a) is type(b)


def check_list(labels: Any, probs: Any, expected: list[tuple[int, int]], **kw: Any) -> None:
    before_labels, before_probs = _snapshot(labels), _snapshot(probs)
    got = find_list(labels, probs, **kw)
    assert got == expected
    assert all(type(s) is int and type(t) is int for s, t in got)
    assert _same(before_labels, labels)
    assert _same(probs, before_probs)


def check_flat(
    labels: Any, probs: np.ndarray, lengths: Any, expected: list[tuple[int, int]], **kw: Any
) -> None:
    before_labels, before_probs = _snapshot(labels), probs.copy()
    got = find_flat(labels, probs, lengths, **kw)
    assert got.dtype == np.int64 and got.ndim == 2 and got.shape[1] == 2
    assert [tuple(map(int, row)) for row in got] == expected
    assert _same(labels, before_labels)
    assert np.array_equal(probs, before_probs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", range(len(CONFIGS)), ids=CONFIG_IDS)
def test_baseline_is_non_empty_and_flat_agrees(dtype: Any, config: int) -> None:
    expected = baseline(dtype, config)
    assert len(expected) >= 3, "the comparisons below need a non-trivial answer"
    check_flat(LABELS, PROBS64.astype(dtype), LENGTHS, expected, **CONFIGS[config])


# ---------------------------------------------------------------------------
# array layouts: each builds, from a C-contiguous (T, K) array, an array with the same
# values but another memory layout
# ---------------------------------------------------------------------------


def _rows_strided(p: np.ndarray) -> np.ndarray:
    big = np.full((2 * len(p), K), 7.0, dtype=p.dtype)  # 7.0 would be rejected if read
    big[::2] = p
    return big[::2]


def _cols_strided(p: np.ndarray) -> np.ndarray:
    wide = np.full((len(p), 2 * K + 1), 7.0, dtype=p.dtype)
    wide[:, ::2] = np.hstack([p, np.zeros((len(p), 1), dtype=p.dtype)])
    return wide[:, ::2][:, :K]


def _both_strided(p: np.ndarray) -> np.ndarray:
    big = np.full((3 * len(p), 3 * K), 7.0, dtype=p.dtype)
    big[::3, ::3] = p
    return big[::3, ::3]


def _fortran(p: np.ndarray) -> np.ndarray:
    return np.asfortranarray(p)


def _rows_reversed(p: np.ndarray) -> np.ndarray:
    return p[::-1].copy()[::-1]


def _cols_reversed(p: np.ndarray) -> np.ndarray:
    return p[:, ::-1].copy()[:, ::-1]


def _both_reversed(p: np.ndarray) -> np.ndarray:
    return p[::-1, ::-1].copy()[::-1, ::-1]


def _transposed(p: np.ndarray) -> np.ndarray:
    return p.T.copy().T


def _big_endian(p: np.ndarray) -> np.ndarray:
    return p.astype(p.dtype.newbyteorder(">"))


def _read_only(p: np.ndarray) -> np.ndarray:
    q = p.copy()
    q.flags.writeable = False
    return q


def _read_only_strided_big_endian(p: np.ndarray) -> np.ndarray:
    q = _rows_strided(_big_endian(p))
    q.flags.writeable = False
    return q


LAYOUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "rows-strided": _rows_strided,
    "cols-strided": _cols_strided,
    "both-strided": _both_strided,
    "fortran": _fortran,
    "rows-reversed": _rows_reversed,
    "cols-reversed": _cols_reversed,
    "both-reversed": _both_reversed,
    "transposed": _transposed,
    "big-endian": _big_endian,
    "read-only": _read_only,
    "read-only-strided-big-endian": _read_only_strided_big_endian,
}


def test_layouts_are_what_they_claim() -> None:
    p = np.ascontiguousarray(PROBS64[:6])
    assert not _rows_strided(p).flags.c_contiguous
    assert not _cols_strided(p).flags.c_contiguous
    assert _fortran(p).flags.f_contiguous and not _fortran(p).flags.c_contiguous
    assert _rows_reversed(p).strides[0] < 0
    assert _cols_reversed(p).strides[1] < 0
    assert not _big_endian(p).dtype.isnative
    assert not _read_only(p).flags.writeable
    for make in LAYOUTS.values():
        assert np.array_equal(make(p), p)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", range(len(CONFIGS)), ids=CONFIG_IDS)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_list_api_layouts(layout: str, config: int, dtype: Any) -> None:
    labels, probs = plain(dtype)
    expected = baseline(dtype, config)
    check_list(labels, [LAYOUTS[layout](p) for p in probs], expected, **CONFIGS[config])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", range(len(CONFIGS)), ids=CONFIG_IDS)
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_flat_api_layouts(layout: str, config: int, dtype: Any) -> None:
    probs = LAYOUTS[layout](np.ascontiguousarray(PROBS64, dtype=dtype))
    check_flat(LABELS, probs, LENGTHS, baseline(dtype, config), **CONFIGS[config])


@pytest.mark.parametrize("dtype", DTYPES)
def test_sentences_as_views_of_one_strided_array(dtype: Any) -> None:
    """np.split of a Fortran-order / strided / big-endian flat array: views, not copies."""
    labels, _ = plain(dtype)
    flat = np.ascontiguousarray(PROBS64, dtype=dtype)
    for make in (_fortran, _rows_strided, _rows_reversed, _big_endian, _read_only):
        views = np.split(make(flat), OFFSETS[1:-1])
        check_list(labels, views, baseline(dtype, 0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_memory_mapped(tmp_path: Path, dtype: Any) -> None:
    path = tmp_path / "probs.npy"
    np.save(path, np.ascontiguousarray(PROBS64, dtype=dtype))
    labels_path = tmp_path / "labels.npy"
    np.save(labels_path, LABELS)
    mm = np.load(path, mmap_mode="r")
    mm_labels = np.load(labels_path, mmap_mode="r")
    assert isinstance(mm, np.memmap) and not mm.flags.writeable
    expected = baseline(dtype, 0)
    check_flat(LABELS, mm, LENGTHS, expected)
    check_flat(mm_labels, mm, LENGTHS, expected)
    labels, _ = plain(dtype)
    check_list(labels, np.split(mm, OFFSETS[1:-1]), expected)
    check_list(np.split(mm_labels, OFFSETS[1:-1]), np.split(mm, OFFSETS[1:-1]), expected)
    # copy-on-write mapping too
    check_flat(LABELS, np.load(path, mmap_mode="c"), LENGTHS, expected)
    del mm, mm_labels


# ---------------------------------------------------------------------------
# Python containers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("config", range(len(CONFIGS)), ids=CONFIG_IDS)
def test_nested_python_lists_are_float64(config: int) -> None:
    labels, probs = plain(np.float64)
    nested = [p.tolist() for p in probs]
    expected = baseline(np.float64, config)
    check_list(labels, nested, expected, **CONFIGS[config])
    check_list(labels, [[tuple(row) for row in s] for s in nested], expected, **CONFIGS[config])
    check_list(labels, [tuple(map(tuple, s)) for s in nested], expected, **CONFIGS[config])


def test_nested_lists_of_float32_values_are_float64() -> None:
    """Python floats are float64 even when they came from float32 arrays."""
    labels, probs32 = plain(np.float32)
    widened = [p.astype(np.float64) for p in probs32]
    expected = find_list(labels, widened)
    check_list(labels, [p.tolist() for p in probs32], expected)


def test_tuples_everywhere() -> None:
    labels, probs = plain(np.float64)
    expected = baseline(np.float64, 0)
    check_list(tuple(tuple(s) for s in labels), tuple(probs), expected)
    check_list([tuple(s) for s in labels], probs, expected)
    check_list(tuple(labels), probs, expected)


def test_generators_of_sentences() -> None:
    labels, probs = plain(np.float64)
    assert find_list((s for s in labels), iter(probs)) == baseline(np.float64, 0)


@pytest.mark.parametrize(
    "int_dtype",
    [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64],
    ids=lambda d: np.dtype(d).name,
)
def test_numpy_integer_labels_of_every_width(int_dtype: Any) -> None:
    labels, probs = plain(np.float32)
    expected = baseline(np.float32, 0)
    arrays = [np.asarray(s, dtype=int_dtype) for s in labels]
    check_list(arrays, probs, expected)
    # strided, big-endian and read-only label arrays
    check_list([np.repeat(a, 2)[::2] for a in arrays], probs, expected)
    if np.dtype(int_dtype).itemsize > 1:
        check_list([a.astype(a.dtype.newbyteorder(">")) for a in arrays], probs, expected)
    frozen = [a.copy() for a in arrays]
    for a in frozen:
        a.flags.writeable = False
    check_list(frozen, probs, expected)
    # numpy integer scalars in lists, and object arrays of ints
    check_list([[int_dtype(x) for x in s] for s in labels], probs, expected)
    check_list([np.asarray(s, dtype=object) for s in labels], probs, expected)
    # the flat API
    flat = LABELS.astype(int_dtype)
    check_flat(flat, np.concatenate(probs), LENGTHS, expected)
    check_flat(flat, np.concatenate(probs), np.asarray(LENGTHS, dtype=int_dtype), expected)


def test_flat_labels_as_python_lists_and_tuples() -> None:
    expected = baseline(np.float64, 0)
    check_flat(LABELS.tolist(), PROBS64, LENGTHS, expected)
    check_flat(tuple(LABELS.tolist()), PROBS64, tuple(LENGTHS), expected)


# ---------------------------------------------------------------------------
# mixed dtypes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("config", range(len(CONFIGS)), ids=CONFIG_IDS)
@pytest.mark.parametrize("pattern", ["alternating", "first-f64", "last-f64", "lists"])
def test_mixed_float32_float64_sentences(pattern: str, config: int) -> None:
    """Any float64 sentence makes the whole computation float64 (numpy's promotion), on the
    float32 sentences' values widened exactly."""
    labels, probs32 = plain(np.float32)
    widened = [p.astype(np.float64) for p in probs32]
    expected = find_list(labels, widened, **CONFIGS[config])
    n = len(probs32)
    if pattern == "alternating":
        wide = set(range(0, n, 2))
    elif pattern == "first-f64":
        wide = {0}
    else:
        wide = {n - 1}
    mixed: list[Any] = [widened[s] if s in wide else probs32[s] for s in range(n)]
    if pattern == "lists":
        mixed = [probs32[s] if s % 3 else probs32[s].tolist() for s in range(n)]
    check_list(labels, mixed, expected, **CONFIGS[config])


def test_empty_float64_sentence_does_not_promote() -> None:
    """cleanlab flattens the probabilities row by row, so an empty sentence contributes no
    row and its dtype plays no part: float32 sentences plus an empty float64 one (or an empty
    list) are computed in float32."""
    labels, probs32 = plain(np.float32)
    expected32 = baseline(np.float32, 0)
    check_list([*labels, []], [*probs32, np.zeros((0, K))], expected32)
    check_list([[], *labels], [[], *probs32], [(s + 1, t) for s, t in expected32])


# ---------------------------------------------------------------------------
# empty sentences, one sentence, many tiny sentences
# ---------------------------------------------------------------------------

EMPTY_PROBS: dict[str, Callable[[Any], Any]] = {
    "(0,K)": lambda dtype: np.zeros((0, K), dtype=dtype),
    "(0,)": lambda dtype: np.zeros((0,), dtype=dtype),
    "[]": lambda dtype: [],
    "(0,K)-float64": lambda dtype: np.zeros((0, K)),
    "(0,1)": lambda dtype: np.zeros((0, 1), dtype=dtype),
}
EMPTY_LABELS: dict[str, Any] = {"[]": [], "()": (), "array": np.zeros(0, dtype=np.int64)}


def _insert_empty(
    where: list[int], probs_kind: str, labels_kind: str, dtype: Any
) -> tuple[list[Any], list[Any], list[int]]:
    """Plain data with empty sentences inserted before the sentences at `where` (indices of
    the original sentences; len(LENGTHS) means at the end). Returns the new sentence index of
    every original sentence too."""
    labels, probs = plain(dtype)
    new_labels: list[Any] = []
    new_probs: list[Any] = []
    index: list[int] = []
    for s in range(len(labels) + 1):
        for _ in range(where.count(s)):
            new_labels.append(EMPTY_LABELS[labels_kind])
            new_probs.append(EMPTY_PROBS[probs_kind](dtype))
        if s < len(labels):
            index.append(len(new_labels))
            new_labels.append(labels[s])
            new_probs.append(probs[s])
    return new_labels, new_probs, index


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("labels_kind", list(EMPTY_LABELS))
@pytest.mark.parametrize("probs_kind", list(EMPTY_PROBS))
@pytest.mark.parametrize(
    "where",
    [[0], [15], [30], [0, 0, 15, 30, 30], list(range(31))],
    ids=["first", "middle", "last", "several", "between-all"],
)
def test_empty_sentences_anywhere(
    where: list[int], probs_kind: str, labels_kind: str, dtype: Any
) -> None:
    labels, probs, index = _insert_empty(where, probs_kind, labels_kind, dtype)
    expected = [(index[s], t) for s, t in baseline(dtype, 0)]
    check_list(labels, probs, expected)
    lengths = [len(x) for x in labels]
    flat_probs = np.ascontiguousarray(PROBS64, dtype=dtype)
    check_flat(LABELS, flat_probs, lengths, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", range(len(CONFIGS)), ids=CONFIG_IDS)
def test_single_sentence(dtype: Any, config: int) -> None:
    """The algorithm works on flattened tokens: one sentence gives the same tokens."""
    expected = [(0, int(OFFSETS[s]) + t) for s, t in baseline(dtype, config)]
    probs = np.ascontiguousarray(PROBS64, dtype=dtype)
    check_list([LABELS.tolist()], [probs], expected, **CONFIGS[config])
    check_list([LABELS], [probs], expected, **CONFIGS[config])
    check_flat(LABELS, probs, [N], expected, **CONFIGS[config])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", range(len(CONFIGS)), ids=CONFIG_IDS)
def test_many_tiny_sentences(dtype: Any, config: int) -> None:
    expected = [(int(OFFSETS[s]) + t, 0) for s, t in baseline(dtype, config)]
    probs = np.ascontiguousarray(PROBS64, dtype=dtype)
    labels = [[int(x)] for x in LABELS]
    check_list(labels, [probs[f : f + 1] for f in range(N)], expected, **CONFIGS[config])
    check_list(labels, list(probs[:, None, :]), expected, **CONFIGS[config])
    check_flat(LABELS, probs, [1] * N, expected, **CONFIGS[config])
    # and with an empty sentence after every token
    expected2 = [(2 * s, t) for s, t in expected]
    labels2 = [x for pair in zip(labels, [[]] * N, strict=False) for x in pair]
    probs2 = [x for f in range(N) for x in (probs[f : f + 1], np.zeros((0, K), dtype=dtype))]
    check_list(labels2, probs2, expected2, **CONFIGS[config])
    check_flat(LABELS, probs, [1, 0] * N, expected2, **CONFIGS[config])


def test_low_memory_layouts() -> None:
    """The batched path reads strided / big-endian / list input the same way."""
    labels, probs = plain(np.float64)
    expected = find_list(labels, probs, low_memory=True)
    assert expected
    for make in (_rows_strided, _fortran, _rows_reversed, _big_endian, _read_only):
        check_list(labels, [make(p) for p in probs], expected, low_memory=True)
    check_list(labels, [p.tolist() for p in probs], expected, low_memory=True)
    check_flat(LABELS, _cols_strided(PROBS64), LENGTHS, expected, low_memory=True)


# ---------------------------------------------------------------------------
# no copies of big inputs
# ---------------------------------------------------------------------------


def _big(rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels mostly agree with the probabilities, so the answer (a Python list) stays small."""
    rng = np.random.default_rng(3)
    k = 4
    labels = rng.integers(0, k, size=rows).astype(np.int64)
    probs = rng.random((rows, k), dtype=np.float32)
    probs[np.arange(rows), labels] += np.float32(3.0)
    probs /= probs.sum(axis=1, keepdims=True)
    flip = rng.random(rows) < 0.001
    labels[flip] = (labels[flip] + 1) % k
    lengths = np.full(rows // 100, 100, dtype=np.int64)
    return labels, probs, lengths


def _traced_peak(call: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_big_inputs_are_not_copied() -> None:
    """numpy reports its allocations to tracemalloc: an astype / ascontiguousarray copy of the
    probabilities (32 MB here) would show up in the peak. Rust's own buffers are not traced."""
    rows = 2_000_000
    labels, probs, lengths = _big(rows)
    size = probs.nbytes
    sentences = np.split(probs, np.cumsum(lengths)[:-1])
    sentence_labels = np.split(labels, np.cumsum(lengths)[:-1])
    strided = np.empty((rows, 8), dtype=np.float32)[:, ::2]
    strided[...] = probs

    peak_flat = _traced_peak(lambda: find_flat(labels, probs, lengths))
    peak_strided = _traced_peak(lambda: find_flat(labels, strided, lengths))
    peak_list = _traced_peak(lambda: find_list(sentence_labels, sentences))
    assert peak_flat < size // 4, peak_flat
    assert peak_strided < size // 4, peak_strided
    assert peak_list < size // 4, peak_list
