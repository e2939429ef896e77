"""Entity-level label issues: whole spans that look mislabeled, not single tokens.

Tags are grouped into entity spans under a tagging scheme; the spans of the given labels are
compared with the spans the model's probabilities predict, and every disagreement becomes one
issue that holds all of its tokens (so no token is reported twice).

Schemes
-------
``"IOB1"``
    ``B-`` only between two adjacent spans of the same type; spans start with ``I-``.
``"IOB2"`` (alias ``"BIO"``)
    Every span starts with ``B-``.
``"BIOES"`` (aliases ``"IOBES"``, ``"BILOU"``; ``L-`` reads as ``E-``, ``U-`` as ``S-``)
    ``B- I-* E-`` for spans of two tokens or more, ``S-`` for one.
``"IO"`` (alias ``"plain"``)
    Tags without ``B-`` (``PER``, or ``I-PER``): every maximal run of one type is a span.

A class named ``O`` is outside any entity; a name without a known prefix is a bare type.
:func:`detect_scheme` picks the scheme from the class names and, between IOB1 and IOB2, from
how the labels start their spans. Tags are read into spans as the CoNLL evaluation script
reads them, which is each scheme's usual repair of malformed sequences: a span starts at a
``B-``/``S-`` tag, or at any entity tag after ``O``, ``E-``, ``S-``, a sentence start or a
tag of another type; it ends before ``O`` or the next start. So an IOB2 ``I-`` without
``B-`` starts a span, and a BIOES ``B-`` left open ends where its tokens end. Positions the
scheme forbids (that ``I-``, an IOB1 ``B-`` after ``O``, an unclosed BIOES ``B-``/``I-``, a
tag whose prefix the scheme lacks such as ``S-`` in IOB2) are *malformed*: read as repaired,
and reported.

Issues
------
The predicted spans come from the most probable tag sequence the scheme allows (a Viterbi
decode of ``log pred_probs`` with the scheme's transitions as hard constraints, entity classes
weighed by ``entity_weight``; ``decode="argmax"`` reads the per-token argmax of the weighed
probabilities instead, repaired like the labels). Given and predicted spans that share a
token are linked; each linked group where they differ is one issue, which holds every token
of its spans. Issues therefore never overlap (nothing is merged or dropped afterwards) and no
token is reported twice. Kinds:

``wrong_type``
    one given and one predicted span on the same tokens, of different types;
``wrong_span``
    other boundaries: one given and one predicted span that overlap without coinciding (their
    types may differ too), or several spans on either side (a split or a merge);
``spurious``
    a given span the prediction does not overlap: the evidence says it is no entity;
``missing``
    a predicted span no given span overlaps: an entity where the labels say ``O``;
``malformed``
    a given span the prediction agrees with but that holds a malformed position. (A
    disagreement that also holds one keeps its kind and has ``"malformed": True``.)

The score of an issue is a label quality (in ``[0, 1]`` unless ``token_scores`` say
otherwise): **lower is more suspect** (as
tokenclean's token issues and cleanlab's quality scores). It aggregates, over the issue's
tokens, each token's probability of its given tag (or the ``token_scores`` you pass, lower =
more suspect): ``aggregate="changed"`` (default: the mean over the tokens whose tag the
suggestion changes, and the malformed ones; the mean over all when none), ``"mean"`` (over all
the issue's tokens) or ``"min"``. The default was chosen on the even sentences of CoNLL-2003
test (``benches/quality_spans.py``), where it had the best entity-level average precision
with both probability sets. Issues come ranked by ascending score, ties by start position.

Records
-------
Each issue is a dict with exactly these keys (positions are within the sentence; ``end`` is
exclusive):

``kind``            one of :data:`KINDS`
``sentence``        sentence index
``start``, ``end``  the tokens the issue holds, ``start <= t < end``
``tokens``          positions whose tag the suggestion changes, plus malformed positions,
                    ascending (a subset of ``start..end``; what a token-level view flags)
``given``           type of the given span (``"LOC"``), or ``None`` for ``missing``
``suggested``       type of the suggested span, or ``None`` for ``spurious``
``given_tags``      the given tag names over ``start..end`` (``["B-LOC", "I-LOC"]``)
``suggested_tags``  the suggested tag names over ``start..end``
``given_span``      ``[start, end, type]`` of the group's first given span, or ``None``
``suggested_span``  the same for the first predicted span, or ``None``
``given_spans``     every given span of the group, as ``[start, end, type]``
``suggested_spans`` every predicted span of the group
``malformed``       whether the issue holds a malformed position
``score``           the label quality above (lower = more suspect)
``words``           ``None``: for the caller to fill with the tokens' text

Examples
--------
>>> import numpy as np
>>> from tokenclean.spans import find_span_issues
>>> names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
>>> labels = [[1, 2, 0, 3], [0, 0, 0]]
>>> p = np.full((4, 5), 0.025)
>>> p[[0, 1, 2, 3], [1, 2, 0, 1]] = 0.9  # the model sees PER where LOC is given
>>> q = np.full((3, 5), 0.025)
>>> q[[0, 1, 2], [0, 3, 0]] = 0.9  # and a LOC where O is given
>>> issues = find_span_issues(labels, [p, q], names)
>>> [(i["kind"], i["sentence"], i["start"], i["end"], i["given"], i["suggested"])
...  for i in issues]
[('wrong_type', 0, 3, 4, 'LOC', 'PER'), ('missing', 1, 1, 2, None, 'LOC')]
>>> round(issues[0]["score"], 3)
0.025
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tokenclean import _core
from tokenclean._options import float_probs, int_labels

__all__ = [
    "KINDS",
    "SCHEMES",
    "detect_scheme",
    "find_span_issues",
    "find_spans",
    "parse_class_names",
]

SCHEMES = ("IOB1", "IOB2", "BIOES", "IO")
KINDS = ("wrong_type", "wrong_span", "spurious", "missing", "malformed")
AGGREGATES = ("mean", "min", "changed")
DECODES = ("viterbi", "argmax")
ENTITY_WEIGHT = 4.0

_ALIASES = {
    "IOB1": "IOB1",
    "IOB2": "IOB2",
    "BIO": "IOB2",
    "BIOES": "BIOES",
    "IOBES": "BIOES",
    "BILOU": "BIOES",
    "IO": "IO",
    "PLAIN": "IO",
}
# Prefix codes shared with the engine (src/spans.rs).
_O, _B, _I, _E, _S, _BARE = 0, 1, 2, 3, 4, 5
_PREFIXES = {"B": _B, "I": _I, "E": _E, "L": _E, "S": _S, "U": _S}


def _scheme_name(scheme: str) -> str:
    if not isinstance(scheme, str):
        raise TypeError(f"scheme must be a string, not {type(scheme).__name__}")
    name = _ALIASES.get(scheme.upper())
    if name is None:
        raise ValueError(
            f"unknown tagging scheme {scheme!r}; use one of {', '.join(SCHEMES)} "
            "(or BIO, IOBES, BILOU, plain)"
        )
    return name


def parse_class_names(
    class_names: Sequence[str],
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Each class's prefix code and entity type id, and the type names.

    Codes: 0 ``O``, 1 ``B-``, 2 ``I-``, 3 ``E-``/``L-``, 4 ``S-``/``U-``, 5 no prefix.

    >>> codes, types, names = parse_class_names(["O", "B-PER", "I-PER", "S-LOC", "MISC"])
    >>> codes.tolist(), types.tolist(), names
    ([0, 1, 2, 4, 5], [0, 0, 0, 1, 2], ['PER', 'LOC', 'MISC'])
    """
    if isinstance(class_names, (str, bytes)) or not hasattr(class_names, "__len__"):
        raise TypeError("class_names must be a sequence of tag names")
    codes = np.zeros(len(class_names), dtype=np.uint8)
    types = np.zeros(len(class_names), dtype=np.int64)
    names: list[str] = []
    for c, raw in enumerate(class_names):
        name = str(raw)
        if name == "O":
            continue
        code = _PREFIXES.get(name[:1], _BARE) if name[1:2] == "-" and len(name) > 2 else _BARE
        entity = name[2:] if code != _BARE else name
        codes[c] = code
        if entity not in names:
            names.append(entity)
        types[c] = names.index(entity)
    return codes, types, names


