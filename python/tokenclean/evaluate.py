"""Score a ranked list of suspected label errors against corrected annotations.

The truth at **token level** is every token whose given tag differs from its corrected tag. At
**entity level** it is every region where the entities differ: the entities (start, end,
type) of the given tags that the corrected tags lack, and those the corrected tags add,
merged when they overlap (a type swap, a moved boundary or a missed entity is one error).

A ranked list is judged by

* ``P@k``: of the first ``k`` flagged items, the share that are true errors (divided by ``k``
  even when the list is shorter); by default ``k`` = the number of true errors, plus
  :data:`DEFAULT_KS`;
* recall: the share of true errors anywhere in the list;
* average precision: the mean, over all true errors, of the precision at the rank where each
  is found (0 for those never found); the area under the precision-recall curve of the list
  read as a ranking.

At entity level a flagged span (or token) is a hit when it overlaps a true error region not
matched by an earlier item; an item overlapping only regions already matched is dropped from
the list (the reviewer is shown that error already), so flagging "cocker" and "spaniels"
separately is not counted twice.

The command ``tokenclean evaluate ISSUES --gold CORRECTED [DATA ...]`` applies this to the
JSON Lines (or CSV) output of ``tokenclean find-issues``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

from tokenclean.io import Corpus, InputError, Tag, read_corpus

__all__ = [
    "DEFAULT_KS",
    "ClassPair",
    "Evaluation",
    "add_parser",
    "class_pairs",
    "entity_errors",
    "evaluate_spans",
    "evaluate_tokens",
    "plot_precision_recall",
]

#: The k of P@k reported besides the number of true errors.
DEFAULT_KS = (50, 100, 200, 500)

IntArray = npt.NDArray[np.int64]
Span = tuple[int, int, int]  # (sentence, start, end), end exclusive


@dataclass(frozen=True)
class Evaluation:
    """How well a ranked list finds the true errors.

    Attributes:
        level: ``"token"`` or ``"entity"``.
        errors: number of true errors.
        flagged: number of items in the list (after dropping repeats).
        hits: items of the list that are true errors.
        precision_at: ``{k: P@k}``, including ``k = errors``.
        recall: ``hits / errors``.
        average_precision: see the module documentation.
        curve: ``(precision, recall)`` after each item of the list, for plots.
    """

    level: str
    errors: int
    flagged: int
    hits: int
    precision_at: dict[int, float]
    recall: float
    average_precision: float
    curve: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] = field(repr=False)

    @property
    def precision(self) -> float:
        """Precision of the whole list."""
        return self.hits / self.flagged if self.flagged else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain JSON-ready values (no curve)."""
        return {
            "level": self.level,
            "errors": self.errors,
            "flagged": self.flagged,
            "hits": self.hits,
            "precision": self.precision,
            "recall": self.recall,
            "average_precision": self.average_precision,
            "precision_at": {str(k): v for k, v in self.precision_at.items()},
        }


def _from_hits(
    level: str, is_hit: npt.NDArray[np.bool_], errors: int, ks: Iterable[int]
) -> Evaluation:
    cum = np.cumsum(is_hit, dtype=np.int64)
    hits = int(cum[-1]) if len(cum) else 0
    ranks = np.arange(1, len(is_hit) + 1)
    wanted = sorted({errors, *ks} - {0})
    precision_at = {k: (int(cum[min(k, len(cum)) - 1]) if len(cum) else 0) / k for k in wanted}
    ap = float((cum[is_hit] / ranks[is_hit]).sum() / errors) if errors else 0.0
    precision = cum / ranks if len(cum) else np.zeros(0)
    recall = cum / errors if errors else np.zeros(len(cum))
    return Evaluation(
        level=level,
        errors=errors,
        flagged=len(is_hit),
        hits=hits,
        precision_at=precision_at,
        recall=hits / errors if errors else 0.0,
        average_precision=ap,
        curve=(precision.astype(np.float64), recall.astype(np.float64)),
    )


