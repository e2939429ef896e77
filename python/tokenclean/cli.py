"""The ``tokenclean`` command line (also ``python -m tokenclean``).

Commands:
    find-issues  find label issues in a CoNLL or JSON Lines file, given a model's predicted
                 probabilities (``.npy``/``.npz``), and report them as a table, JSON Lines
                 or CSV.
    demo         the same report for the bundled WNUT-17 sample.
    sample       write the bundled WNUT-17 sample as a CoNLL or JSON Lines file.

Exit status: 0 on success (whether or not issues are found), 2 on usage or input errors
(one line on stderr naming the file and, where there is one, the line), 1 when the reader
of the output goes away (``tokenclean ... | head``).

A report written with ``--output`` appears whole or not at all: it is written to a temporary
file beside the destination and renamed when the run succeeds.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import importlib.metadata
import itertools
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

import tokenclean
from tokenclean import _core, _files
from tokenclean._options import MAX_THREADS, float_probs
from tokenclean.datasets import WnutSample, load_wnut17_sample
from tokenclean.io import (
    Corpora,
    InputError,
    PredProbs,
    Progress,
    Tag,
    data_format,
    load_pred_probs,
    read_classes_file,
    read_corpus,
    stderr_is_terminal,
)

__all__ = ["main"]

RANKING_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
FILTER_METHODS = (
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_self_confidence",
    "low_normalized_margin",
)
OUTPUT_FORMATS = ("table", "json", "csv")
#: Columns of ``--format json`` objects and ``--format csv`` rows.
FIELDS = ("sentence", "token", "word", "given", "suggested", "score", "file", "line")
_DEFAULT_TOP = 10  # issues shown in a table unless --top says otherwise
_PROG = "tokenclean"
_HIGHLIGHT = "\x1b[1;31m"  # bold red
_BOLD = "\x1b[1m"
_RESET = "\x1b[0m"

_FIND_ISSUES_EPILOG = """\
examples:
  tokenclean find-issues train.conll --pred-probs probs.npy --classes-file labels.txt
  tokenclean find-issues train.jsonl --pred-probs probs.npz --tags-field ner_tags \\
      --format json --output issues.jsonl

DATA is a CoNLL-style column file (one token per line, token in the first column, tag in
the last, blank lines between sentences, -DOCSTART- lines skipped) or, for .jsonl/.json
files, JSON Lines with one {"tokens": [...], "tags": [...]} object per sentence (tags are
tag names or integer class ids).

PROBS holds out-of-sample predicted probabilities, one row per token of DATA in file order:
a .npy array of shape (tokens, classes) (memory-mapped), or an .npz with one array per
sentence (np.savez(path, *arrays)) or with 'pred_probs' (tokens, classes) and optionally
'lengths' (tokens per sentence).

The columns of PROBS are the classes in the order of --classes or --classes-file (needed
unless PROBS is an .npz with a 'class_names' array, or DATA has integer class ids). JSON and
CSV output have the columns sentence, token (0-based), word, given, suggested (the most
probable tag) and score (the --rank-by score; lower is more suspect).

