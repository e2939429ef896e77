"""``tokenclean report``: one self-contained HTML page to review label issues, offline.

The page embeds the flagged sentences (and one neighbour on each side), the issues and its own
script and style: it needs no server, no network and no CDN, and a Content-Security-Policy
forbids it to load anything. Reviewers accept, reject or retype each suggestion; decisions are
kept in the browser's localStorage and exported as a corrections file for ``tokenclean apply``
(see :mod:`tokenclean.corrections`).

Issues are the records ``tokenclean find-issues --format json`` writes, one JSON object per line:

* token issues: ``sentence`` (0-based, counted across all DATA files in order), ``token``,
  ``given``, ``suggested``, ``score`` and optionally ``word``, ``file``, ``line``;
* span issues: ``kind``, ``sentence``, ``start``, ``end`` (tokens ``start`` to ``end - 1``),
  ``given``, ``suggested``, ``score``, ``file``, ``line``.
"""

from __future__ import annotations

import hashlib
import html
import importlib.resources
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np

from tokenclean.io import Corpora, InputError, Tag, read_corpora

__all__ = ["Dataset", "Issue", "build_page", "load_dataset", "load_issues", "resolve_issues"]


@dataclass(frozen=True)
class Issue:
    """One issue located in the data: tokens ``start`` to ``end - 1`` of a sentence."""

    kind: str
    file: int  # index into Corpora.parts
    sentence: int  # global sentence index
    start: int
    end: int
    given: Tag | None
    suggested: Tag | None
    score: float | None
    line: int

    @property
    def is_token(self) -> bool:
        return self.kind == "token"


#: The DATA files of a report: :class:`tokenclean.io.Corpora`, the reader ``find-issues`` uses,
#: so that sentence numbers run on from one file to the next in the same way.
Dataset = Corpora


def load_dataset(
    paths: Sequence[str],
    *,
    format: str | None = None,
    tag_column: int = -1,
    tokens_field: str = "tokens",
    tags_field: str = "tags",
) -> Corpora:
    """Read every DATA file (CoNLL or JSON Lines) with :func:`tokenclean.io.read_corpora`."""
    return read_corpora(
        paths,
        format=format,
        tag_column=tag_column,
        tokens_field=tokens_field,
        tags_field=tags_field,
    )


def load_issues(path: str) -> list[tuple[str, dict[str, Any]]]:
    """The records of an issues file (JSON Lines, or one JSON list), each with its location."""
    from tokenclean.corrections import read_text_file

    text = read_text_file(path)
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{exc.lineno}: malformed JSON: {exc.msg}") from None
        return [(f"{path}: issue {i + 1}", item) for i, item in enumerate(items)]
    records = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((f"{path}:{lineno}", json.loads(line)))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{lineno}: malformed JSON: {exc.msg}") from None
    return records


def _int_field(record: dict[str, Any], key: str, where: str) -> int:
    value = record.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InputError(f"{where}: {key!r} must be an integer >= 0, got {value!r}")
    return value