def evaluate_tokens(
    ranked: npt.ArrayLike,
    truth: npt.ArrayLike,
    lengths: npt.ArrayLike | None = None,
    *,
    ks: Iterable[int] = DEFAULT_KS,
) -> Evaluation:
    """Token-level P@k, recall and average precision of a ranked list.

    Args:
        ranked: flagged tokens, most suspect first: flat indices ``(M,)``, or ``(M, 2)``
            (sentence, token) pairs together with ``lengths``. A token listed again is dropped.
        truth: ``(N,)`` booleans, True where the given tag is wrong (``given != corrected``).
        lengths: tokens per sentence, needed for (sentence, token) pairs.
        ks: the k of P@k besides the number of true errors.

    >>> truth = np.array([False, True, False, True, False, False])
    >>> ev = evaluate_tokens([3, 0, 4, 1], truth, ks=[1, 3])
    >>> ev.precision_at, ev.recall, ev.average_precision
    ({1: 1.0, 2: 0.5, 3: 0.3333333333333333}, 1.0, 0.75)
    """
    mask = np.asarray(truth, dtype=bool)
    if mask.ndim != 1:
        raise ValueError(f"truth has shape {mask.shape}; it must be 1-D (one entry per token)")
    flat = _flat_positions(ranked, lengths, len(mask))
    _, first = np.unique(flat, return_index=True)
    flat = flat[np.sort(first)]
    return _from_hits("token", mask[flat], int(mask.sum()), ks)


def _flat_positions(ranked: Any, lengths: Any, n: int) -> IntArray:
    arr = np.asarray(ranked, dtype=np.int64)
    if arr.ndim == 2 and arr.shape[1] == 2:
        if lengths is None:
            raise ValueError("(sentence, token) pairs need the sentence lengths")
        lens = np.asarray(lengths, dtype=np.int64)
        starts = np.concatenate(([0], np.cumsum(lens)))
        s, t = arr[:, 0], arr[:, 1]
        bad = (s < 0) | (s >= len(lens)) | (t < 0)
        bad[~bad] = t[~bad] >= lens[s[~bad]]
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"ranked[{i}] = ({s[i]}, {t[i]}) is not a token of the data")
        flat: IntArray = starts[s] + t
        return flat
    if arr.ndim == 2 and arr.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.ndim != 1:
        raise ValueError(f"ranked has shape {arr.shape}; give (M,) flat indices or (M, 2) pairs")
    bad = (arr < 0) | (arr >= n)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"ranked[{i}] = {arr[i]} is not a token index (N = {n})")
    return arr


def _entity_spans(tags: Sequence[Any]) -> list[tuple[int, int, str]]:
    """Entities (start, end, type) of one sentence's tags, read leniently so that IOB1, IOB2
    and BIOES/BILOU all work: ``B-``/``S-``/``U-`` start an entity, ``I-``/``E-``/``L-``
    continue one of the same type or else start one, ``E-``/``L-``/``S-``/``U-`` end it; tags
    without a prefix are entities of their own name (IO); ``O`` is outside.

    >>> _entity_spans(["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "S-ORG", "I-MISC", "E-MISC"])
    [(0, 2, 'PER'), (3, 4, 'LOC'), (4, 5, 'LOC'), (5, 6, 'ORG'), (6, 8, 'MISC')]
    """
    spans: list[tuple[int, int, str]] = []
    start, kind = -1, ""
    for t, tag in enumerate(tags):
        name = str(tag)
        if name == "O" or not name:
            if start >= 0:
                spans.append((start, t, kind))
            start = -1
            continue
        prefix, sep, rest = name.partition("-")
        if not sep or len(prefix) != 1 or prefix not in "BIESLU":
            prefix, rest = "I", name
        if start >= 0 and (prefix in "BSU" or rest != kind):
            spans.append((start, t, kind))
            start = -1
        if start < 0:
            start, kind = t, rest
        if prefix in "ESLU":
            spans.append((start, t + 1, kind))
            start = -1
    if start >= 0:
        spans.append((start, len(tags), kind))
    return spans


