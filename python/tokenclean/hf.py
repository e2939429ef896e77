"""Read token-classification data from Hugging Face ``datasets``, without Python objects per token.

Needs the ``hf`` extra (``pip install 'tokenclean[hf]'``); ``datasets`` and ``pyarrow`` are
imported only when a function here is called.

Tags come straight from the dataset's Arrow memory: each chunk's list values and offsets are
viewed as numpy arrays without copying, and the class names come from the column's
``ClassLabel`` feature. Predicted probabilities stored in the dataset, one ``K``-long list per
token, are read the same way.

Example (needs ``datasets``)::

    >>> import tokenclean
    >>> from datasets import ClassLabel, Dataset, Features, Sequence, Value
    >>> from tokenclean.hf import read_dataset
    >>> features = Features({
    ...     "tokens": Sequence(Value("string")),
    ...     "ner_tags": Sequence(ClassLabel(names=["O", "B-LOC"])),
    ...     "probs": Sequence(Sequence(Value("float32"), length=2)),
    ... })
    >>> ds = Dataset.from_dict({
    ...     "tokens": [["in", "Paris"], ["hello"], ["to", "Rome"]],
    ...     "ner_tags": [[0, 1], [1], [0, 1]],
    ...     "probs": [[[0.9, 0.1], [0.2, 0.8]], [[0.95, 0.05]], [[0.8, 0.2], [0.1, 0.9]]],
    ... }, features=features)
    >>> corpus = read_dataset(ds, pred_probs="probs")
    >>> corpus.class_names, corpus.lengths.tolist(), corpus.labels_flat.tolist()
    (['O', 'B-LOC'], [2, 1, 2], [0, 1, 1, 0, 1])
    >>> tokenclean.find_label_issues(corpus.labels, corpus.pred_probs)
    [(1, 0)]
    >>> corpus.tokens[1]
    ['hello']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

__all__ = ["HFCorpus", "corpus_from_disk", "load_from_disk_split", "read_dataset"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.floating[Any]]
_A = TypeVar("_A", bound="np.ndarray[Any, Any]")


@dataclass(frozen=True, eq=False)
class HFCorpus:
    """Tags (and optionally probabilities) of a Hugging Face dataset, as numpy arrays.

    The per-chunk arrays are read-only views of the dataset's Arrow memory (unless the dataset
    has an indices mapping; see :func:`read_dataset`). Everything else is derived lazily.

    Attributes:
        class_names: the tag names of the ``ClassLabel`` feature, in class-id order.
        lengths: ``(S,)`` int64, the number of tokens of each sentence (row).
        label_chunks: the tags of each Arrow chunk, flat, one int array per chunk.
        pred_probs_chunks: the ``(n, K)`` probabilities of each chunk, or ``None`` if no
            probability column was read.
    """

    class_names: list[str]
    lengths: IntArray
    label_chunks: tuple[npt.NDArray[np.integer[Any]], ...]
    pred_probs_chunks: tuple[FloatArray, ...] | None = None
    _chunk_lengths: tuple[IntArray, ...] = field(default=(), repr=False)
    _read_tokens: Callable[[], list[list[str]]] | None = field(default=None, repr=False)

    @cached_property
    def labels_flat(self) -> npt.NDArray[np.integer[Any]]:
        """``(N,)`` tags of all tokens, sentences one after another.

        The Arrow buffer itself when the column is one chunk; otherwise the chunks copied once
        into one array."""
        return _join(self.label_chunks, np.zeros(0, dtype=np.int64))

    @cached_property
    def pred_probs_flat(self) -> FloatArray | None:
        """``(N, K)`` probabilities (same sharing as :attr:`labels_flat`), or ``None``."""
        if self.pred_probs_chunks is None:
            return None
        k = len(self.class_names)
        return _join(self.pred_probs_chunks, np.zeros((0, k), dtype=np.float32))

    @cached_property
    def labels(self) -> list[npt.NDArray[np.integer[Any]]]:
        """One tag array per sentence: views of the chunks, never copies."""
        return _per_sentence(self.label_chunks, self._chunk_lengths)

    @cached_property
    def pred_probs(self) -> list[FloatArray] | None:
        """One ``(T_i, K)`` array per sentence (views of the chunks), or ``None``."""
        if self.pred_probs_chunks is None:
            return None
        return _per_sentence(self.pred_probs_chunks, self._chunk_lengths)

    @cached_property
    def tokens(self) -> list[list[str]]:
        """The words of each sentence, built as Python strings on first access."""
        if self._read_tokens is None:
            raise ValueError("no tokens column was read (tokens=None)")
        return self._read_tokens()


def read_dataset(
    ds: Any,
    *,
    tokens: str | None = "tokens",
    tags: str = "ner_tags",
    pred_probs: str | None = None,
) -> HFCorpus:
    """Read a ``datasets.Dataset``'s tags (and probabilities) into an :class:`HFCorpus`.

    Parameters
    ----------
    ds
        A ``datasets.Dataset`` (one split).
    tokens
        Column of words (a sequence of strings), checked to have as many entries per row as
        ``tags``; they become Python strings only when :attr:`HFCorpus.tokens` is used.
        ``None`` when there is no such column.
    tags
        Column of tags: a sequence of ``ClassLabel``, whose names become the class names.
    pred_probs
        Optional column of out-of-sample predicted probabilities: per row, one list of ``K``
        floats (float32 or float64) per token, columns in class-id order, for example
        ``Sequence(Sequence(Value("float32"), length=K))``.

    Returns
    -------
    HFCorpus

    Notes
    -----
    Zero copy: each Arrow chunk's values are viewed in place (read-only). A dataset that went
    through ``shuffle``, ``filter`` or a non-contiguous ``select`` keeps its rows in place and
    an *indices mapping* beside them; its rows are gathered first, in the dataset's order,
    which copies the columns read (unavoidable). ``Dataset.flatten_indices()`` makes the copy
    once for good.

    Raises
    ------
    TypeError
        For anything but a ``datasets.Dataset`` (a ``DatasetDict`` needs a split chosen).
    ValueError
        A missing column (the message lists the columns), a column of the wrong feature type
        (named with its type), a null or a tag outside the class names (the row and token are
        named), a probability row whose length is not ``K``, or rows of different lengths in
        ``tokens``, ``tags`` and ``pred_probs``.
    """
    import datasets

    if not isinstance(ds, datasets.Dataset):
        hint = "; choose a split, e.g. ds['train']" if isinstance(ds, datasets.DatasetDict) else ""
        raise TypeError(f"read_dataset takes a datasets.Dataset, not {type(ds).__name__}{hint}")
    columns = list(ds.column_names)
    for name in (tokens, tags, pred_probs):
        if name is not None and name not in columns:
            raise ValueError(
                f"no column {name!r} in the dataset; its columns: {', '.join(columns)}"
            )
    class_names = _class_names(ds.features[tags], tags)
    k = len(class_names)

    indices = None if ds._indices is None else ds._indices.column("indices")

    def column(name: str) -> Any:
        col = ds.data.column(name)
        return col if indices is None else col.take(indices)

    label_chunks, chunk_lengths = _read_ints(column(tags), tags, k)
    lengths = _join(chunk_lengths, np.zeros(0, dtype=np.int64))

    probs_chunks = None
    if pred_probs is not None:
        _check_probs_feature(ds.features[pred_probs], pred_probs, k)
        probs_chunks, probs_lengths = _read_probs(column(pred_probs), pred_probs, k)
        _same_lengths(lengths, probs_lengths, tags, pred_probs)

    read_tokens = None
    if tokens is not None:
        _check_tokens_feature(ds.features[tokens], tokens)
        table_lengths = _join(
            [_local_offsets(c)[1] for c in ds.data.column(tokens).chunks if len(c)],
            np.zeros(0, dtype=np.int64),
        )
        token_lengths = table_lengths if indices is None else table_lengths[indices.to_numpy()]
        _same_lengths(lengths, [token_lengths], tags, tokens)
        name = tokens

        def read_tokens() -> list[list[str]]:
            words: list[list[str]] = column(name).to_pylist()
            return words

    return HFCorpus(
        class_names=class_names,
        lengths=lengths,
        label_chunks=tuple(label_chunks),
        pred_probs_chunks=None if probs_chunks is None else tuple(probs_chunks),
        _chunk_lengths=tuple(chunk_lengths),
        _read_tokens=read_tokens,
    )


def load_from_disk_split(path: str | os.PathLike[str], split: str | None = None) -> Any:
    """Open a folder written by ``save_to_disk`` and return one ``datasets.Dataset``.

    A ``DatasetDict`` folder needs ``split`` (an unknown one is an error listing the splits);
    a ``Dataset`` folder takes no ``split``.
    """
    import datasets

    if not os.path.isdir(path):
        raise FileNotFoundError(f"{os.fspath(path)}: no such directory")
    loaded = datasets.load_from_disk(os.fspath(path))
    if isinstance(loaded, datasets.DatasetDict):
        splits = ", ".join(loaded)
        if split is None:
            raise ValueError(f"{os.fspath(path)} holds several splits ({splits}); choose one")
        if split not in loaded:
            raise ValueError(f"{os.fspath(path)} has no split {split!r}; its splits: {splits}")
        return loaded[split]
    if split is not None:
        raise ValueError(f"{os.fspath(path)} holds a single Dataset, not splits; give no split")
    return loaded


def corpus_from_disk(
    path: str | os.PathLike[str],
    split: str | None = None,
    *,
    tokens: str | None = "tokens",
    tags: str = "ner_tags",
    pred_probs: str | None = None,
) -> HFCorpus:
    """:func:`read_dataset` on :func:`load_from_disk_split`'s dataset."""
    ds = load_from_disk_split(path, split)
    return read_dataset(ds, tokens=tokens, tags=tags, pred_probs=pred_probs)