DATA and PROBS must be regular files (not pipes): DATA is read again at the end for the
words of the report, and a DATA file that changes meanwhile is reported, not trusted. CoNLL
lines longer than 1 MiB are refused. --threads is at most 256.
"""


@dataclass(frozen=True)
class _Row:
    """One label issue as the reports show it."""

    sentence: int
    token: int
    words: Sequence[str]
    given: Tag
    suggested: Tag
    p_given: float
    p_suggested: float
    score: float
    location: tuple[str, int] | None = None
    span: dict[str, Any] | None = None  # an entity-level issue (--level span)

    @property
    def word(self) -> str:
        return self.words[self.token]


@dataclass(frozen=True)
class _Summary:
    """What the header line of a table says."""

    title: str
    sentences: int
    tokens: int
    classes: int
    issues: int
    rank_by: str


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    0: success; 2: bad usage, or the input was rejected (one line on stderr).
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already reported by argparse
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.version:
        print(f"{_PROG} {_version()}")
        return 0
    if args.command is None:
        parser.print_usage(sys.stderr)
        _error(f"a command is required (try '{_PROG} find-issues --help' or '{_PROG} demo')")
        return 2
    try:
        try:
            if args.command == "demo":
                return _demo(top=args.top, rank_by=args.rank_by)
            run = getattr(args, "run", None)
            if run is not None:
                status: int = run(args)
                return status
            return _find_issues(args)
        except InputError as exc:
            _error(str(exc))
            return 2
    except BrokenPipeError:
        # The reader went away (e.g. `tokenclean demo | head`): stop quietly, and keep Python
        # from reporting the same error again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _error(message: str) -> None:
    print(f"{_PROG}: error: {' '.join(message.split())}", file=sys.stderr)


def _version() -> str:
    try:
        return importlib.metadata.version("tokenclean")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be >= 1, got 0")
    return value


def _threads(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_THREADS:
        raise argparse.ArgumentTypeError(
            f"at most {MAX_THREADS} (more threads only add start-up cost), got {text}"
        )
    return value


def _column(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError(
            "columns are numbered from 1 (negative numbers count from the last column, -1)"
        )
    return value


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Find mislabeled tokens in token-classification datasets.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    find = commands.add_parser(
        "find-issues",
        help="find label issues in a CoNLL or JSON Lines file",
        description=(
            "Find the tokens of DATA whose given tag is most likely wrong, using a model's\n"
            "out-of-sample predicted probabilities PROBS, and report them, most suspect first."
        ),
        epilog=_FIND_ISSUES_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    find.add_argument(
        "data",
        metavar="DATA",
        nargs="*",
        help="CoNLL column files, or .jsonl/.json; several files are one corpus",
    )
    find.add_argument(
        "--pred-probs",
        metavar="PROBS",
        action="append",
        help="predicted probabilities: .npy (tokens, classes) or .npz; without it, a built-in "
        "CRF computes them by cross-validation over DATA. Given several times, the models are "
        "an ensemble: their probabilities are averaged",
    )
    model = find.add_argument_group("the built-in model (without --pred-probs)")
    model.add_argument(
        "--model",
        choices=("crf",),
        default="crf",
        help="crf (default): a linear-chain CRF (python-crfsuite) over word, affix, shape and "
        "neighbour features",
    )
    model.add_argument(
        "--folds",
        type=_positive_int,
        default=5,
        metavar="K",
        help="cross-validation folds (default: 5); each sentence is scored by the model "
        "trained on the other folds",
    )
    model.add_argument(
        "--seed",
        type=_non_negative_int,
        default=0,
        metavar="N",
        help="seed of the shuffle that deals sentences into folds (default: 0)",
    )
    model.add_argument(
        "--ensemble",
        type=_positive_int,
        default=1,
        metavar="N",
        help="train N CRFs on different fold splits (seeds SEED..SEED+N-1) and average their "
        "probabilities (default: 1)",
    )
    model.add_argument(
        "--save-pred-probs",
        metavar="FILE.npz",
        help="also write the computed probabilities, sentence lengths and class names to an "
        ".npz that --pred-probs reads back",
    )
    model.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress bar while training (it is shown only on a terminal)",
    )
    inputs = find.add_argument_group("reading DATA")
    inputs.add_argument(
        "--format-in",
        choices=("conll", "jsonl"),
        help="format of DATA (default: jsonl for .jsonl/.json files, else conll)",
    )
    inputs.add_argument(
        "--tag-column",
        type=_column,
        default=None,
        metavar="N",
        help="CoNLL column of the tag, from 1 (the token); negative counts from the end "
        "(default: -1, the last column)",
    )
    inputs.add_argument(
        "--tokens-field",
        default="tokens",
        metavar="NAME",
        help="JSON field with the tokens (default: tokens)",
    )
    inputs.add_argument(
        "--tags-field",
        default=None,
        metavar="NAME",
        help="JSON field with the tags (default: tags), or column of --hf-dataset (default: "
        "ner_tags)",
    )
    inputs.add_argument(
        "--hf-dataset",
        metavar="DIR",
        help="read a Hugging Face dataset saved with save_to_disk instead of DATA (needs "
        "tokenclean[hf]); tags from its ClassLabel feature",
    )
    inputs.add_argument(
        "--split", metavar="NAME", help="the split of a DatasetDict folder (--hf-dataset)"
    )
    classes = inputs.add_mutually_exclusive_group()
    classes.add_argument(
        "--classes",
        metavar="A,B,...",
        help="comma-separated class names in the column order of PROBS",
    )
    classes.add_argument(
        "--classes-file",
        metavar="FILE",
        help="class names, one per line, in the column order of PROBS",
    )
    method = find.add_argument_group("finding issues")
    method.add_argument(
        "--method",
        choices=("combined", "cleanlab"),
        default="combined",
        help="combined (default): the model's self-confidence sharpened by variation n-grams "
        "(the same words tagged otherwise elsewhere), every token whose suggested tag differs, "
        "ranked; cleanlab: cleanlab's find_label_issues, exactly (--filter-by, --rank-by, "
        "--low-memory apply to it)",
    )
    method.add_argument(
        "--level",
        choices=("token", "span"),
        default="token",
        help="token (default): one issue per token; span: entity-level issues (wrong_type, "
        "wrong_span, spurious, missing, malformed), each holding all its tokens",
    )
    method.add_argument(
        "--scheme",
        choices=("IOB1", "IOB2", "BIO", "BIOES", "IOBES", "BILOU", "IO"),
        default=None,
        help="tagging scheme of --level span (default: detected from the tags)",
    )
    method.add_argument(
        "--filter-by",
        choices=FILTER_METHODS,
        default=None,
        metavar="METHOD",
        help=f"how issues are found: {', '.join(FILTER_METHODS)} (default: prune_by_noise_rate)",
    )
    method.add_argument(
        "--rank-by",
        choices=RANKING_METHODS,
        default="self_confidence",
        metavar="METHOD",
        help="label quality score that orders the issues (lowest first): "
        f"{', '.join(RANKING_METHODS)} (default: self_confidence)",
    )
    method.add_argument(
        "--low-memory",
        action="store_true",
        help="use cleanlab's low-memory estimate (find_label_issues_batched); not with --filter-by",
    )
    method.add_argument(
        "--threads",
        type=_threads,
        default=None,
        metavar="N",
        help=f"worker threads, at most {MAX_THREADS} (default: all cores); results do not "
        "depend on it",
    )
    output = find.add_argument_group("output")
    output.add_argument(
        "--format",
        choices=OUTPUT_FORMATS,
        default="table",
        help="table (default): a readable report; json: one JSON object per issue per "
        "line; csv: the same columns with a header row",
    )
    output.add_argument(
        "--top",
        type=_non_negative_int,
        default=None,
        metavar="N",
        help=f"report only the N most suspect issues (default: {_DEFAULT_TOP} in a table, "
        "all in json and csv)",
    )
    output.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write the report to FILE (UTF-8; '-' is standard output) instead of standard "
        "output; FILE is replaced only when the run succeeds",
    )

    demo = commands.add_parser(
        "demo",
        help="find label issues in the bundled WNUT-17 sample",
        description=(
            "Run tokenclean.find_label_issues on the first 300 sentences of the WNUT-17 test "
            "split (bundled, CC BY 4.0) with out-of-sample CRF probabilities, and print the "
            "tokens most likely to be mislabeled."
        ),
    )
    demo.add_argument(
        "--top",
        type=_non_negative_int,
        default=_DEFAULT_TOP,
        metavar="N",
        help=f"how many issues to show (default: {_DEFAULT_TOP})",
    )
    demo.add_argument(
        "--rank-by",
        choices=RANKING_METHODS,
        default="self_confidence",
        help="label quality score that orders the issues (default: self_confidence)",
    )
    sample = commands.add_parser(
        "sample",
        help="write the bundled WNUT-17 sample as an annotation file to try the commands on",
        description=(
            "Write the bundled WNUT-17 sample (300 sentences of the test split, CC BY 4.0) to "
            "FOLDER/wnut17.conll (token<TAB>tag, blank lines between sentences), or to "
            "FOLDER/wnut17.jsonl with --format jsonl, and print the file's path."
        ),
    )
    sample.add_argument("folder", metavar="FOLDER", help="where to write (created if missing)")
    sample.add_argument("--format", choices=("conll", "jsonl"), default="conll")
    sample.set_defaults(run=_write_sample)

    for command in _COMMANDS:
        command(commands)
    return parser


def _write_sample(args: argparse.Namespace) -> int:
    sample = load_wnut17_sample()
    path = os.path.join(args.folder, f"wnut17.{args.format}")
    lines = []
    for words, labels in zip(sample.tokens, sample.labels, strict=False):
        tags = [sample.class_names[t] for t in labels]
        if args.format == "jsonl":
            lines.append(json.dumps({"tokens": words, "tags": tags}, ensure_ascii=False) + "\n")
        else:
            lines.extend(f"{w}\t{t}\n" for w, t in zip(words, tags, strict=False))
            lines.append("\n")
    try:
        os.makedirs(args.folder, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.writelines(lines)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    print(path)
    return 0


#: Other modules' subcommands: each entry is called with the subparsers object, adds its
#: parser, and sets ``run`` (``args -> exit status``) with ``set_defaults``. ``run`` raises
#: :class:`InputError` for bad input (reported on one line, exit status 2).
_COMMANDS: list[Callable[[Any], None]] = []


# --- tokenclean demo ------------------------------------------------------------------------


def _demo(*, top: int, rank_by: str) -> int:
    sample = load_wnut17_sample()
    try:
        issues = tokenclean.find_label_issues(
            sample.labels, sample.pred_probs, return_indices_ranked_by=rank_by
        )
    except (ValueError, TypeError) as exc:
        _error(f"{type(exc).__name__}: {exc}")
        return 2
    summary = _Summary(
        title="WNUT-17 test sample",
        sentences=len(sample.labels),
        tokens=sum(len(sentence) for sentence in sample.labels),
        classes=len(sample.class_names),
        issues=len(issues),
        rank_by=rank_by,
    )
    rows = _sample_rows(sample, issues[:top], rank_by)
    with _files.atomic_output(_files.STDOUT) as out:
        lines = _table(summary, rows, color=_use_color(out))
        _write(out, "\n".join(lines) + "\n")
    return 0


def _sample_rows(sample: WnutSample, issues: Sequence[tuple[int, int]], rank_by: str) -> list[_Row]:
    names = sample.class_names
    rows = []
    for s, t in issues:
        probs = sample.pred_probs[s]
        labels = np.asarray(sample.labels[s], dtype=np.int64)
        score = _core.label_quality_scores(labels[t : t + 1], probs[t : t + 1], rank_by)[0]
        given = int(labels[t])
        suggested = int(np.argmax(probs[t]))
        rows.append(
            _Row(
                sentence=s,
                token=t,
                words=sample.tokens[s],
                given=names[given],
                suggested=names[suggested],
                p_given=float(probs[t, given]),
                p_suggested=float(probs[t, suggested]),
                score=float(score),
            )
        )
    return rows


# --- the table report -----------------------------------------------------------------------


def _use_color(stream: TextIO) -> bool:
    """ANSI colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty() and not os.environ.get("NO_COLOR"))