def entity_errors(given: Sequence[Sequence[Any]], corrected: Sequence[Sequence[Any]]) -> list[Span]:
    """The regions where the entities of ``given`` and ``corrected`` differ, as (sentence,
    start, end): entities present in one and not the other, merged when they overlap.

    >>> entity_errors([["B-LOC", "O", "O"]], [["B-ORG", "O", "B-MISC"]])
    [(0, 0, 1), (0, 2, 3)]
    """
    if len(given) != len(corrected):
        raise ValueError(f"{len(given)} given sentences but {len(corrected)} corrected ones")
    out: list[Span] = []
    for s, (g, c) in enumerate(zip(given, corrected, strict=False)):
        a, b = set(_entity_spans(g)), set(_entity_spans(c))
        changed = sorted((start, end) for start, end, _ in a ^ b)
        for start, end in changed:
            if out and out[-1][0] == s and start < out[-1][2]:
                out[-1] = (s, out[-1][1], max(out[-1][2], end))
            else:
                out.append((s, start, end))
    return out


def evaluate_spans(
    flagged: Iterable[Span], errors: Sequence[Span], *, ks: Iterable[int] = DEFAULT_KS
) -> Evaluation:
    """Entity-level P@k, recall and average precision of ranked flagged spans.

    Args:
        flagged: (sentence, start, end) spans, most suspect first; a flagged token ``t`` is
            ``(sentence, t, t + 1)``.
        errors: the true error regions (from :func:`entity_errors`).
        ks: the k of P@k besides the number of true errors.

    A flagged span hits when it overlaps a true region not matched before; one that overlaps
    only matched regions is dropped.

    >>> errors = [(0, 2, 4), (3, 0, 1)]
    >>> ev = evaluate_spans([(0, 3, 4), (0, 2, 3), (1, 0, 1), (3, 0, 2)], errors, ks=[])
    >>> ev.flagged, ev.hits, ev.average_precision
    (3, 2, 0.8333333333333333)
    """
    by_sentence: dict[int, list[int]] = {}
    for i, (s, _, _) in enumerate(errors):
        by_sentence.setdefault(s, []).append(i)
    matched = [False] * len(errors)
    hits: list[bool] = []
    for s, start, end in flagged:
        overlapping = [
            i for i in by_sentence.get(s, []) if errors[i][1] < end and start < errors[i][2]
        ]
        free = [i for i in overlapping if not matched[i]]
        if free:
            matched[free[0]] = True
            hits.append(True)
        elif not overlapping:
            hits.append(False)
    return _from_hits("entity", np.array(hits, dtype=bool), len(errors), ks)


@dataclass(frozen=True)
class ClassPair:
    """True errors of one (given, corrected) tag pair, and how many the list found."""

    given: Tag
    corrected: Tag
    errors: int
    found: int
    found_top: int  # found among the first k items, k = the number of true errors


def class_pairs(
    ranked_flat: npt.ArrayLike, given: npt.ArrayLike, corrected: npt.ArrayLike
) -> list[ClassPair]:
    """Per (given, corrected) tag pair of the true errors: how many there are and how many
    the list finds (anywhere, and in its first k = number of errors items), most frequent
    pair first.

    >>> [tuple(p.__dict__.values()) for p in class_pairs([2, 1], ["O", "O", "B"], ["B", "O", "I"])]
    [('B', 'I', 1, 1, 1), ('O', 'B', 1, 0, 0)]
    """
    g, c = np.asarray(given), np.asarray(corrected)
    wrong = np.flatnonzero(g != c)
    flat = np.asarray(ranked_flat, dtype=np.int64).reshape(-1)
    _, first = np.unique(flat, return_index=True)
    flat = flat[np.sort(first)]
    found = set(flat.tolist())
    top = set(flat[: len(wrong)].tolist())
    counts: Counter[tuple[Any, Any]] = Counter()
    hit: Counter[tuple[Any, Any]] = Counter()
    hit_top: Counter[tuple[Any, Any]] = Counter()
    for i in wrong.tolist():
        pair = (g[i].item(), c[i].item())
        counts[pair] += 1
        hit[pair] += i in found
        hit_top[pair] += i in top
    return [
        ClassPair(a, b, n, hit[a, b], hit_top[a, b])
        for (a, b), n in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    ]