# ---------------------------------------------------------------------------
# features


def _class_names(feature: Any, name: str) -> list[str]:
    from datasets import ClassLabel

    inner = getattr(feature, "feature", None)
    if not isinstance(inner, ClassLabel):
        raise ValueError(
            f"column {name!r} must be a sequence of ClassLabel (tags), but its feature is "
            f"{feature!r}"
        )
    return [str(n) for n in inner.names]


def _check_probs_feature(feature: Any, name: str, k: int) -> None:
    from datasets import Value

    inner = getattr(feature, "feature", None)
    value = getattr(inner, "feature", None)
    if not (isinstance(value, Value) and value.dtype in ("float32", "float64")):
        raise ValueError(
            f"column {name!r} must be a sequence of sequences of float32 or float64 (one "
            f"row of {k} probabilities per token), but its feature is {feature!r}"
        )


def _check_tokens_feature(feature: Any, name: str) -> None:
    from datasets import Value

    inner = getattr(feature, "feature", None)
    if not (isinstance(inner, Value) and inner.dtype in ("string", "large_string")):
        raise ValueError(
            f"column {name!r} must be a sequence of strings (words), but its feature is {feature!r}"
        )


# ---------------------------------------------------------------------------
# Arrow chunks


def _local_offsets(chunk: Any) -> tuple[IntArray, IntArray]:
    """A list chunk's offsets relative to its first value, and its row lengths."""
    offsets = chunk.offsets.to_numpy(zero_copy_only=True).astype(np.int64)
    offsets -= offsets[0]
    return offsets, np.diff(offsets)