def _table(summary: _Summary, rows: Sequence[_Row], *, color: bool) -> list[str]:
    """The readable report: a header, then each issue with its sentence, token highlighted."""
    lines = [
        f"{_printable(summary.title)}: {summary.sentences} sentences, {summary.tokens} tokens, "
        f"{summary.classes} classes; {summary.issues} label issues found "
        f"(ranked by {summary.rank_by})",
    ]
    for rank, row in enumerate(rows, start=1):
        number = f"#{rank}"
        if color:
            number = f"{_BOLD}{number}{_RESET}"
        where = f" ({_printable(row.location[0])}:{row.location[1]})" if row.location else ""
        given, suggested = _printable(str(row.given)), _printable(str(row.suggested))
        heading = (
            f"{number}  sentence {row.sentence}, token {row.token}{where}: given {given}, "
            f"suggested {suggested} (p={row.p_suggested:.4g}), "
            f"self-confidence p[given]={row.p_given:.4g}"
        )
        if summary.rank_by == "the combined detector":
            heading += f", score={row.score:.4g}"
        elif summary.rank_by != "self_confidence":
            heading += f", {summary.rank_by} score={row.score:.4g}"
        words = [_printable(word) for word in row.words]
        if row.span is not None:
            a, b = int(row.span["start"]), int(row.span["end"])
            heading = (
                f"{number}  {row.span['kind']}: sentence {row.sentence}, tokens {a}-{b - 1}"
                f"{where}: given {' '.join(row.span['given_tags'])}, suggested "
                f"{' '.join(row.span['suggested_tags'])}, score={row.score:.4g}"
            )
        else:
            a, b = row.token, row.token + 1
        marked = f"[[{' '.join(words[a:b])}]]"
        words[a:b] = [f"{_HIGHLIGHT}{marked}{_RESET}" if color else marked]
        lines += ["", heading, "    " + " ".join(words)]
    if summary.issues > len(rows):
        lines.append("")
        lines.append(f"... and {summary.issues - len(rows)} more (show more with --top N)")
    return lines