def plot_precision_recall(evaluations: Sequence[Evaluation], path: str, *, title: str = "") -> None:
    """Write a precision-recall plot of one or more evaluations to ``path`` (PNG).

    Needs matplotlib (``pip install tokenclean[plot]``).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "the precision-recall plot needs matplotlib: pip install 'tokenclean[plot]'"
        ) from None
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    for ev in evaluations:
        precision, recall = ev.curve
        ax.plot(recall, precision, label=f"{ev.level} (AP {ev.average_precision:.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    if title:
        ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)


# --- tokenclean evaluate --------------------------------------------------------------------

_EPILOG = """\
examples:
  tokenclean find-issues data.conll --pred-probs p.npy --format json -o issues.jsonl
  tokenclean evaluate issues.jsonl --gold corrected.conll data.conll --plot pr.png

ISSUES is the JSON Lines (or CSV) output of 'tokenclean find-issues', most suspect first.
Token records flag (sentence, token); span records (with start and end) flag tokens start to
end-1 of the sentence. CORRECTED holds the right tags for the same tokens as DATA, sentence by
sentence. Several DATA files are read as one, in order, and so are several --gold files; a
record with a 'file' key counts its sentences within that file. Without DATA, the files named
by the records' 'file' keys are read. Entity level needs tag names (not integer class ids).
"""


def add_parser(subparsers: Any) -> None:
    """Add ``tokenclean evaluate`` to the command line."""
    p = subparsers.add_parser(
        "evaluate",
        help="score a find-issues report against corrected annotations",
        description=(
            "Score the issues ISSUES found in DATA against the corrected annotations\n"
            "CORRECTED: P@k, recall and average precision at token and entity level."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("issues", metavar="ISSUES", help="find-issues output (.jsonl or .csv)")
    p.add_argument("data", metavar="DATA", nargs="*", help="the annotated files (CoNLL/JSONL)")
    p.add_argument(
        "--gold",
        action="append",
        required=True,
        metavar="CORRECTED",
        help="corrected annotations aligned with DATA (repeat for several files)",
    )
    p.add_argument("--format-in", choices=("conll", "jsonl"), help="format of DATA and CORRECTED")
    p.add_argument("--tag-column", type=int, default=-1, metavar="N", help="CoNLL tag column")
    p.add_argument("--tags-field", default="tags", metavar="NAME", help="JSON field of the tags")
    p.add_argument(
        "--k",
        default=",".join(str(k) for k in DEFAULT_KS),
        metavar="K,K,...",
        help="the k of P@k besides the number of true errors (default: %(default)s)",
    )
    p.add_argument("--plot", metavar="PNG", help="write a precision-recall plot (matplotlib)")
    p.add_argument(
        "--format", choices=("table", "json"), default="table", help="output format (table)"
    )
    p.set_defaults(run=_run)
    # argparse matches positionals before an option only ("ISSUES --gold G DATA" would leave
    # DATA unrecognised): collect the stray positionals into DATA.
    parse_known = p.parse_known_args

    def parse_known_args(
        args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        ns, extras = parse_known(args, namespace)
        stray = [x for x in extras if not x.startswith("-")]
        ns.data = [*(getattr(ns, "data", None) or []), *stray]
        return ns, [x for x in extras if x.startswith("-")]

    setattr(p, "parse_known_args", parse_known_args)  # noqa: B010


def _run(args: argparse.Namespace) -> int:
    ks = _parse_ks(args.k)
    records = _read_issues(args.issues)
    data_paths = list(args.data) or _files_of(records, args.issues)
    read = {"format": args.format_in, "tag_column": args.tag_column, "tags_field": args.tags_field}
    data = [_read(path, read) for path in data_paths]
    gold = [_read(path, read) for path in args.gold]
    given_tags, lengths = _tags(data)
    gold_tags, gold_lengths = _tags(gold)
    _check_aligned(data, gold, lengths, gold_lengths)
    if any(isinstance(t, int) for t in given_tags[:1]) != any(
        isinstance(t, int) for t in gold_tags[:1]
    ):
        raise InputError(
            f"{args.gold[0]}: its tags and those of {data_paths[0]} are not of the same kind "
            "(tag names and integer class ids cannot be compared)"
        )
    flagged = _flagged(records, args.issues, data, lengths)
    starts = np.concatenate(([0], np.cumsum(lengths)))
    g = np.array([str(t) for t in given_tags])
    c = np.array([str(t) for t in gold_tags])
    ranked = np.array([starts[s] + t for s, a, b in flagged for t in range(a, b)], dtype=np.int64)
    token = evaluate_tokens(ranked, g != c, ks=ks)
    levels = [token]
    if not any(isinstance(t, int) for t in given_tags[:1]):  # entities need tag names
        cuts = starts[1:-1]
        given_sents = [x.tolist() for x in np.split(g, cuts)] if len(g) else []
        gold_sents = [x.tolist() for x in np.split(c, cuts)] if len(c) else []
        levels.append(evaluate_spans(flagged, entity_errors(given_sents, gold_sents), ks=ks))
    pairs = class_pairs(ranked, g, c)
    if args.plot:
        plot_precision_recall(levels, args.plot, title=os.path.basename(args.issues))
    out = sys.stdout
    if args.format == "json":
        report: dict[str, Any] = {ev.level: ev.as_dict() for ev in levels}
        report["class_pairs"] = [p.__dict__ for p in pairs]
        out.write(json.dumps(report) + "\n")
    else:
        _write_table(out, args.issues, levels, pairs)
    return 0


def _parse_ks(text: str) -> list[int]:
    try:
        ks = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"--k {text!r}: expected positive integers separated by commas") from None
    if any(k <= 0 for k in ks):
        raise InputError(f"--k {text!r}: every k must be at least 1")
    return ks


def _read(path: str, options: dict[str, Any]) -> Corpus:
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    return read_corpus(path, **options)


def _read_issues(path: str) -> list[tuple[int, dict[str, Any]]]:
    """(line, record) of every issue, in file order."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    first = next((line for line in text.splitlines() if line.strip()), "")
    records: list[tuple[int, dict[str, Any]]] = []
    if first.lstrip().startswith("{"):
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise InputError(f"{path}:{lineno}: not JSON: {exc}") from None
            if not isinstance(record, dict):
                raise InputError(f"{path}:{lineno}: expected a JSON object per line")
            records.append((lineno, record))
    else:
        reader = csv.DictReader(io.StringIO(text))
        for row in reader:
            records.append((reader.line_num, dict(row)))
    return records


