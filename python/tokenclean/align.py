"""Word-level ``pred_probs`` from a transformer's subword outputs.

A transformer tokenizer splits words into subwords, so a token-classification model gives one
probability row per subword, while labels (and :func:`tokenclean.find_label_issues`) are per
word. :func:`word_pred_probs` folds the subword rows of each word into one row, following the
``word_ids()`` convention of Hugging Face tokenizers.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

__all__ = ["word_pred_probs"]

_HOWS = ("first", "mean", "max")

FloatArray = npt.NDArray[np.floating[Any]]
WordIds = Sequence[int | None] | npt.NDArray[np.integer[Any]]


@overload
def word_pred_probs(
    subword_probs: FloatArray,
    word_ids: WordIds,
    *,
    how: Literal["first", "mean", "max"] = ...,
    from_logits: bool = ...,
) -> FloatArray: ...


@overload
def word_pred_probs(
    subword_probs: Sequence[FloatArray],
    word_ids: Sequence[WordIds],
    *,
    how: Literal["first", "mean", "max"] = ...,
    from_logits: bool = ...,
) -> list[FloatArray]: ...


def word_pred_probs(
    subword_probs: FloatArray | Sequence[FloatArray],
    word_ids: WordIds | Sequence[WordIds],
    *,
    how: Literal["first", "mean", "max"] = "first",
    from_logits: bool = False,
) -> FloatArray | list[FloatArray]:
    """Fold subword probability rows into one row per word.

    Parameters
    ----------
    subword_probs
        One sentence: a ``(n_subwords, K)`` array. A batch: a list of such arrays, or a padded
        ``(n_sentences, max_subwords, K)`` array. Columns are classes, in class-id order.
    word_ids
        What a Hugging Face tokenizer's ``encoding.word_ids()`` returns, one entry per subword
        row: ``None`` for special tokens and padding (those rows are ignored), otherwise the
        index of the word the subword belongs to, repeated for each of its subwords. For a batch,
        one such list per sentence; a padded array's rows need one entry per padded position.
        A sentence's words are ``0 .. max(word id)``.
    how
        ``"first"``: the word takes its first subword's row, which is what models trained with
        labels on the first subword only (the usual Hugging Face recipe, the others at -100)
        predict well. ``"mean"``: the average of the subword rows, for models trained with the
        word's label on every subword. ``"max"``: each class's largest probability over the
        subwords, then the row is divided by its sum so that it sums to 1 again (a word of one
        subword keeps its row as it is); it lets any confident subword speak for the word.
    from_logits
        The rows are logits: a softmax over the last axis is applied to each subword row first
        (before ``"mean"`` or ``"max"`` combine them).

    Returns
    -------
    numpy.ndarray or list of numpy.ndarray
        ``(n_words, K)`` for one sentence, a list of them for a batch (views into one array),
        in the input's float dtype (float32 stays float32; integers become float64). These are
        ready for :func:`tokenclean.find_label_issues`.

    Raises
    ------
    ValueError
        If a word id between 0 and a sentence's largest has no subword (for example the
        sentence was truncated): the message names the sentence and the word. Also for a
        ``word_ids`` whose length differs from the sentence's rows, negative or non-integer
        word ids, NaN (or, without ``from_logits``, values outside [0, 1]), and sentences
        with different numbers of classes; messages name the sentence and the subword.

    Examples
    --------
    >>> import numpy as np
    >>> from tokenclean.align import word_pred_probs
    >>> probs = np.array([
    ...     [0.9, 0.1],  # [CLS]
    ...     [0.2, 0.8],  # "Wash"   word 0
    ...     [0.6, 0.4],  # "##ing"  word 0
    ...     [0.7, 0.3],  # "ton"    word 0
    ...     [0.1, 0.9],  # "DC"     word 1
    ...     [0.9, 0.1],  # [SEP]
    ... ])
    >>> word_ids = [None, 0, 0, 0, 1, None]
    >>> word_pred_probs(probs, word_ids)
    array([[0.2, 0.8],
           [0.1, 0.9]])
    >>> word_pred_probs(probs, word_ids, how="mean").round(3)
    array([[0.5, 0.5],
           [0.1, 0.9]])
    >>> word_pred_probs(probs, word_ids, how="max").round(3)
    array([[0.467, 0.533],
           [0.1  , 0.9  ]])
    >>> word_pred_probs(probs, [None, 0, 0, 2, 2, None])
    Traceback (most recent call last):
    ...
    ValueError: sentence 0: word 1 has no subword (truncated?); 1 word(s) missing in all
    """
    if how not in _HOWS:
        raise ValueError(f"how={how!r} is not one of {', '.join(_HOWS)}")
    if not isinstance(from_logits, (bool, np.bool_)):
        raise TypeError(f"from_logits must be a bool, not {type(from_logits).__name__}")

    flat, sub_offsets, ids_per_sentence, single = _flatten(subword_probs, word_ids)
    dtype = flat.dtype if flat.dtype.kind == "f" else np.dtype(np.float64)
    k = flat.shape[1]
    n_sentences = len(sub_offsets) - 1

    mask, vals = _parse_word_ids(ids_per_sentence, sub_offsets)
    _check_values(flat, mask, sub_offsets, bool(from_logits))

    pos = np.flatnonzero(mask)
    # Sentence of each kept subword; pos is ascending, so runs of equal sentences are contiguous.
    sent = np.searchsorted(sub_offsets, pos, side="right") - 1
    kept_per_sentence = np.bincount(sent, minlength=n_sentences)
    n_words = np.zeros(n_sentences, dtype=np.int64)
    nonempty = kept_per_sentence > 0
    if pos.size:
        kept_starts = np.concatenate(([0], np.cumsum(kept_per_sentence)[:-1]))
        n_words[nonempty] = np.maximum.reduceat(vals + 1, kept_starts[nonempty])
    word_offsets = np.concatenate(([0], np.cumsum(n_words)))
    total = int(word_offsets[-1])

    key = word_offsets[sent] + vals
    counts = np.bincount(key, minlength=total)
    missing = np.flatnonzero(counts == 0)
    if missing.size:
        s, w = _locate(int(missing[0]), word_offsets)
        raise ValueError(
            f"sentence {s}: word {w} has no subword (truncated?); "
            f"{missing.size} word(s) missing in all"
        )

    if key.size > 1 and np.any(key[1:] < key[:-1]):
        order = np.argsort(key, kind="stable")
        pos = pos[order]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])) if total else counts[:0]

    out: FloatArray
    if total == 0:
        out = np.zeros((0, k), dtype=dtype)
    elif how == "first":
        out = flat[pos[starts]].astype(dtype, copy=False)
        if from_logits:
            out = _softmax(out)
    else:
        rows = flat[pos].astype(dtype, copy=False)
        if from_logits:
            rows = _softmax(rows)
        if how == "mean":
            out = np.add.reduceat(rows, starts, axis=0)
            out /= counts.astype(dtype)[:, None]
        else:
            out = np.maximum.reduceat(rows, starts, axis=0)
            # words of one subword keep their row bit for bit; all-zero rows give NaN, below
            several = counts > 1
            with np.errstate(invalid="ignore", divide="ignore"):
                out[several] /= out[several].sum(axis=1, keepdims=True)
    if total and np.isnan(out).any():
        s, w = _locate(int(np.flatnonzero(np.isnan(out).any(axis=1))[0]), word_offsets)
        raise ValueError(
            f"sentence {s}: word {w} has no usable probabilities "
            "(all subword rows zero, or all logits -inf)"
        )

    if single:
        return out
    if n_sentences == 0:
        return []
    return list(np.split(out, word_offsets[1:-1]))


def _flatten(
    subword_probs: Any, word_ids: Any
) -> tuple[FloatArray, npt.NDArray[np.int64], list[Any], bool]:
    """All subword rows as one (n, K) array, sentence offsets into it, and each sentence's ids."""
    if isinstance(subword_probs, (list, tuple)):
        arrays = [np.asarray(a) for a in subword_probs]
        for s, a in enumerate(arrays):
            if a.ndim != 2:
                raise ValueError(
                    f"sentence {s}: subword_probs must be 2-D (subwords, classes), got shape "
                    f"{a.shape}"
                )
        ids = _batch_ids(word_ids, len(arrays))
        if not arrays:
            return np.zeros((0, 0)), np.zeros(1, dtype=np.int64), [], False
        k = arrays[0].shape[1]
        for s, a in enumerate(arrays):
            if a.shape[1] != k:
                raise ValueError(
                    f"sentence {s}: {a.shape[1]} classes, but sentence 0 has {k} "
                    "(every sentence needs the same classes)"
                )
        lengths = [a.shape[0] for a in arrays]
        flat = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
        single = False
    else:
        arr = np.asarray(subword_probs)
        if arr.ndim == 2:
            if not isinstance(word_ids, np.ndarray) and any(
                isinstance(w, (list, tuple, np.ndarray)) for w in word_ids[:1]
            ):
                raise ValueError(
                    "subword_probs is one sentence (2-D), so word_ids must be one flat list "
                    "of ints and None, not a list of lists"
                )
            ids = [word_ids]
            lengths = [arr.shape[0]]
            flat = arr
            single = True
        elif arr.ndim == 3:
            ids = _batch_ids(word_ids, arr.shape[0])
            lengths = [arr.shape[1]] * arr.shape[0]
            flat = arr.reshape(-1, arr.shape[2])
            single = False
        else:
            raise ValueError(
                "subword_probs must be (subwords, classes) for one sentence, "
                "(sentences, subwords, classes) or a list of 2-D arrays for a batch; "
                f"got shape {arr.shape}"
            )
    for s, (w, n) in enumerate(zip(ids, lengths, strict=False)):
        if len(w) != n:
            raise ValueError(
                f"sentence {s}: word_ids has {len(w)} entries but subword_probs has {n} rows"
            )
    if flat.dtype.kind not in "fiu":
        raise TypeError(f"subword_probs must hold numbers, not {flat.dtype}")
    offsets = np.concatenate(([0], np.cumsum(lengths, dtype=np.int64)))
    return flat, offsets, ids, single


