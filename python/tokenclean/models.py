"""Out-of-sample probabilities from annotation files alone: a cross-validated linear-chain CRF.

:func:`cross_val_pred_probs` splits the sentences into folds, trains one CRF
(`python-crfsuite <https://github.com/scrapinghub/python-crfsuite>`_) per fold on the other
folds, and scores each sentence with the model that did not see it. The result is what
:func:`tokenclean.find_label_issues` takes: one ``(T_i, K)`` array per sentence.

Features of a token (all strings; the CRF learns one weight per feature and tag):

* ``bias``; the lower-cased word; its 2- and 3-character suffixes and 3-character prefix;
  its shape (runs of ``X``, ``x``, ``d`` and punctuation collapsed: ``Paris`` -> ``Xx``,
  ``G7-2`` -> ``Xd-d``); flags for all upper case, title case, all digits, any digit, hyphen;
* the neighbours at -1 and +1: lower-cased word, shape, upper case and title case flags;
* the neighbours at -2 and +2: lower-cased word;
* ``BOS`` / ``EOS`` on the first and last token of a sentence.

These are the features of the shared CoNLL-2003 and WNUT-17 probabilities: no part-of-speech
columns, gazetteers or embeddings, so any token file works.

Folds are dealt by sentence: the sentences are shuffled with ``numpy.random.default_rng(seed)``
and dealt round-robin into ``n_folds`` folds. Training is deterministic (L-BFGS), so the same
input gives the same bytes, whatever ``n_jobs`` is. Folds train in parallel in worker
processes: python-crfsuite holds the GIL while it trains, so threads would run one at a time.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = [
    "CRF_PARAMS",
    "CrossValPredProbs",
    "class_order",
    "cross_val_pred_probs",
    "fold_of_sentences",
    "token_features",
]

#: Training parameters of the CRF (crfsuite's L-BFGS with elastic-net regularisation).
#: 30 iterations: on the label-noise benchmark (``benches/tagger_quality.py``, README) finding
#: the flips is as good as with 50 or 100 at about half the time of 100; 20 loses a tenth of
#: the average precision. ``l2sgd`` is as good and faster, but crfsuite shuffles with the C
#: library's ``rand()``, so its answers are not reproducible.
CRF_PARAMS: dict[str, Any] = {
    "algorithm": "lbfgs",
    "c1": 0.1,
    "c2": 0.1,
    "max_iterations": 30,
    "feature.possible_transitions": True,
}

_PREFIX_ORDER = {"B": 0, "I": 1, "L": 2, "E": 2, "U": 3, "S": 3}


class CrossValPredProbs(NamedTuple):
    """What :func:`cross_val_pred_probs` returns; unpacks as ``pred_probs, class_names``.

    Attributes:
        pred_probs: one float32 ``(T_i, K)`` array per sentence, rows summing to 1; they are
            consecutive views into one ``(N, K)`` array (``np.concatenate`` gives it back).
        class_names: the tag of each column, in class-id order.
    """

    pred_probs: list[npt.NDArray[np.float32]]
    class_names: list[str]


def class_order(tags: Sequence[Sequence[str]]) -> list[str]:
    """The distinct tags in a canonical class-id order: ``O`` first, then by entity type.

    Within a type the prefixes come as B, I, E/L, S/U; tags without a ``X-`` prefix sort by
    name. The order depends only on the set of tags, not on where they appear.

    >>> class_order([["B-PER", "O", "I-ORG"], ["B-ORG", "I-PER"]])
    ['O', 'B-ORG', 'I-ORG', 'B-PER', 'I-PER']
    """

    def key(tag: str) -> tuple[int, str, int, str]:
        if tag == "O":
            return (0, "", 0, "")
        prefix, sep, kind = tag.partition("-")
        if sep and prefix in _PREFIX_ORDER:
            return (1, kind, _PREFIX_ORDER[prefix], tag)
        return (1, tag, -1, tag)

    return sorted({tag for sentence in tags for tag in sentence}, key=key)


def fold_of_sentences(n_sentences: int, n_folds: int, seed: int) -> npt.NDArray[np.int64]:
    """The fold of each sentence: shuffled by ``default_rng(seed)``, dealt round-robin.

    >>> fold_of_sentences(6, 3, 0).tolist()
    [1, 2, 1, 0, 0, 2]
    """
    order = np.random.default_rng(seed).permutation(n_sentences)
    folds = np.empty(n_sentences, dtype=np.int64)
    folds[order] = np.arange(n_sentences) % n_folds
    return folds


def _shape(word: str) -> str:
    out: list[str] = []
    for ch in word:
        if ch.isupper():
            c = "X"
        elif ch.islower():
            c = "x"
        elif ch.isdigit():
            c = "d"
        else:
            c = ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


class _WordFeatures:
    """Per word type, the feature strings it contributes at each offset (built once a type)."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[str, tuple[list[str], ...]] = {}

    def __call__(self, word: str) -> tuple[list[str], ...]:
        found = self._cache.get(word)
        if found is not None:
            return found
        lower, shape = word.lower(), _shape(word)
        own = ["bias", "w=" + lower, "s2=" + lower[-2:], "s3=" + lower[-3:], "p3=" + lower[:3]]
        own.append("sh=" + shape)
        near = ["w=" + lower, "sh=" + shape]
        if word.isupper():
            own.append("up")
            near.append("up")
        if word.istitle():
            own.append("ti")
            near.append("ti")
        if word.isdigit():
            own.append("dg")
        if any(ch.isdigit() for ch in word):
            own.append("hd")
        if "-" in word:
            own.append("hy")
        made = (
            own,
            ["-1" + f for f in near],
            ["+1" + f for f in near],
            ["-2w=" + lower],
            ["+2w=" + lower],
        )
        self._cache[word] = made
        return made