def _printable(text: str) -> str:
    """``text`` with control and other unprintable characters escaped as ``repr`` would
    (untrusted data must not send escape sequences to a terminal)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _write(stream: TextIO, text: str, *, flush: bool = True) -> None:
    """Write ``text``, replacing characters the stream cannot encode (e.g. a cp1252 console)."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
    if flush:
        stream.flush()


# --- tokenclean find-issues -----------------------------------------------------------------


def _progress(path: str) -> Progress | None:
    return Progress(os.path.basename(path), 0, sys.stderr) if stderr_is_terminal() else None


def _find_issues(args: argparse.Namespace) -> int:
    if args.low_memory and args.filter_by is not None:
        _error(
            "--filter-by cannot be combined with --low-memory (the low-memory estimate "
            "always prunes by noise rate)"
        )
        return 2
    summary, rows = _detect(args)
    to_stdout = args.output in (None, _files.STDOUT)
    with _files.atomic_output(args.output) as out:
        _report(out, args.format, summary, rows, color=to_stdout and _use_color(out))
    return 0


def find_issues_options(data: Sequence[str], **options: Any) -> argparse.Namespace:
    """The options of ``find-issues DATA ...`` with its defaults, some replaced by ``options``.

    For other commands that run the same detection (``tokenclean report``).
    """
    args = _build_parser().parse_args(["find-issues", *data])
    for key, value in options.items():
        if not hasattr(args, key):
            raise TypeError(f"find-issues has no option {key!r}")
        setattr(args, key, value)
    return args


def issue_records(args: argparse.Namespace) -> list[dict[str, Any]]:
    """What ``find-issues --format json`` would write for ``args``, as a list of dicts."""
    args.format, args.top = "json", None
    return [_record(row) for row in _detect(args)[1]]