def _flat(labels: Any, lengths: Any) -> tuple[np.ndarray, np.ndarray]:
    """Flat int64 labels and sentence lengths from per-sentence or flat labels."""
    if lengths is not None:
        flat = int_labels(labels)
        lens = int_labels(lengths, "lengths")
        if lens.sum() != flat.shape[0]:
            raise ValueError(
                f"lengths add up to {int(lens.sum())} tokens but there are {flat.shape[0]} labels"
            )
        return flat, lens
    if isinstance(labels, np.ndarray) and labels.ndim == 1 and labels.dtype.kind in "iu":
        raise ValueError("flat labels need lengths=; or pass a list of sentences")
    parts = [int_labels(s, f"labels[{i}]") for i, s in enumerate(labels)]
    lens = np.array([len(p) for p in parts], dtype=np.int64)
    flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return flat, lens


def _check_labels(flat: np.ndarray, lens: np.ndarray, k: int) -> None:
    """Refuses the first label that is not a class id, naming its sentence and token."""
    bad = np.flatnonzero((flat < 0) | (flat >= k))
    if bad.size:
        f = int(bad[0])
        first = np.concatenate([[0], np.cumsum(lens)])
        s = int(np.searchsorted(first, f, side="right")) - 1
        raise ValueError(
            f"label {int(flat[f])} at sentence {s}, token {f - int(first[s])} is not a class "
            f"id: class_names has {k} classes (0..{k - 1})"
        )