def _files_of(records: list[tuple[int, dict[str, Any]]], path: str) -> list[str]:
    files: list[str] = []
    for _, record in records:
        name = record.get("file")
        if isinstance(name, str) and name not in files:
            files.append(name)
    if not files:
        raise InputError(
            f"{path}: its records do not name their file; give DATA, the annotated file(s) the "
            "issues were found in"
        )
    return files


def _tags(corpora: list[Corpus]) -> tuple[list[Tag], IntArray]:
    tags: list[Tag] = []
    for corpus in corpora:
        names = corpus.tags
        tags.extend(names[i] for i in corpus.tag_ids.tolist())
    lengths = np.concatenate([c.lengths for c in corpora]).astype(np.int64)
    return tags, lengths


def _locate(corpora: list[Corpus], s: int) -> tuple[Corpus, int]:
    for corpus in corpora:
        if s < corpus.num_sentences:
            return corpus, s
        s -= corpus.num_sentences
    raise IndexError(s)


def _check_aligned(
    data: list[Corpus], gold: list[Corpus], lengths: IntArray, gold_lengths: IntArray
) -> None:
    n = min(len(lengths), len(gold_lengths))
    differ = np.flatnonzero(lengths[:n] != gold_lengths[:n])
    if len(differ):
        s = int(differ[0])
        d, ds = _locate(data, s)
        g, gs = _locate(gold, s)
        t = int(min(lengths[s], gold_lengths[s]))
        raise InputError(
            f"{g.path}:{g.sentence_lines[gs]}: the gold file is not aligned with DATA: sentence "
            f"{s} has {gold_lengths[s]} tokens there but {lengths[s]} in "
            f"{d.path}:{d.sentence_lines[ds]} (first misaligned token: {t})"
        )
    if len(lengths) != len(gold_lengths):
        more = gold if len(gold_lengths) > len(lengths) else data
        c, cs = _locate(more, n)
        raise InputError(
            f"the gold file is not aligned with DATA: {len(gold_lengths)} gold sentences but "
            f"{len(lengths)} in DATA; the first unmatched is sentence {n} "
            f"({c.path}:{c.sentence_lines[cs]})"
        )