def resolve_issues(dataset: Corpora, records: Iterable[tuple[str, dict[str, Any]]]) -> list[Issue]:
    """Check each record against the data and locate it; raises :class:`InputError`."""
    paths = [c.path for c in dataset.parts]
    issues: list[Issue] = []
    for where, record in records:
        if not isinstance(record, dict):
            raise InputError(f"{where}: expected a JSON object")
        g = _int_field(record, "sentence", where)
        if g >= dataset.num_sentences:
            raise InputError(
                f"{where}: sentence {g} does not exist (the data has "
                f"{dataset.num_sentences} sentences)"
            )
        f, s = dataset.locate(g)
        corpus = dataset.parts[f]
        named = record.get("file")
        if named is not None and not _same_path(str(named), paths[f]):
            raise InputError(
                f"{where}: sentence {g} is in {paths[f]}, but the issue names {named} "
                "(give the DATA files in the order find-issues had them)"
            )
        length = int(corpus.lengths[s])
        if "token" in record and "start" not in record:
            t = _int_field(record, "token", where)
            start, end, kind = t, t + 1, "token"
        else:
            start = _int_field(record, "start", where)
            end = _int_field(record, "end", where)
            kind = str(record.get("kind") or "span")
            if end <= start:
                raise InputError(f"{where}: empty span (start {start}, end {end})")
        if end > length:
            raise InputError(
                f"{where}: token {end - 1} of sentence {g} does not exist "
                f"({corpus.path}:{int(corpus.sentence_lines[s])} has {length} tokens)"
            )
        line = corpus.token_line(s, start)
        given = record.get("given")
        if kind == "token":
            actual = dataset.sentence_tags(g)[start]
            if given is not None and str(given) != str(actual):
                raise InputError(
                    f"{where}: {corpus.path}:{line} has tag {actual!r}, not {given!r} "
                    "(did the data change since find-issues ran?)"
                )
            word = record.get("word")
            if word is not None and dataset.words([g])[g][start] != word:
                raise InputError(
                    f"{where}: {corpus.path}:{line} has the word "
                    f"{dataset.words([g])[g][start]!r}, not {word!r}"
                )
            given = actual
            named_line = record.get("line")
            if named_line is not None and named_line != line:
                raise InputError(
                    f"{where}: sentence {g} token {start} is on {corpus.path}:{line}, but the "
                    f"issue says line {named_line!r} (did the data change since find-issues ran?)"
                )
        score = record.get("score")
        issues.append(
            Issue(
                kind=kind,
                file=f,
                sentence=g,
                start=start,
                end=end,
                given=given,
                suggested=record.get("suggested"),
                score=_finite(score),
                line=line,
            )
        )
    return issues