def _batch_ids(word_ids: Any, n_sentences: int) -> list[Any]:
    if isinstance(word_ids, (str, bytes)) or not isinstance(word_ids, (Sequence, np.ndarray)):
        raise TypeError(f"word_ids must be a list of lists, not {type(word_ids).__name__}")
    ids = list(word_ids)
    if len(ids) != n_sentences:
        raise ValueError(f"word_ids has {len(ids)} sentences but subword_probs has {n_sentences}")
    for s, w in enumerate(ids):
        if w is None or isinstance(w, (str, bytes)) or not isinstance(w, (Sequence, np.ndarray)):
            raise TypeError(
                f"sentence {s}: word_ids must be a list of ints and None, not {type(w).__name__}"
            )
    return ids


def _parse_word_ids(
    ids: list[Any], sub_offsets: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Mask of subwords that belong to a word, and their word ids (validated)."""
    n = int(sub_offsets[-1])
    obj = np.empty(n, dtype=object)
    obj[:] = list(itertools.chain.from_iterable(ids))
    mask = np.asarray(obj != None, dtype=bool)  # noqa: E711 (elementwise)
    kept = obj[mask]
    vals = np.array(kept.tolist()) if kept.size else np.zeros(0, dtype=np.int64)
    if vals.ndim != 1 or vals.dtype.kind not in "iu":
        for j, v in zip(np.flatnonzero(mask), kept, strict=False):
            if not isinstance(v, (int, np.integer)) or isinstance(v, (bool, np.bool_)):
                s, t = _locate(int(j), sub_offsets)
                raise ValueError(
                    f"sentence {s}: word id at subword {t} is {v!r}, not an int or None"
                )
        raise ValueError("word ids must be ints or None")  # pragma: no cover - caught above
    vals = vals.astype(np.int64, copy=False)
    negative = np.flatnonzero(vals < 0)
    if negative.size:
        s, t = _locate(int(np.flatnonzero(mask)[negative[0]]), sub_offsets)
        raise ValueError(
            f"sentence {s}: word id at subword {t} is {int(vals[negative[0]])}; "
            "use None for special tokens and padding"
        )
    return mask, vals


def _check_values(
    flat: FloatArray, mask: npt.NDArray[np.bool_], sub_offsets: npt.NDArray[np.int64], logits: bool
) -> None:
    """Reject NaN (and, for probabilities, values outside [0, 1]) in rows that belong to words."""
    if flat.dtype.kind != "f" or flat.size == 0:
        return
    if logits:
        bad = np.isnan(flat) | np.isposinf(flat)
        what = "NaN or +inf"
    else:
        bad = ~((flat >= 0) & (flat <= 1))
        what = "NaN or values outside [0, 1] (logits? pass from_logits=True)"
    rows = np.flatnonzero(bad.any(axis=1) & mask)
    if rows.size:
        s, t = _locate(int(rows[0]), sub_offsets)
        raise ValueError(f"sentence {s}: subword {t} has {what}")


def _locate(flat_index: int, offsets: npt.NDArray[np.int64]) -> tuple[int, int]:
    """(sentence, position in it) of an index into rows laid out by ``offsets``."""
    s = int(np.searchsorted(offsets, flat_index, side="right") - 1)
    return s, flat_index - int(offsets[s])


def _softmax(x: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore"):  # a row of only -inf gives NaN, reported by the caller
        shifted = x - x.max(axis=-1, keepdims=True)
        e = np.exp(shifted)
        result: FloatArray = e / e.sum(axis=-1, keepdims=True)
    return result