def _flagged(
    records: list[tuple[int, dict[str, Any]]],
    path: str,
    data: list[Corpus],
    lengths: IntArray,
) -> list[Span]:
    """Flagged (sentence, start, end) spans in report order, sentences counted over DATA."""
    first_sentence: dict[str, int] = {}
    total = 0
    for corpus in data:
        first_sentence.setdefault(corpus.path, total)
        total += corpus.num_sentences
    out: list[Span] = []
    for lineno, record in records:
        where = f"{path}:{lineno}"
        s = _int_field(record, "sentence", where)
        if "start" in record and "end" in record and record["start"] not in ("", None):
            a = _int_field(record, "start", where)
            b = _int_field(record, "end", where)
        else:
            a = _int_field(record, "token", where)
            b = a + 1
        name = record.get("file")
        if isinstance(name, str) and name:
            if name not in first_sentence:
                raise InputError(f"{where}: file {name!r} is not one of DATA")
            s += first_sentence[name]
        if not 0 <= s < len(lengths):
            raise InputError(f"{where}: sentence {s} is not in DATA ({len(lengths)} sentences)")
        if not 0 <= a < b <= lengths[s]:
            raise InputError(
                f"{where}: tokens {a} to {b - 1} are not in sentence {s}, which has "
                f"{lengths[s]} tokens"
            )
        out.append((s, a, b))
    return out


def _int_field(record: dict[str, Any], key: str, where: str) -> int:
    if key not in record:
        raise InputError(f"{where}: the record has no {key!r}")
    value = record[key]
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{where}: {key} is {value!r}; expected an integer")
    return value


def _write_table(out: TextIO, title: str, levels: list[Evaluation], pairs: list[ClassPair]) -> None:
    token = levels[0]
    lines = [f"{title}: {token.flagged} tokens flagged, {token.errors} true token errors"]
    ks = sorted(set().union(*(ev.precision_at for ev in levels)))
    head = f"{'level':<8} {'errors':>6} {'flagged':>7} {'hits':>5} {'recall':>6} {'AP':>6}"
    head += "".join(f" {'P@' + str(k):>6}" for k in ks)
    lines.append(head)
    for ev in levels:
        row = (
            f"{ev.level:<8} {ev.errors:>6} {ev.flagged:>7} {ev.hits:>5} {ev.recall:>6.3f} "
            f"{ev.average_precision:>6.3f}"
        )
        row += "".join(
            f" {ev.precision_at[k]:>6.3f}" if k in ev.precision_at else f" {'':>6}" for k in ks
        )
        lines.append(row)
    if pairs:
        lines += ["", f"{'given':<12} {'corrected':<12} {'errors':>6} {'found':>6} {'in top':>6}"]
        for p in pairs:
            lines.append(
                f"{p.given!s:<12} {p.corrected!s:<12} {p.errors:>6} {p.found:>6} {p.found_top:>6}"
            )
    out.write("\n".join(lines) + "\n")
    out.flush()