def _where(name: str, offsets: IntArray, row0: int, value: int) -> str:
    """``column 'x', row r, token t`` of a chunk's flat value index."""
    row = int(np.searchsorted(offsets, value, side="right") - 1)
    return f"column {name!r}, row {row0 + row}, token {value - int(offsets[row])}"


def _list_chunks(col: Any, name: str) -> Iterator[tuple[Any, IntArray, IntArray, int]]:
    """Each non-empty chunk's flat values, offsets, row lengths and first row; no nulls."""
    row0 = 0
    for chunk in col.chunks:
        if not len(chunk):
            continue
        offsets, lengths = _local_offsets(chunk)
        values = chunk.flatten()
        if chunk.null_count:
            row = int(np.flatnonzero(chunk.is_null().to_numpy(zero_copy_only=False))[0])
            raise ValueError(f"column {name!r}, row {row0 + row}: the row is null")
        if values.null_count:
            v = int(np.flatnonzero(values.is_null().to_numpy(zero_copy_only=False))[0])
            raise ValueError(f"{_where(name, offsets, row0, v)}: the value is null")
        yield values, offsets, lengths, row0
        row0 += len(chunk)


def _read_ints(
    col: Any, name: str, k: int
) -> tuple[list[npt.NDArray[np.integer[Any]]], list[IntArray]]:
    """Each chunk's tags (zero-copy) and row lengths, checked for range."""
    values_out: list[npt.NDArray[np.integer[Any]]] = []
    lengths_out: list[IntArray] = []
    for values, offsets, lengths, row0 in _list_chunks(col, name):
        arr = values.to_numpy(zero_copy_only=True)
        bad = np.flatnonzero((arr < 0) | (arr >= k))
        if bad.size:
            v = int(bad[0])
            raise ValueError(
                f"{_where(name, offsets, row0, v)}: tag {int(arr[v])} is not a class id "
                f"0..{k - 1} of its ClassLabel"
            )
        values_out.append(arr)
        lengths_out.append(lengths)
    return values_out, lengths_out