def _detect(args: argparse.Namespace) -> tuple[_Summary, Iterator[_Row]]:
    """Read the inputs, find the issues, and return the report's header and rows."""
    classes: list[str] | None = None
    classes_source = "--classes"
    if args.classes is not None:
        classes = _parse_classes(args.classes)
    elif args.classes_file is not None:
        classes = read_classes_file(args.classes_file)
        classes_source = args.classes_file
    if bool(args.data) == (args.hf_dataset is not None):
        raise InputError("give annotation files (DATA) or --hf-dataset DIR, not both or neither")
    if args.split is not None and args.hf_dataset is None:
        raise InputError("--split goes with --hf-dataset")
    if isinstance(args.pred_probs, str):
        args.pred_probs = [args.pred_probs]
    files = [*args.data, *(args.pred_probs or [])]
    inputs = files + ([args.hf_dataset] if args.hf_dataset is not None else [])
    if args.pred_probs is not None and args.save_pred_probs is not None:
        raise InputError("--save-pred-probs writes computed probabilities; --pred-probs gives them")
    for path in files:
        _files.check_input(path)
    if args.hf_dataset is not None and not os.path.exists(args.hf_dataset):
        raise InputError(f"{args.hf_dataset}: no such file")
    if args.classes_file is not None:
        _files.check_input(args.classes_file, allow_stream=True)  # read once
    for option, out in (("--output", args.output), ("--save-pred-probs", args.save_pred_probs)):
        _files.check_output_not_input(out, [*inputs, args.classes_file], option)
    if args.tag_column is not None:
        for path in args.data:
            if data_format(path, args.format_in) == "jsonl":
                raise InputError(
                    f"{path}: --tag-column is for CoNLL files; name the JSON field of the tags "
                    "with --tags-field"
                )
    stamps = {path: _files.stamp(path) for path in files}

    corpus: Corpora | _HFData
    if args.hf_dataset is not None:
        tags_column = args.tags_field or "ner_tags"
        corpus = _HFData.read(args.hf_dataset, args.split, args.tokens_field, tags_column)
        if classes is None:
            classes, classes_source = corpus.class_names, f"{corpus.path} (ClassLabel)"
    else:
        corpus = Corpora(
            [
                read_corpus(
                    path,
                    format=args.format_in,
                    tag_column=-1 if args.tag_column is None else args.tag_column,
                    tokens_field=args.tokens_field,
                    tags_field=args.tags_field or "tags",
                    progress=_progress(path),
                )
                for path in args.data
            ]
        )
    if args.pred_probs is None:
        probs, labels, names = _crf_pred_probs(corpus, classes, classes_source, args)
    else:
        members = []
        for path in args.pred_probs:
            member = load_pred_probs(path, progress=_progress(path))
            if member.class_names is not None and classes is None:
                classes, classes_source = member.class_names, f"{path} (class_names)"
            elif member.class_names is not None and member.class_names != classes:
                raise InputError(
                    f"{path}: its class_names ({','.join(member.class_names)}) differ from "
                    f"{classes_source}"
                )
            labels, names = _class_ids(corpus, member, classes, classes_source)
            members.append(member.aligned_with(corpus))
        probs = _ensemble(members)
    starts = np.concatenate(([0], np.cumsum(corpus.lengths)))

    top = args.top if args.top is not None else (_DEFAULT_TOP if args.format == "table" else None)
    if args.level == "span":
        summary, span_rows = _span_report(corpus, probs, labels, names, args, top)
        return summary, _files.unchanged_after(span_rows, stamps)
    suggestions: npt.NDArray[np.int64] | None = None
    if args.method == "combined":
        pairs, every_score, suggestions = _combined(corpus, probs, labels)
        shown = pairs if top is None else pairs[:top]
        scores = every_score[starts[shown[:, 0]] + shown[:, 1]]
    else:
        pairs = _run(corpus, probs, labels, starts, args)
        shown = pairs if top is None else pairs[:top]
        scores = _issue_scores(shown, probs, labels, starts, args.rank_by, args.threads)

    def rows() -> Iterator[_Row]:
        for lo in range(0, len(shown), 4096):  # read the words back a chunk at a time
            chunk = shown[lo : lo + 4096]
            words = corpus.words(chunk[:, 0].tolist())
            for (s, t), score in zip(chunk.tolist(), scores[lo : lo + 4096].tolist(), strict=False):
                row = _probs_row(probs, starts, s, t)
                given = int(labels[starts[s] + t])
                if suggestions is None:
                    suggested = int(np.argmax(row))
                else:
                    suggested = int(suggestions[starts[s] + t])
                yield _Row(
                    sentence=s,
                    token=t,
                    words=words[s],
                    given=names[given],
                    suggested=names[suggested],
                    p_given=float(row[given]),
                    p_suggested=float(row[suggested]),
                    score=score,
                    location=corpus.location(s, t),
                )

    summary = _Summary(
        title=corpus.path,
        sentences=corpus.num_sentences,
        tokens=corpus.num_tokens,
        classes=probs.num_classes,
        issues=len(pairs),
        rank_by="the combined detector" if args.method == "combined" else args.rank_by,
    )
    return summary, _files.unchanged_after(rows(), stamps)


def _ensemble(members: list[PredProbs]) -> PredProbs:
    """One member as it is; several as the average of their probabilities."""
    if len(members) == 1:
        return members[0]
    from tokenclean.detect import ensemble_pred_probs

    flats = [m.flat if m.flat is not None else np.concatenate(m.sentences or []) for m in members]
    k = {f.shape[1] for f in flats}
    if len(k) > 1:
        raise InputError(
            " and ".join(m.path for m in members) + f": different numbers of columns {sorted(k)}"
        )
    path = " + ".join(m.path for m in members)
    flat = ensemble_pred_probs([float_probs(f) for f in flats])
    return PredProbs(path, flat, None, None, [], flat.shape[1], members[0].class_names)