def token_features(
    sentence: Sequence[str], *, _words: _WordFeatures | None = None
) -> list[list[str]]:
    """The CRF's feature strings of each token of one sentence (see the module docstring).

    >>> token_features(["Paris", "2024"])[0]
    ['bias', 'w=paris', 's2=is', 's3=ris', 'p3=par', 'sh=Xx', 'ti', 'BOS', '+1w=2024', '+1sh=d']
    """
    words = _words if _words is not None else _WordFeatures()
    parts = [words(w) for w in sentence]
    n = len(parts)
    out = []
    for i in range(n):
        feats = list(parts[i][0])
        if i > 0:
            feats += parts[i - 1][1]
        else:
            feats.append("BOS")
        if i + 1 < n:
            feats += parts[i + 1][2]
        else:
            feats.append("EOS")
        if i > 1:
            feats += parts[i - 2][3]
        if i + 2 < n:
            feats += parts[i + 2][4]
        out.append(feats)
    return out


@dataclass(frozen=True)
class _Job:
    """What a worker needs to train one fold and score its held-out sentences."""

    tokens: Sequence[Sequence[str]]
    tags: Sequence[Sequence[str]]
    folds: npt.NDArray[np.int64]
    class_names: list[str]
    params: dict[str, Any]


_JOB: _Job | None = None  # set in each worker process by _init_worker
_EVENTS: Any = None  # a queue of (fold, iteration) progress events, or None


def _init_worker(job: _Job, events: Any) -> None:
    global _JOB, _EVENTS
    _JOB, _EVENTS = job, events