def _read_probs(col: Any, name: str, k: int) -> tuple[list[FloatArray], list[IntArray]]:
    """Each chunk's ``(n, K)`` probabilities (zero-copy) and row lengths."""
    import pyarrow as pa

    values_out: list[FloatArray] = []
    lengths_out: list[IntArray] = []
    for per_token, offsets, lengths, row0 in _list_chunks(col, name):
        if pa.types.is_fixed_size_list(per_token.type):
            widths = np.full(len(per_token), per_token.type.list_size, dtype=np.int64)
        else:
            widths = _local_offsets(per_token)[1]
        wrong = np.flatnonzero(widths != k)
        if wrong.size:
            v = int(wrong[0])
            raise ValueError(
                f"{_where(name, offsets, row0, v)}: {int(widths[v])} probabilities, but the "
                f"tags have {k} classes"
            )
        floats = per_token.flatten()
        if floats.null_count:
            v = int(np.flatnonzero(floats.is_null().to_numpy(zero_copy_only=False))[0]) // k
            raise ValueError(f"{_where(name, offsets, row0, v)}: a probability is null")
        values_out.append(floats.to_numpy(zero_copy_only=True).reshape(-1, k))
        lengths_out.append(lengths)
    return values_out, lengths_out


def _same_lengths(lengths: IntArray, other: list[IntArray], name: str, other_name: str) -> None:
    joined = _join(other, np.zeros(0, dtype=np.int64))
    diff = np.flatnonzero(joined != lengths)
    if diff.size:
        row = int(diff[0])
        raise ValueError(
            f"row {row}: column {other_name!r} has {int(joined[row])} entries but column "
            f"{name!r} has {int(lengths[row])}"
        )


def _join(chunks: Sequence[_A], empty: _A) -> _A:
    """One array from per-chunk arrays: the chunk itself when there is one (no copy)."""
    if len(chunks) == 0:
        return empty
    if len(chunks) == 1:
        return chunks[0]
    return cast(_A, np.concatenate(chunks))


def _per_sentence(chunks: tuple[Any, ...], chunk_lengths: tuple[IntArray, ...]) -> list[Any]:
    out: list[Any] = []
    for values, lengths in zip(chunks, chunk_lengths, strict=False):
        out.extend(np.split(values, np.cumsum(lengths)[:-1]))
    return out