def detect_scheme(class_names: Sequence[str], labels: Any = None, *, lengths: Any = None) -> str:
    """The tagging scheme of ``class_names``: one of :data:`SCHEMES`.

    ``E-``/``S-``/``L-``/``U-`` classes mean BIOES; no ``B-`` class means IO (or IOB1 when the
    classes have ``I-``). With both ``B-`` and ``I-``, the labels decide: spans that start
    with ``I-`` (IOB1) against spans that start with ``B-`` after ``O`` or another type
    (IOB2); the more frequent wins, IOB2 on a tie or without labels. ``labels`` are
    per-sentence, or flat with ``lengths``.

    >>> detect_scheme(["O", "B-PER", "I-PER", "E-PER", "S-PER"])
    'BIOES'
    >>> detect_scheme(["O", "B-PER", "I-PER"], [[2, 2, 0, 1], [2]])
    'IOB1'
    >>> detect_scheme(["O", "B-PER", "I-PER"], [[1, 2, 0, 1]])
    'IOB2'
    >>> detect_scheme(["O", "PER", "LOC"])
    'IO'
    """
    codes, types, _ = parse_class_names(class_names)
    present = set(codes.tolist())
    if present & {_E, _S}:
        return "BIOES"
    if _B not in present:
        return "IOB1" if _I in present else "IO"
    if labels is None:
        return "IOB2"
    flat, lens = _flat(labels, lengths)
    if flat.size == 0:
        return "IOB2"
    _check_labels(flat, lens, len(codes))
    pref = codes[flat]
    typ = types[flat]
    prev_pref = np.empty_like(pref)
    prev_pref[0] = _O
    prev_pref[1:] = pref[:-1]
    prev_typ = np.empty_like(typ)
    prev_typ[0] = -1
    prev_typ[1:] = typ[:-1]
    starts = np.cumsum(lens)[:-1]
    starts = starts[starts < flat.size]
    prev_pref[starts] = _O
    continues = np.isin(prev_pref, (_B, _I)) & (prev_typ == typ)
    i_starts = int(np.count_nonzero((pref == _I) & ~continues))
    b_starts = int(np.count_nonzero((pref == _B) & ~continues))
    return "IOB1" if i_starts > b_starts else "IOB2"


def _resolve_scheme(
    scheme: str | None, class_names: Sequence[str], flat: np.ndarray, lens: np.ndarray
) -> str:
    if scheme is None:
        return detect_scheme(class_names, flat, lengths=lens)
    return _scheme_name(scheme)


def find_spans(
    labels: Any,
    class_names: Sequence[str],
    *,
    scheme: str | None = None,
    lengths: Any = None,
) -> tuple[list[tuple[int, int, int, str]], list[tuple[int, int]]]:
    """The entity spans of ``labels`` and the malformed positions, as the scheme reads them.

    Returns ``(spans, malformed)``: spans as ``(sentence, start, end, type)`` with ``end``
    exclusive, in order; malformed positions as ``(sentence, token)``. ``labels`` are
    per-sentence class ids, or flat with ``lengths``.

    >>> names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    >>> find_spans([[0, 2, 2, 0, 3, 4]], names, scheme="IOB2")
    ([(0, 1, 3, 'PER'), (0, 4, 6, 'LOC')], [(0, 1)])
    """
    flat, lens = _flat(labels, lengths)
    name = _resolve_scheme(scheme, class_names, flat, lens)
    codes, types, type_names = parse_class_names(class_names)
    out = _core.spans_group(flat, lens, codes, types, name)
    first = np.concatenate([[0], np.cumsum(lens)])
    sent = out["sentence"]
    base = first[sent]
    spans = [
        (s, a, e, type_names[t])
        for s, a, e, t in zip(
            sent.tolist(),
            (out["start"] - base).tolist(),
            (out["end"] - base).tolist(),
            out["type"].tolist(),
            strict=False,
        )
    ]
    bad = out["malformed"]
    bad_sent = np.searchsorted(first, bad, side="right") - 1
    malformed = list(zip(bad_sent.tolist(), (bad - first[bad_sent]).tolist(), strict=False))
    return spans, malformed