def _span_report(
    corpus: Corpora | _HFData,
    probs: PredProbs,
    labels: npt.NDArray[np.int64],
    names: list[Tag],
    args: argparse.Namespace,
    top: int | None,
) -> tuple[_Summary, Iterator[_Row]]:
    """Entity-level issues, as rows of the report (``--level span``)."""
    from tokenclean.spans import find_span_issues

    flat = probs.flat if probs.flat is not None else np.concatenate(probs.sentences or [])
    token_scores = None
    if args.method == "combined":
        token_scores = _combined(corpus, probs, labels)[1]
    try:
        found = find_span_issues(
            labels,
            float_probs(flat),
            [str(name) for name in names],
            scheme=args.scheme,
            lengths=corpus.lengths,
            token_scores=token_scores,
            n_jobs=args.threads,
        )
    except (ValueError, TypeError) as exc:
        raise InputError(f"{corpus.path}: {exc}") from None
    shown = found if top is None else found[:top]

    def rows() -> Iterator[_Row]:
        for lo in range(0, len(shown), 4096):
            chunk = shown[lo : lo + 4096]
            words = corpus.words([r["sentence"] for r in chunk])
            for r in chunk:
                s, start = int(r["sentence"]), int(r["start"])
                yield _Row(
                    sentence=s,
                    token=start,
                    words=words[s],
                    given=r["given"] if r["given"] is not None else "O",
                    suggested=r["suggested"] if r["suggested"] is not None else "O",
                    p_given=float("nan"),
                    p_suggested=float("nan"),
                    score=float(r["score"]),
                    location=corpus.location(s, start),
                    span=r,
                )

    summary = _Summary(
        title=corpus.path,
        sentences=corpus.num_sentences,
        tokens=corpus.num_tokens,
        classes=probs.num_classes,
        issues=len(found),
        rank_by=("the combined detector" if args.method == "combined" else "self-confidence")
        + ", entity level",
    )
    return summary, rows()


