"""Label Studio and doccano round trips: flagged sentences out as tasks, reviewed tags back in.

``tokenclean export --to label-studio`` writes the sentences that have issues as Label Studio
tasks (the JSON list of its "Basic Label Studio JSON format"): the tokens joined by single
spaces in ``data.text``, the given tags as an ``annotations`` entry and the suggested tags as a
``predictions`` entry with the issues' lowest score. Results are ``labels`` regions
``{"from_name": "label", "to_name": "text", "type": "labels", "value": {"start", "end", "text",
"labels"}}`` with character offsets, so the project's labeling config is::

    <View>
      <Labels name="label" toName="text"> <Label value="person"/> ... </Labels>
      <Text name="text" value="$text"/>
    </View>

(``--config FILE`` writes it with every label). ``--to doccano`` writes doccano's sequence
labeling JSONL: ``{"text": ..., "label": [[start, end, "TAG"], ...]}``.

IOB2 data (every tag ``O``, ``B-X`` or ``I-X``) becomes one region per entity, labelled ``X``;
other tag sets become one region per token not tagged ``O``, labelled with the tag.
Each task carries ``tokenclean``: the file, line, sentence, token offsets and given tags
(in ``data`` for Label Studio, at the top level for doccano, which keeps extra fields as
metadata), so ``tokenclean import-corrections`` turns the reviewed export back into a
corrections file (:mod:`tokenclean.corrections`): a token gets a correction when the tag the
reviewed regions give it differs from the tag the exported regions gave it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

from tokenclean.corrections import (
    Correction,
    read_json_file,
    read_text_file,
    write_atomic,
    write_corrections,
)
from tokenclean.io import Corpora, InputError, Tag
from tokenclean.review import Issue

__all__ = [
    "doccano_tasks",
    "label_studio_config",
    "label_studio_tasks",
    "read_doccano",
    "read_label_studio",
    "spans_from_tags",
    "tags_from_spans",
]

Span = tuple[int, int, str]  # first token, end token (exclusive), label


def _is_iob2(tags: Sequence[str]) -> bool:
    return all(t == "O" or t.startswith(("B-", "I-")) for t in tags)


def spans_from_tags(tags: Sequence[str], scheme: str) -> list[Span]:
    """Regions of a sentence's tags: entities for ``"iob2"``, else each non-``O`` token.

    An ``I-X`` that does not continue an ``X`` starts a new entity.

    >>> spans_from_tags(["B-PER", "I-PER", "O", "I-LOC", "B-LOC"], "iob2")
    [(0, 2, 'PER'), (3, 4, 'LOC'), (4, 5, 'LOC')]
    >>> spans_from_tags(["NN", "O", "VB"], "tags")
    [(0, 1, 'NN'), (2, 3, 'VB')]
    """
    spans: list[Span] = []
    if scheme != "iob2":
        return [(t, t + 1, tag) for t, tag in enumerate(tags) if tag != "O"]
    for t, tag in enumerate(tags):
        if tag == "O":
            continue
        kind = tag[2:]
        if tag.startswith("I-") and spans and spans[-1][1] == t and spans[-1][2] == kind:
            spans[-1] = (spans[-1][0], t + 1, kind)
        else:
            spans.append((t, t + 1, kind))
    return spans


def tags_from_spans(spans: Sequence[Span], length: int, scheme: str) -> list[str]:
    """The tags regions give: ``B-X I-X ...`` per entity for ``"iob2"``, ``O`` elsewhere.

    >>> tags_from_spans([(0, 2, "PER")], 3, "iob2")
    ['B-PER', 'I-PER', 'O']
    """
    tags = ["O"] * length
    for a, b, label in spans:
        for t in range(a, b):
            tags[t] = label if scheme != "iob2" else ("B-" if t == a else "I-") + label
    return tags


def _suggested_tags(tags: list[str], issues: Sequence[Issue]) -> list[str]:
    out = list(tags)
    for issue in issues:
        if issue.suggested is None:
            continue
        if issue.is_token:
            out[issue.start] = str(issue.suggested)
            continue
        kind = str(issue.suggested)
        for t in range(issue.start, issue.end):
            if kind in ("", "O"):
                out[t] = "O"
            else:
                base = kind[2:] if kind.startswith(("B-", "I-")) else kind
                out[t] = ("B-" if t == issue.start else "I-") + base
    return out


def _flagged(dataset: Corpora, issues: Sequence[Issue]) -> list[dict[str, Any]]:
    """One record per sentence with issues, in sentence order."""
    scheme = "iob2" if _is_iob2([str(t) for t in dataset.tags]) else "tags"
    by_sentence: dict[int, list[Issue]] = {}
    for issue in issues:
        by_sentence.setdefault(issue.sentence, []).append(issue)
    words = dataset.words(sorted(by_sentence))
    out = []
    for g in sorted(by_sentence):
        f, s = dataset.locate(g)
        corpus = dataset.parts[f]
        tags = [str(t) for t in dataset.sentence_tags(g)]
        offsets, pos = [], 0
        for w in words[g]:
            offsets.append([pos, pos + len(w)])
            pos += len(w) + 1
        found = by_sentence[g]
        scores = [i.score for i in found if i.score is not None]
        meta = {
            "file": corpus.path,
            "format": corpus.format,
            "line": int(corpus.sentence_lines[s]),
            "sentence": g,
            "scheme": scheme,
            "tokens": offsets,
            "tags": tags,
            "issues": [
                {
                    "kind": i.kind,
                    "start": i.start,
                    "end": i.end,
                    "given": None if i.given is None else str(i.given),
                    "suggested": None if i.suggested is None else str(i.suggested),
                    "score": i.score,
                    "line": i.line,
                }
                for i in found
            ],
        }
        out.append(
            {
                "text": " ".join(words[g]),
                "meta": meta,
                "given": spans_from_tags(tags, scheme),
                "suggested": spans_from_tags(_suggested_tags(tags, found), scheme),
                "score": min(scores) if scores else None,
            }
        )
    return out


def _ls_result(text: str, offsets: list[list[int]], spans: list[Span], prefix: str) -> list[Any]:
    results = []
    for k, (a, b, label) in enumerate(spans):
        start, end = offsets[a][0], offsets[b - 1][1]
        results.append(
            {
                "id": f"{prefix}{k}",
                "from_name": "label",
                "to_name": "text",
                "type": "labels",
                "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]},
            }
        )
    return results


def label_studio_tasks(dataset: Corpora, issues: Sequence[Issue]) -> list[dict[str, Any]]:
    """Label Studio tasks (import JSON) for the sentences that have issues."""
    tasks = []
    for n, rec in enumerate(_flagged(dataset, issues)):
        meta, text = rec["meta"], rec["text"]
        prediction: dict[str, Any] = {
            "model_version": "tokenclean",
            "result": _ls_result(text, meta["tokens"], rec["suggested"], f"s{n}-p"),
        }
        if rec["score"] is not None:
            prediction["score"] = rec["score"]
        tasks.append(
            {
                "data": {
                    "text": text,
                    "file": meta["file"],
                    "line": meta["line"],
                    "tokenclean": meta,
                },
                "annotations": [
                    {
                        "result": _ls_result(text, meta["tokens"], rec["given"], f"s{n}-a"),
                        "ground_truth": False,
                    }
                ],
                "predictions": [prediction],
            }
        )
    return tasks


def label_studio_config(dataset: Corpora) -> str:
    """A labeling config with one ``<Label>`` per region label of the data."""
    labels: dict[str, None] = {}
    tags = [str(t) for t in dataset.tags]
    iob2 = _is_iob2(tags)
    for tag in tags:
        if tag != "O":
            labels.setdefault(tag[2:] if iob2 else tag, None)
    from xml.sax.saxutils import quoteattr

    lines = ["<View>", '  <Labels name="label" toName="text">']
    lines += [f"    <Label value={quoteattr(label)}/>" for label in sorted(labels)]
    lines += ["  </Labels>", '  <Text name="text" value="$text"/>', "</View>", ""]
    return "\n".join(lines)


def doccano_tasks(dataset: Corpora, issues: Sequence[Issue]) -> list[dict[str, Any]]:
    """doccano sequence-labeling records for the sentences that have issues."""
    out = []
    for rec in _flagged(dataset, issues):
        meta, offsets = rec["meta"], rec["meta"]["tokens"]
        meta = dict(meta, suggested=_char_spans(offsets, rec["suggested"]))
        out.append(
            {"text": rec["text"], "label": _char_spans(offsets, rec["given"]), "tokenclean": meta}
        )
    return out


def _char_spans(offsets: list[list[int]], spans: list[Span]) -> list[list[Any]]:
    return [[offsets[a][0], offsets[b - 1][1], label] for a, b, label in spans]


# --- import ---------------------------------------------------------------------------------


def _meta(obj: Any, where: str) -> dict[str, Any]:
    meta = obj.get("tokenclean") if isinstance(obj, dict) else None
    if meta is None and isinstance(obj, dict) and isinstance(obj.get("meta"), dict):
        meta = obj["meta"].get("tokenclean")
    if not isinstance(meta, dict):
        raise InputError(
            f"{where}: no 'tokenclean' data (only tasks written by 'tokenclean export' can be "
            "mapped back to the files)"
        )
    for key, kind in (("file", str), ("format", str), ("line", int), ("tokens", list)):
        if not isinstance(meta.get(key), kind):
            raise InputError(f"{where}: 'tokenclean' data has no valid {key!r}")
    if not isinstance(meta.get("tags"), list) or len(meta["tags"]) != len(meta["tokens"]):
        raise InputError(f"{where}: 'tokenclean' data has no valid 'tags'")
    return meta


def _token_spans(
    text: str, meta: dict[str, Any], regions: list[tuple[int, int, str]], where: str
) -> list[Span]:
    """Character regions as token regions; refuses overlaps and regions that cut a token."""
    starts = {int(a): t for t, (a, _) in enumerate(meta["tokens"])}
    ends = {int(b): t for t, (_, b) in enumerate(meta["tokens"])}
    spans: list[Span] = []
    for start, end, label in regions:
        if not 0 <= start < end <= len(text):
            raise InputError(
                f"{where}: region {start}-{end} labelled {label!r} is outside the text "
                f"({len(text)} characters)"
            )
        shown = repr(text[start:end])
        a, b = start, end
        while a < b and text[a].isspace():  # a selection may take in the spaces around a word
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a not in starts or b not in ends or starts[a] > ends[b]:
            raise InputError(
                f"{where}: region {start}-{end} {shown} labelled {label!r} cuts a token "
                "(regions must start and end at token boundaries)"
            )
        spans.append((starts[a], ends[b] + 1, label))
    spans.sort()
    for (a1, b1, l1), (a2, b2, l2) in itertools.pairwise(spans):
        if a2 < b1:
            raise InputError(
                f"{where}: regions {l1!r} (tokens {a1}-{b1 - 1}) and {l2!r} (tokens {a2}-{b2 - 1}) "
                "overlap"
            )
    return spans


def _corrections(
    meta: dict[str, Any],
    spans: list[Span],
    where: str,
    who: str | None,
    when: str | None,
    text: str,
) -> list[Correction]:
    tags = [str(t) for t in meta["tags"]]
    scheme = str(meta.get("scheme") or ("iob2" if _is_iob2(tags) else "tags"))
    exported = tags_from_spans(spans_from_tags(tags, scheme), len(tags), scheme)
    reviewed = tags_from_spans(spans, len(tags), scheme)
    out = []
    jsonl = meta["format"] == "jsonl"
    for t, (before, after) in enumerate(zip(exported, reviewed, strict=False)):
        if before == after:
            continue
        a, b = meta["tokens"][t]
        extra: dict[str, Any] = {}
        if isinstance(meta.get("sentence"), int):
            extra["sentence"] = meta["sentence"]
        if who:
            extra["who"] = who
        if when:
            extra["when"] = when
        old: Tag = meta["tags"][t]
        out.append(
            Correction(
                file=meta["file"],
                line=meta["line"] if jsonl else meta["line"] + t,
                old_tag=old,
                new_tag=after,
                token=t if jsonl else None,
                word=text[a:b],
                extra=extra,
                where=where,
            )
        )
    return out


def _check_text(text: Any, meta: dict[str, Any], where: str) -> str:
    if not isinstance(text, str):
        raise InputError(f"{where}: no 'text'")
    for a, b in meta["tokens"]:
        if not (isinstance(a, int) and isinstance(b, int) and 0 <= a < b <= len(text)):
            raise InputError(f"{where}: the token offsets do not fit the text")
    return text


def read_label_studio(path: str) -> list[Correction]:
    """Corrections from a Label Studio JSON export of tasks written by :func:`label_studio_tasks`.

    Each task's most recent annotation that was not cancelled is the reviewed one.
    """
    tasks = read_json_file(path)
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise InputError(f"{path}: expected a Label Studio JSON export (a list of tasks)")
    out: list[Correction] = []
    for n, task in enumerate(tasks):
        tid = task.get("id", n + 1) if isinstance(task, dict) else n + 1
        where = f"{path}: task {tid}"
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise InputError(
                f"{where}: expected a task with 'data' (export the project as JSON, not JSON_MIN "
                "or CSV)"
            )
        meta = _meta(task["data"], where)
        text = _check_text(task["data"].get("text"), meta, where)
        annotations = [
            a
            for a in task.get("annotations") or []
            if isinstance(a, dict) and not a.get("was_cancelled")
        ]
        if not annotations:
            continue
        latest = max(
            enumerate(annotations),
            key=lambda pair: (
                str(pair[1].get("updated_at") or pair[1].get("created_at") or ""),
                pair[0],
            ),
        )[1]
        regions = []
        for item in latest.get("result") or []:
            if not isinstance(item, dict) or item.get("type") != "labels":
                continue
            value = item.get("value")
            if not isinstance(value, dict):
                raise InputError(f"{where}: a result has no 'value'")
            start, end, labels = value.get("start"), value.get("end"), value.get("labels")
            if not (isinstance(start, int) and isinstance(end, int) and start < end):
                raise InputError(f"{where}: a region has no valid 'start' and 'end'")
            if not isinstance(labels, list) or len(labels) != 1 or not isinstance(labels[0], str):
                raise InputError(
                    f"{where}: region {start}-{end} must have exactly one label, has {labels!r}"
                )
            regions.append((start, end, labels[0]))
        spans = _token_spans(text, meta, regions, where)
        who = _who(latest.get("completed_by"))
        when = latest.get("updated_at") or latest.get("created_at")
        out += _corrections(meta, spans, where, who, when if isinstance(when, str) else None, text)
    return out


def _who(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("email") or value.get("username") or value.get("id")
    return None if value is None or isinstance(value, bool) else str(value)


def read_doccano(path: str) -> list[Correction]:
    """Corrections from a doccano JSONL export of records written by :func:`doccano_tasks`.

    Regions are read from ``label`` (or ``labels``) as ``[start, end, "TAG"]`` lists, or from
    ``entities`` as ``{"start_offset", "end_offset", "label"}`` objects.
    """
    lines = read_text_file(path).splitlines()
    out: list[Correction] = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: malformed JSON: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise InputError(f"{where}: expected a JSON object")
        if "id" in obj:
            where += f" (task {obj['id']})"
        meta = _meta(obj, where)
        text = _check_text(obj.get("text"), meta, where)
        regions = []
        raw = obj.get("label", obj.get("labels"))
        if raw is None and isinstance(obj.get("entities"), list):
            raw = [
                [e.get("start_offset"), e.get("end_offset"), e.get("label")]
                for e in obj["entities"]
                if isinstance(e, dict)
            ]
        for item in raw or []:
            if not (
                isinstance(item, list)
                and len(item) == 3
                and isinstance(item[0], int)
                and isinstance(item[1], int)
                and isinstance(item[2], str)
                and item[0] < item[1]
            ):
                raise InputError(f'{where}: a label must be [start, end, "TAG"], got {item!r}')
            regions.append((item[0], item[1], item[2]))
        spans = _token_spans(text, meta, regions, where)
        who = obj.get("username") if isinstance(obj.get("username"), str) else None
        out += _corrections(meta, spans, where, who, None, text)
    return out


# --- the command line -----------------------------------------------------------------------


def add_export_parser(commands: Any) -> None:
    """Register ``tokenclean export``."""
    from tokenclean.corrections import add_data_options

    parser = commands.add_parser(
        "export",
        help="write flagged sentences as Label Studio tasks or doccano JSONL",
        description=(
            "Write the sentences of DATA that have issues for review in Label Studio (tasks "
            "with the given tags as annotations and the suggestions as predictions) or doccano."
        ),
    )
    parser.add_argument("data", nargs="+", metavar="DATA", help="CoNLL column file, or .jsonl")
    parser.add_argument("--to", required=True, choices=("label-studio", "doccano"))
    parser.add_argument(
        "--issues", required=True, metavar="ISSUES", help="find-issues --format json output"
    )
    parser.add_argument("--output", "-o", required=True, metavar="FILE")
    parser.add_argument(
        "--config", metavar="FILE", help="also write a Label Studio labeling config (XML)"
    )
    add_data_options(parser)
    parser.set_defaults(run=run_export)


def run_export(args: Any) -> int:
    """``tokenclean export``."""
    from tokenclean.review import dataset_and_issues

    dataset, issues = dataset_and_issues(args)
    if args.to == "label-studio":
        tasks = [json.dumps(t, ensure_ascii=False) for t in label_studio_tasks(dataset, issues)]
        text = "[\n" + ",\n".join(tasks) + "\n]\n" if tasks else "[]\n"
        write_atomic(args.output, text.encode("utf-8"))
    else:
        lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in doccano_tasks(dataset, issues)]
        write_atomic(args.output, "".join(lines).encode("utf-8"))
    if args.config is not None:
        write_atomic(args.config, label_studio_config(dataset).encode("utf-8"))
    return 0


def add_import_parser(commands: Any) -> None:
    """Register ``tokenclean import-corrections``."""
    parser = commands.add_parser(
        "import-corrections",
        help="turn a Label Studio or doccano export into a corrections file",
        description=(
            "Read a Label Studio JSON export (or doccano JSONL) of tasks written by "
            "'tokenclean export' and write the tags the reviewers changed as a corrections "
            "file for 'tokenclean apply'."
        ),
    )
    parser.add_argument("export", metavar="EXPORT", help="Label Studio JSON or doccano JSONL")
    parser.add_argument(
        "--from",
        dest="source",
        choices=("label-studio", "doccano"),
        help="the tool (default: doccano for .jsonl files, else label-studio)",
    )
    parser.add_argument("--output", "-o", required=True, metavar="FILE")
    parser.set_defaults(run=run_import)


def run_import(args: Any) -> int:
    """``tokenclean import-corrections``."""
    source = args.source or ("doccano" if args.export.endswith(".jsonl") else "label-studio")
    corrections = (
        read_doccano(args.export) if source == "doccano" else read_label_studio(args.export)
    )
    write_corrections(args.output, corrections)
    return 0