def _flat_probs(pred_probs: Any, lengths: Any, n: int) -> np.ndarray:
    if lengths is None:
        parts = [float_probs(p) for p in pred_probs]
        parts = [p for p in parts if p.size]
        if not parts:
            return np.zeros((0, 0))
        probs = parts[0] if len(parts) == 1 else np.concatenate(parts)
    else:
        probs = float_probs(pred_probs)
    if probs.ndim != 2 or probs.shape[0] != n:
        raise ValueError(
            f"pred_probs has shape {probs.shape}; it must be ({n}, K), one row per token"
        )
    if not np.isfinite(probs).all():
        raise ValueError("pred_probs holds a value that is not finite")
    return probs


def _flat_scores(token_scores: Any, lengths: Any, n: int) -> np.ndarray:
    if lengths is None and not isinstance(token_scores, np.ndarray):
        parts = [np.asarray(s, dtype=np.float64).reshape(-1) for s in token_scores]
        scores = np.concatenate(parts) if parts else np.zeros(0)
    else:
        scores = np.asarray(token_scores, dtype=np.float64).reshape(-1)
    if scores.shape[0] != n:
        raise ValueError(f"token_scores has {scores.shape[0]} values but there are {n} tokens")
    if not np.isfinite(scores).all():
        raise ValueError("token_scores holds a value that is not finite")
    return scores


def _aggregate(
    quality: np.ndarray, changed: np.ndarray, start: np.ndarray, end: np.ndarray, how: str
) -> np.ndarray:
    """Per issue, the ``how`` aggregate of ``quality`` over ``start[i]:end[i]``."""
    if start.size == 0:
        return np.zeros(0)
    if how == "min":
        padded = np.append(quality, 0.0)
        return np.minimum.reduceat(padded, np.stack([start, end], 1).reshape(-1))[::2]
    if how == "changed":
        w = changed.astype(np.float64)
        num = np.concatenate([[0.0], np.cumsum(quality * w)])
        den = np.concatenate([[0.0], np.cumsum(w)])
        n = den[end] - den[start]
        total = num[end] - num[start]
        mean = _aggregate(quality, changed, start, end, "mean")
        return np.where(n > 0, total / np.maximum(n, 1.0), mean)
    cum = np.concatenate([[0.0], np.cumsum(quality)])
    means: np.ndarray = (cum[end] - cum[start]) / (end - start)
    return means