def _train_fold(fold: int) -> tuple[int, npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Train on every fold but ``fold``; return its sentences and their marginals."""
    import pycrfsuite  # imported in the worker: it is a C extension that holds the GIL

    job = _JOB
    assert job is not None
    events = _EVENTS

    class Trainer(pycrfsuite.Trainer):  # type: ignore[misc]
        # python-crfsuite reports iterations only when verbose (and then prints): read its
        # log here instead, silently.
        def message(self, message: str) -> None:
            event = self.logparser.feed(message)
            if event == "iteration" and events is not None:
                events.put((fold, int(self.logparser.last_iteration.get("num", 0))))

    words = _WordFeatures()
    trainer = Trainer(verbose=False)
    params = dict(job.params)
    trainer.select(params.pop("algorithm"))
    for s in np.flatnonzero(job.folds != fold).tolist():
        trainer.append(token_features(job.tokens[s], _words=words), list(job.tags[s]))
    trainer.set_params(params)
    held_out = np.flatnonzero(job.folds == fold)
    k = len(job.class_names)
    column = {name: i for i, name in enumerate(job.class_names)}
    lengths = [len(job.tokens[s]) for s in held_out.tolist()]
    probs = np.zeros((sum(lengths), k), dtype=np.float64)
    with tempfile.TemporaryDirectory(prefix="tokenclean-crf-") as tmp:
        path = os.path.join(tmp, "model.crfsuite")
        trainer.train(path)
        del trainer
        tagger = pycrfsuite.Tagger()
        tagger.open(path)
        try:
            # Tags missing from this fold's training part keep a zero column.
            known = [(column[name], name) for name in tagger.labels()]
            row = 0
            for s, n in zip(held_out.tolist(), lengths, strict=False):
                if n == 0:
                    continue
                tagger.set(token_features(job.tokens[s], _words=words))
                block = probs[row : row + n]
                for j, name in known:
                    block[:, j] = [tagger.marginal(name, t) for t in range(n)]
                row += n
        finally:
            tagger.close()
    totals = probs.sum(axis=1, keepdims=True)
    np.divide(probs, totals, out=probs, where=totals > 0)
    return fold, held_out, probs.astype(np.float32)


def _check_corpus(tokens: Sequence[Sequence[str]], tags: Sequence[Sequence[str]]) -> None:
    if len(tokens) != len(tags):
        raise ValueError(f"{len(tokens)} sentences of tokens but {len(tags)} of tags")
    for s, (words, labels) in enumerate(zip(tokens, tags, strict=False)):
        if len(words) != len(labels):
            raise ValueError(f"sentence {s}: {len(words)} tokens but {len(labels)} tags")
        for t, (word, tag) in enumerate(zip(words, labels, strict=False)):
            if not isinstance(word, str) or not isinstance(tag, str):
                raise TypeError(
                    f"sentence {s}, token {t}: tokens and tags must be strings, got "
                    f"{type(word).__name__} and {type(tag).__name__}"
                )


def cross_val_pred_probs(
    tokens: Sequence[Sequence[str]],
    tags: Sequence[Sequence[str]],
    *,
    n_folds: int = 5,
    seed: int = 0,
    n_jobs: int | None = None,
    class_names: Sequence[str] | None = None,
    crf_params: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> CrossValPredProbs:
    """Out-of-sample predicted probabilities of every token, from a cross-validated CRF.

    Args:
        tokens: the words of each sentence.
        tags: the given tag of each token (strings such as ``"B-PER"``).
        n_folds: number of folds (at least 2, at most the number of non-empty sentences).
        seed: seed of the shuffle that deals sentences into folds.
        n_jobs: worker processes training folds at once (default: the number of cores, at
            most ``n_folds``). The answer does not depend on it.
        class_names: the column order; by default :func:`class_order` of the tags. Every tag
            must be one of them.
        crf_params: crfsuite training parameters that replace those of :data:`CRF_PARAMS`
            (``"algorithm"`` selects the trainer, e.g. ``"l2sgd"``).
        progress: draw a progress bar (tqdm) on standard error, one step per iteration.

    Returns:
        ``(pred_probs, class_names)``: one float32 ``(T_i, K)`` array per sentence, each
        sentence scored by the model trained without its fold, and the tag of each column.
        A tag missing from a fold's training part gets probability 0 in that fold.

    >>> tokens = [["Anna", "lives", "in", "Oslo"], ["Oslo", "is", "cold"]] * 5
    >>> tags = [["B-PER", "O", "O", "B-LOC"], ["B-LOC", "O", "O"]] * 5
    >>> pred_probs, class_names = cross_val_pred_probs(tokens, tags, n_folds=2, n_jobs=1)
    >>> class_names
    ['O', 'B-LOC', 'B-PER']
    >>> pred_probs[1].shape
    (3, 3)
    >>> [class_names[i] for i in pred_probs[1].argmax(axis=1)]
    ['B-LOC', 'O', 'O']
    """
    _check_corpus(tokens, tags)
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or n_folds < 2:
        raise ValueError(f"n_folds must be an integer >= 2, got {n_folds!r}")
    non_empty = sum(1 for sentence in tokens if len(sentence))
    if non_empty < n_folds:
        raise ValueError(
            f"{non_empty} non-empty sentence{'s' * (non_empty != 1)} cannot be split into "
            f"{n_folds} folds; use fewer folds"
        )
    names = list(class_names) if class_names is not None else class_order(tags)
    if len(set(names)) != len(names):
        raise ValueError("class_names lists a tag twice")
    known = set(names)
    for s, sentence in enumerate(tags):
        for t, tag in enumerate(sentence):
            if tag not in known:
                raise ValueError(f"sentence {s}, token {t}: tag {tag!r} is not in class_names")
    if len({tag for sentence in tags for tag in sentence}) < 2:
        raise ValueError(
            "the corpus has a single tag: a tagger cannot learn anything that disagrees with it"
        )
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int)):
        raise TypeError(f"n_jobs must be an integer or None, got {n_jobs!r}")
    if n_jobs is not None and n_jobs < 1:
        raise ValueError(f"n_jobs must be >= 1, got {n_jobs}")
    workers = min(n_jobs or os.cpu_count() or 1, n_folds)

    folds = fold_of_sentences(len(tokens), n_folds, seed)
    params = dict(CRF_PARAMS)
    if crf_params and crf_params.get("algorithm", params["algorithm"]) != params["algorithm"]:
        # Another trainer takes other parameters: keep only the ones every trainer has.
        params = {"feature.possible_transitions": True, "max_iterations": 100}
    params.update(crf_params or {})
    job = _Job(tokens, tags, folds, names, params)
    lengths = np.fromiter((len(s) for s in tokens), dtype=np.int64, count=len(tokens))
    starts = np.concatenate(([0], np.cumsum(lengths)))
    flat = np.empty((int(starts[-1]), len(names)), dtype=np.float32)

    iterations = int(params["max_iterations"])
    with _Bar(progress, n_folds, iterations) as bar:
        for _fold, held_out, probs in _run_folds(job, n_folds, workers, bar):
            row = 0
            for s in held_out.tolist():
                n = int(lengths[s])
                flat[starts[s] : starts[s] + n] = probs[row : row + n]
                row += n
    return CrossValPredProbs(np.split(flat, starts[1:-1]), names)


def _run_folds(
    job: _Job, n_folds: int, workers: int, bar: _Bar
) -> Iterator[tuple[int, npt.NDArray[np.int64], npt.NDArray[np.float32]]]:
    if workers == 1:
        _init_worker(job, bar.events_inline())
        try:
            for fold in range(n_folds):
                yield _train_fold(fold)
                bar.fold_done(fold)
        finally:
            _init_worker(None, None)  # type: ignore[arg-type]
        return
    # fork shares the corpus with the workers without pickling it; spawn (where fork is
    # unsafe or missing) pickles it once per worker.
    method = "fork" if sys.platform.startswith("linux") else None
    context = multiprocessing.get_context(method)
    events = context.Queue() if bar.active else None
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(job, events)
    ) as pool:
        pending: dict[Future[Any], int] = {pool.submit(_train_fold, f): f for f in range(n_folds)}
        results: dict[int, tuple[int, npt.NDArray[np.int64], npt.NDArray[np.float32]]] = {}
        while pending:
            done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            bar.drain(events)
            for future in done:
                fold = pending.pop(future)
                results[fold] = future.result()
                bar.fold_done(fold)
        # Filled in fold order, so the answer never depends on which worker finished first.
        for fold in range(n_folds):
            yield results[fold]


class _Bar:
    """A tqdm bar over folds x iterations, or nothing when progress is off."""

    def __init__(self, active: bool, folds: int, iterations: int) -> None:
        self.active = active
        self.total = folds * iterations
        self.iterations = iterations
        self._bar: Any = None
        self._seen: dict[int, int] = {}

    def __enter__(self) -> _Bar:
        if self.active:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, desc="training CRF folds", unit="it", leave=False)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

    def _advance(self, fold: int, iteration: int) -> None:
        before = self._seen.get(fold, 0)
        if iteration > before and self._bar is not None:
            self._bar.update(iteration - before)
            self._seen[fold] = iteration

    def events_inline(self) -> _Inline | None:
        return _Inline(self._advance) if self.active else None

    def drain(self, events: Any) -> None:
        if events is None:
            return
        import queue

        while True:
            try:
                fold, iteration = events.get_nowait()
            except queue.Empty:
                return
            self._advance(fold, iteration)

    def fold_done(self, fold: int) -> None:
        # L-BFGS may stop before max_iterations: the bar still ends full.
        if self._bar is not None:
            self._advance(fold, self.iterations)
            self._bar.set_postfix_str(f"fold {fold + 1} done")


class _Inline:
    """A queue-like sink for progress events in the calling process."""

    def __init__(self, advance: Callable[[int, int], None]) -> None:
        self._advance = advance

    def put(self, item: tuple[int, int]) -> None:
        self._advance(*item)