def _finite(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
        return float(value)
    return None


def _same_path(a: str, b: str) -> bool:
    if os.path.normpath(a) == os.path.normpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def page_data(dataset: Corpora, issues: Sequence[Issue], title: str) -> dict[str, Any]:
    """The JSON the page embeds: files, sentences (with neighbours), tags and issues."""
    flagged = {issue.sentence for issue in issues}
    wanted = set(flagged)
    for g in flagged:
        f = dataset.locate(g)[0]
        for h in (g - 1, g + 1):
            if h not in wanted and 0 <= h < dataset.num_sentences and dataset.locate(h)[0] == f:
                wanted.add(h)
    words = dataset.words(sorted(wanted))
    sentences: dict[str, Any] = {}
    for g in sorted(wanted):
        f, s = dataset.locate(g)
        corpus = dataset.parts[f]
        tags = [str(t) for t in dataset.sentence_tags(g)]
        sentences[str(g)] = [f, int(corpus.sentence_lines[s]), words[g], tags]
    names: dict[str, None] = {}
    for tag in dataset.tags:
        names.setdefault(str(tag), None)
    for issue in issues:
        for label in (issue.given, issue.suggested):
            if issue.is_token and label is not None:
                names.setdefault(str(label), None)
    files = [c.path for c in dataset.parts]
    return {
        "title": title,
        "store": "tokenclean-review:" + hashlib.sha256("\n".join(files).encode()).hexdigest()[:16],
        "files": files,
        "formats": [c.format for c in dataset.parts],
        "tags": list(names),
        "sentences": sentences,
        "issues": [
            [
                i.kind,
                i.sentence,
                i.start,
                i.end,
                None if i.given is None else str(i.given),
                None if i.suggested is None else str(i.suggested),
                i.score,
                i.line,
            ]
            for i in issues
        ],
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def embed_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<`` can end the element.

    >>> print(embed_json({"word": "</script>"}))
    {"word":"\\u003c/script>"}
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # "<" only occurs inside JSON strings, where \u003c means the same character.
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def build_page(dataset: Corpora, issues: Sequence[Issue], *, title: str) -> str:
    """The whole HTML page."""
    # The page (HTML, CSS and plain JavaScript, all ours) is package data; __TITLE__ and
    # __DATA__ are its two placeholders.
    page = importlib.resources.files("tokenclean.data").joinpath("review_page.html")
    template = page.read_text(encoding="utf-8")
    data = page_data(dataset, issues, title)
    return template.replace("__TITLE__", html.escape(title)).replace("__DATA__", embed_json(data))


# --- tokenclean report ----------------------------------------------------------------------

_REPORT_EPILOG = """\
examples:
  tokenclean find-issues train.conll ... --format json -o issues.jsonl
  tokenclean report train.conll --issues issues.jsonl -o review.html

The page opens from disk in any modern browser and needs no network. Keys: j/k or arrows
next/previous, a accept, r reject, t type another tag, c context, u clear. "Export decisions"
saves corrections.json for tokenclean apply.
"""


def add_report_parser(commands: Any) -> None:
    """Register ``tokenclean report``."""
    import argparse

    from tokenclean.corrections import add_data_options

    parser = commands.add_parser(
        "report",
        help="write an offline HTML page to review label issues",
        description="Write one self-contained HTML page to review the issues found in DATA.",
        epilog=_REPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data", nargs="+", metavar="DATA", help="CoNLL column file, or .jsonl")
    parser.add_argument(
        "--issues",
        metavar="ISSUES",
        help="issues from 'tokenclean find-issues --format json' (JSON Lines)",
    )
    parser.add_argument("--output", "-o", required=True, metavar="FILE", help="the HTML page")
    parser.add_argument("--title", help="page title (default: the DATA file names)")
    add_data_options(parser)
    found = parser.add_argument_group(
        "finding the issues (without --issues, as find-issues does; see its --help)"
    )
    found.add_argument("--pred-probs", metavar="PROBS", help="predicted probabilities")
    names = found.add_mutually_exclusive_group()
    names.add_argument("--classes", metavar="A,B,...", help="class names of the PROBS columns")
    names.add_argument("--classes-file", metavar="FILE", help="class names, one per line")
    found.add_argument("--folds", type=int, default=5, metavar="K", help="CRF folds (default 5)")
    found.add_argument("--seed", type=int, default=0, metavar="N", help="fold seed (default 0)")
    found.add_argument("--threads", type=int, default=None, metavar="N", help="workers")
    found.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    parser.set_defaults(run=run_report)


def _read_data(args: Any) -> Corpora:
    return load_dataset(
        args.data,
        format=args.format_in,
        tag_column=args.tag_column,
        tokens_field=args.tokens_field,
        tags_field=args.tags_field,
    )


def dataset_and_issues(args: Any) -> tuple[Corpora, list[Issue]]:
    """DATA read with the reading options, and the ``--issues`` file checked against it."""
    dataset = _read_data(args)
    return dataset, resolve_issues(dataset, load_issues(args.issues))


def dataset_and_detected_issues(args: Any) -> tuple[Corpora, list[Issue]]:
    """DATA, and the issues ``find-issues`` finds in it with the same options."""
    from tokenclean import cli

    options = {
        key: getattr(args, key)
        for key in (
            "pred_probs", "classes", "classes_file", "folds", "seed", "threads", "quiet",
            "format_in", "tag_column", "tokens_field", "tags_field",
        )
    }  # fmt: skip
    records = cli.issue_records(cli.find_issues_options(args.data, **options))
    dataset = _read_data(args)
    return dataset, resolve_issues(dataset, [(f"issue {i + 1}", r) for i, r in enumerate(records)])


def run_report(args: Any) -> int:
    """``tokenclean report``."""
    if args.issues is None:
        dataset, issues = dataset_and_detected_issues(args)
    else:
        dataset, issues = dataset_and_issues(args)
    title = args.title or "tokenclean review: " + ", ".join(os.path.basename(p) for p in args.data)
    page = build_page(dataset, issues, title=title)
    from tokenclean.corrections import write_atomic

    write_atomic(args.output, page.encode("utf-8"))
    return 0