def find_span_issues(
    labels: Any,
    pred_probs: Any,
    class_names: Sequence[str],
    *,
    scheme: str | None = None,
    lengths: Any = None,
    token_scores: Any = None,
    decode: str = "viterbi",
    aggregate: str = "changed",
    entity_weight: float = ENTITY_WEIGHT,
    n_jobs: int | None = None,
) -> list[dict[str, Any]]:
    """Entity-level label issues, most suspect first (records described in the module doc).

    Parameters
    ----------
    labels
        Per-sentence class ids (as ``find_label_issues``), or flat ``(N,)`` with ``lengths``.
    pred_probs
        Per-sentence ``(T_i, K)`` arrays, or flat ``(N, K)`` with ``lengths``; out-of-sample.
    class_names
        The K tag names in column order (``"O"``, ``"B-PER"``, ...).
    scheme
        One of :data:`SCHEMES` (or an alias); ``None`` detects it (:func:`detect_scheme`).
    lengths
        Sentence lengths when ``labels`` and ``pred_probs`` are flat.
    token_scores
        Optional per-token label quality (lower = more suspect; per-sentence or flat) that
        replaces the probability of the given tag in the issue scores, e.g. combined evidence
        from other detectors. It reorders the issues; which issues exist is unchanged.
    decode
        ``"viterbi"`` (constrained decode, default) or ``"argmax"``.
    aggregate
        ``"changed"``, ``"mean"`` or ``"min"``: how token qualities make an issue's score.
    entity_weight
        How much the decode favours entities: each entity class's probability is multiplied
        by it before decoding, so a token reads as an entity once ``w * P(entity) > P(O)``.
        Out-of-sample probabilities of a model trained on the same noisy labels tend to
        follow them, and missed entities are the most frequent annotation error; the default
        (4) was chosen with ``benches/quality_spans.py`` on the even sentences of CoNLL-2003
        test. 1 decodes the probabilities as they are. Scores always use the probabilities
        as they are.
    n_jobs
        Threads for the decode (default: all cores); never changes the answer.

    >>> names = ["O", "B-LOC", "I-LOC"]
    >>> p = np.array([[0.1, 0.8, 0.1], [0.2, 0.1, 0.7], [0.9, 0.05, 0.05]])
    >>> [i["kind"] for i in find_span_issues([[1, 0, 0]], [p], names)]
    ['wrong_span']
    """
    if decode not in DECODES:
        raise ValueError(f"decode={decode!r} is not one of {', '.join(DECODES)}")
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate={aggregate!r} is not one of {', '.join(AGGREGATES)}")
    if not (isinstance(entity_weight, (int, float)) and 0 < entity_weight < math.inf):
        raise ValueError(f"entity_weight={entity_weight!r}; it must be a positive number")
    flat, lens = _flat(labels, lengths)
    probs = _flat_probs(pred_probs, lengths, flat.shape[0])
    k = len(class_names)
    if probs.shape[0] and probs.shape[1] != k:
        raise ValueError(f"pred_probs has {probs.shape[1]} columns but {k} class names")
    _check_labels(flat, lens, k)
    name = _resolve_scheme(scheme, class_names, flat, lens)
    codes, types, type_names = parse_class_names(class_names)
    if decode == "viterbi":
        predicted = _core.spans_decode(
            probs, lens, codes, types, name, float(entity_weight), n_jobs
        )
    elif flat.size:
        weights = np.where(codes == _O, 1.0, float(entity_weight))
        predicted = (probs * weights).argmax(axis=1).astype(np.int64)
    else:
        predicted = flat.copy()
    d = _core.spans_compare(flat, predicted, lens, codes, types, name)
    changed = flat != predicted
    if d["malformed"].size:
        changed[d["malformed"]] = True
    if token_scores is None:
        quality = (
            np.take_along_axis(probs, flat[:, None], axis=1)[:, 0].astype(np.float64)
            if flat.size
            else np.zeros(0)
        )
    else:
        quality = _flat_scores(token_scores, lengths, flat.shape[0])
    start, end = d["start"], d["end"]
    score = _aggregate(quality, changed, start, end, aggregate)
    order = np.lexsort((start, score))
    return _records(d, order, score, flat, predicted, changed, lens, class_names, type_names)


def _records(
    d: dict[str, np.ndarray],
    order: np.ndarray,
    score: np.ndarray,
    flat: np.ndarray,
    predicted: np.ndarray,
    changed: np.ndarray,
    lens: np.ndarray,
    class_names: Sequence[str],
    type_names: list[str],
) -> list[dict[str, Any]]:
    # Plain lists: indexing numpy arrays element by element costs more than the records.
    first = np.concatenate([[0], np.cumsum(lens)])
    start, end = d["start"], d["end"]
    marked = np.flatnonzero(changed)
    lo = np.searchsorted(marked, start).tolist()
    hi = np.searchsorted(marked, end).tolist()
    marked_l = marked.tolist()
    tag = [str(c) for c in class_names]
    col = {key: value.tolist() for key, value in d.items()}
    first_l = first.tolist()
    score_l = score.tolist()

    def spans(prefix: str, at: int, count: int, base: int) -> list[list[Any]]:
        starts, ends, types = col[prefix + "start"], col[prefix + "end"], col[prefix + "type"]
        return [
            [starts[i] - base, ends[i] - base, type_names[types[i]]] for i in range(at, at + count)
        ]

    out: list[dict[str, Any]] = []
    for i in order.tolist():
        s = col["sentence"][i]
        base = first_l[s]
        a, e = col["start"][i], col["end"][i]
        given = spans("given_", col["given_first"][i], col["given_count"][i], base)
        suggested = spans("predicted_", col["predicted_first"][i], col["predicted_count"][i], base)
        out.append(
            {
                "kind": KINDS[col["kind"][i]],
                "sentence": s,
                "start": a - base,
                "end": e - base,
                "tokens": [t - base for t in marked_l[lo[i] : hi[i]]],
                "given": given[0][2] if given else None,
                "suggested": suggested[0][2] if suggested else None,
                "given_tags": [tag[c] for c in flat[a:e].tolist()],
                "suggested_tags": [tag[c] for c in predicted[a:e].tolist()],
                "given_span": given[0] if given else None,
                "suggested_span": suggested[0] if suggested else None,
                "given_spans": given,
                "suggested_spans": suggested,
                "malformed": bool(col["has_malformed"][i]),
                "score": score_l[i],
                "words": None,
            }
        )
    return out