def _combined(
    corpus: Corpora | _HFData, probs: PredProbs, labels: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """The combined detector's issues as ``(M, 2)`` pairs, every token's score and suggestion."""
    from tokenclean.detect import combined_scores
    from tokenclean.ngrams import word_ids

    flat = probs.flat if probs.flat is not None else np.concatenate(probs.sentences or [])
    ids, _ = word_ids(corpus.all_words())
    found = combined_scores(labels, float_probs(flat), corpus.lengths, ids)
    starts = np.concatenate(([0], np.cumsum(corpus.lengths)))
    sentence = np.searchsorted(starts, found.flagged, side="right") - 1
    pairs = np.stack([sentence, found.flagged - starts[sentence]], axis=1).astype(np.int64)
    return pairs.reshape(-1, 2), found.quality, found.suggested


def _crf_pred_probs(
    corpus: Corpora | _HFData, classes: list[str] | None, source: str, args: argparse.Namespace
) -> tuple[PredProbs, npt.NDArray[np.int64], list[Tag]]:
    """Cross-validated CRF probabilities of the corpus, its class ids and the class names."""
    from tokenclean.detect import ensemble_pred_probs
    from tokenclean.models import class_order, cross_val_pred_probs

    if len(corpus.tags) < 2:
        raise InputError(
            f"{corpus.path}: every token is tagged {corpus.tags[0]!r}; a single tag leaves "
            "nothing to learn or to check"
        )
    non_empty = int(np.count_nonzero(corpus.lengths))
    if non_empty < args.folds or args.folds < 2:
        raise InputError(
            f"{corpus.path}: {non_empty} sentence{'s' * (non_empty != 1)} cannot be split into "
            f"--folds {args.folds} (at least 2, at most the number of sentences)"
        )
    tag_names = [str(tag) for tag in corpus.tags]
    if classes is not None:
        names: list[str] = list(classes)
        if corpus.integer_tags:
            _check_ids(corpus, len(names), source, "classes")
            lookup = np.array(corpus.tags, dtype=np.int64)
        else:
            index = {name: i for i, name in enumerate(names)}
            for tag, where in zip(tag_names, corpus.tag_where, strict=False):
                if tag not in index:
                    raise InputError(f"{where}: tag {tag!r} is not in {source}")
            lookup = np.array([index[tag] for tag in tag_names], dtype=np.int64)
    elif corpus.integer_tags:
        k = max(int(tag) for tag in corpus.tags) + 1
        names = [str(i) for i in range(k)]
        lookup = np.array(corpus.tags, dtype=np.int64)
    else:
        names = class_order([tag_names])
        index = {name: i for i, name in enumerate(names)}
        lookup = np.array([index[tag] for tag in tag_names], dtype=np.int64)
    labels = lookup[corpus.tag_ids]
    cuts = np.cumsum(corpus.lengths)[:-1]
    tags = [[names[i] for i in part] for part in np.split(labels, cuts)]
    words = corpus.all_words()
    members = []
    for member in range(args.ensemble):
        pred_probs, _ = cross_val_pred_probs(
            words,
            tags,
            n_folds=args.folds,
            seed=args.seed + member,
            n_jobs=args.threads,
            class_names=names,
            progress=stderr_is_terminal() and not args.quiet,
        )
        members.append(np.concatenate(pred_probs) if pred_probs else np.zeros((0, len(names))))
    flat = ensemble_pred_probs(members).astype(np.float32, copy=False)
    if args.save_pred_probs is not None:
        _save_pred_probs(args.save_pred_probs, flat, corpus.lengths, names)
    source_name = f"the {args.model.upper()} probabilities"
    return PredProbs(source_name, flat, None, None, [], len(names)), labels, list(names)


def _save_pred_probs(
    path: str, flat: npt.NDArray[np.float32], lengths: npt.NDArray[np.int64], names: list[str]
) -> None:
    """Write ``pred_probs``, ``lengths`` and ``class_names`` to ``path`` all at once."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tokenclean-", suffix=".npz", dir=folder)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, pred_probs=flat, lengths=lengths, class_names=np.array(names, dtype=str))
        os.replace(tmp, path)
    except OSError as exc:
        os.unlink(tmp)
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None


class _HFData:
    """A Hugging Face dataset seen as the command line sees annotation files.

    Its "file" is ``DIR[split]`` and the "line" of a token is the 0-based index of its row.
    """

    def __init__(self, path: str, data: Any) -> None:
        self.path = path
        self.data = data
        self.class_names: list[str] = list(data.class_names)
        self.tags: list[Tag] = list(self.class_names)
        self.tag_where = [path] * len(self.tags)
        self.integer_tags = False
        self.lengths: npt.NDArray[np.int64] = np.asarray(data.lengths, dtype=np.int64)
        self.tag_ids: npt.NDArray[np.int64] = np.asarray(data.labels_flat, dtype=np.int64)
        self.num_sentences = len(self.lengths)
        self.num_tokens = len(self.tag_ids)

    @classmethod
    def read(cls, folder: str, split: str | None, tokens: str, tags: str) -> _HFData:
        try:
            from tokenclean.hf import corpus_from_disk

            data = corpus_from_disk(folder, split, tokens=tokens, tags=tags)
        except ImportError as exc:
            raise InputError(
                f"--hf-dataset needs the datasets package: pip install 'tokenclean[hf]' ({exc})"
            ) from None
        except (ValueError, TypeError, OSError) as exc:
            raise InputError(f"{folder}: {exc}") from None
        return cls(f"{folder}[{split}]" if split else folder, data)

    def all_words(self) -> list[list[str]]:
        words: list[list[str]] = self.data.tokens
        return words

    def words(self, sentences: Iterable[int]) -> dict[int, list[str]]:
        every = self.all_words()
        return {int(s): every[int(s)] for s in sentences}

    def location(self, sentence: int, token: int) -> tuple[str, int]:
        return self.path, int(sentence)

    def sentence_where(self, sentence: int) -> str:
        return f"{self.path} row {sentence}"


def _probs_row(
    probs: PredProbs, starts: npt.NDArray[np.int64], s: int, t: int
) -> npt.NDArray[np.floating[Any]]:
    row: npt.NDArray[np.floating[Any]]
    row = probs.flat[starts[s] + t] if probs.flat is not None else _sentence(probs, s)[t]
    return row


def _sentence(probs: PredProbs, s: int) -> npt.NDArray[np.floating[Any]]:
    assert probs.sentences is not None
    return probs.sentences[s]


def _parse_classes(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    if any(not name for name in names):
        raise InputError(f"--classes {text!r}: empty class name (expected names like O,B-PER)")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError(f"--classes: class {name!r} is listed twice")
        seen.add(name)
    return names


def _check_ids(corpus: Corpora | _HFData, k: int, holder: str, unit: str = "columns") -> None:
    for tag, where in zip(corpus.tags, corpus.tag_where, strict=False):
        assert isinstance(tag, int)
        if tag >= k:
            raise InputError(
                f"{where}: tag {tag} is not a class id of {holder}, which has {k} {unit} "
                f"(ids 0 to {k - 1})"
            )


def _class_ids(
    corpus: Corpora | _HFData, probs: PredProbs, classes: list[str] | None, source: str
) -> tuple[npt.NDArray[np.int64], list[Tag]]:
    """Every token's given class id (column of PROBS), and the name of each class."""
    data, k = corpus.path, probs.num_classes
    if classes is not None and len(classes) != k:
        raise InputError(
            f"{source} gives {len(classes)} class names but {probs.path} has {k} columns "
            "(classes); give one name per column"
        )
    if corpus.integer_tags:
        _check_ids(corpus, k, probs.path)
        lookup = np.array(corpus.tags, dtype=np.int64)
        names: list[Tag] = list(classes) if classes is not None else list(range(k))
    elif classes is not None:
        index = {name: i for i, name in enumerate(classes)}
        for tag, where in zip(corpus.tags, corpus.tag_where, strict=False):
            if tag not in index:
                raise InputError(f"{where}: tag {tag!r} is not in {source}")
        lookup = np.array([index[str(tag)] for tag in corpus.tags], dtype=np.int64)
        names = list(classes)
    else:
        # Guessing the column order from the tags would make every answer wrong when the
        # guess is: refuse instead.
        raise InputError(
            f"{probs.path}: which class is each of its {k} columns? Pass the class names in "
            "column order with --classes or --classes-file (an .npz with a 'class_names' "
            f"array needs neither); the tags of {data} are "
            + _shortlist([str(tag) for tag in corpus.tags])
        )
    return lookup[corpus.tag_ids], names


def _shortlist(names: Sequence[str], most: int = 12) -> str:
    shown = ",".join(_printable(name) for name in names[:most])
    return shown + (f",... ({len(names)} in all)" if len(names) > most else "")


def _run(
    corpus: Corpora | _HFData,
    probs: PredProbs,
    labels: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    args: argparse.Namespace,
) -> npt.NDArray[np.int64]:
    """The ranked ``(M, 2)`` (sentence, token) issues, from the flat or the per-sentence API."""
    options: dict[str, Any] = {
        "return_indices_ranked_by": args.rank_by,
        "low_memory": args.low_memory,
    }
    if args.filter_by is not None:
        options["filter_by"] = args.filter_by
    if args.threads is not None:
        options["n_jobs"] = args.threads
    try:
        with warnings.catch_warnings():
            # The low-memory estimate does use the threads (cleanlab's warning says otherwise).
            warnings.filterwarnings("ignore", message="`n_jobs` is not used")
            if probs.flat is not None:
                pairs: npt.NDArray[np.int64] = tokenclean.find_label_issues_flat(
                    labels, probs.flat, corpus.lengths, **options
                )
                return pairs
            sentence_labels = [labels[a:b] for a, b in itertools.pairwise(starts)]
            found = tokenclean.find_label_issues(sentence_labels, probs.sentences or [], **options)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{_culprit(str(exc), corpus, probs)}: {exc}") from None
    return np.array(found, dtype=np.int64).reshape(-1, 2)


def _culprit(message: str, corpus: Corpora | _HFData, probs: PredProbs) -> str:
    """The file an engine error is about: PROBS unless only the labels (DATA) are named."""
    if "pred_probs" not in message and "label" in message:
        return corpus.path
    return probs.path


def _issue_scores(
    issues: npt.NDArray[np.int64],
    probs: PredProbs,
    labels: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    method: str,
    threads: int | None,
) -> npt.NDArray[np.float64]:
    """The ``method`` label quality score of each issue, as the ranking computed it."""
    if len(issues) == 0:
        return np.zeros(0)
    positions = starts[issues[:, 0]] + issues[:, 1]
    if probs.flat is not None:
        every = _core.label_quality_scores(labels, float_probs(probs.flat), method, n_jobs=threads)
        return np.asarray(every[positions], dtype=np.float64)
    scores = np.empty(len(issues))
    order = np.argsort(issues[:, 0], kind="stable")
    sentences, first = np.unique(issues[order, 0], return_index=True)
    bounds = [*first.tolist(), len(order)]
    for s, lo, hi in zip(sentences.tolist(), bounds[:-1], bounds[1:], strict=False):
        which = order[lo:hi]
        sentence_scores = _core.label_quality_scores(
            labels[starts[s] : starts[s + 1]], float_probs(_sentence(probs, s)), method
        )
        scores[which] = sentence_scores[issues[which, 1]]
    return scores


def _report(out: TextIO, fmt: str, summary: _Summary, rows: Iterable[_Row], *, color: bool) -> None:
    if fmt == "table":
        _write(out, "\n".join(_table(summary, list(rows), color=color)) + "\n")
    elif fmt == "json":
        ascii_only = not _is_utf(out)
        for row in rows:
            _write(out, json.dumps(_record(row), ensure_ascii=ascii_only) + "\n", flush=False)
    else:
        writer = csv.writer(_Lines(out), lineterminator="\n")
        header = False
        for row in rows:
            record = _record(row)
            if not header:
                writer.writerow(list(record))
                header = True
            writer.writerow([_csv_cell(v) for v in record.values()])
        if not header:
            writer.writerow(SPAN_FIELDS if summary.rank_by.endswith("entity level") else FIELDS)
    out.flush()


#: Columns of entity-level records (``--level span``), before the rest of the issue's keys.
SPAN_FIELDS = ("kind", "sentence", "start", "end", "words", "given", "suggested", "score")


def _record(row: _Row) -> dict[str, Any]:
    """The JSON object of one row: a token issue, or an entity-level one."""
    if row.span is None:
        return dict(zip(FIELDS, _fields(row), strict=False))
    span = dict(row.span)
    span["words"] = list(row.words[int(span["start"]) : int(span["end"])])
    record = {key: span[key] for key in SPAN_FIELDS}
    path, line = row.location if row.location is not None else (None, None)
    record.update(file=path, line=line)
    record.update((k, v) for k, v in span.items() if k not in record)
    return record


def _csv_cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _fields(row: _Row) -> tuple[int, int, str, Tag, Tag, float, str | None, int | None]:
    path, line = row.location if row.location is not None else (None, None)
    return row.sentence, row.token, row.word, row.given, row.suggested, row.score, path, line


def _is_utf(stream: TextIO) -> bool:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        return codecs.lookup(encoding).name.startswith("utf")
    except LookupError:
        return False


class _Lines:
    """A file-like ``write`` for :mod:`csv` that goes through :func:`_write`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        _write(self.stream, text, flush=False)


def _register_commands() -> None:
    from tokenclean import evaluate
    from tokenclean.corrections import add_apply_parser
    from tokenclean.labelstudio import add_export_parser, add_import_parser
    from tokenclean.review import add_report_parser

    _COMMANDS.extend([add_report_parser, add_apply_parser, add_export_parser, add_import_parser])
    _COMMANDS.append(evaluate.add_parser)


_register_commands()
