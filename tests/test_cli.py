"""``tokenclean find-issues``: end-to-end tests on real WNUT-17 text written to files.

Every test writes annotated text (CoNLL or JSON Lines) and probabilities (.npy/.npz) to a
temporary directory, runs ``cli.main([...])`` and checks what it prints against
``tokenclean.find_label_issues`` on the same data. The data is the bundled WNUT-17 sample
(always available) and, when the project's shared data is present, the first 50 sentences of
the full WNUT-17 file.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tokenclean
import tokenclean.io
from tokenclean import _core, cli
from tokenclean.datasets import load_wnut17_sample
from tokenclean.io import InputError, load_pred_probs, read_conll

# The project's shared data, next to the repository (as CI lays it out).
WNUT17 = Path(__file__).resolve().parents[2] / "shared" / "data" / "wnut17" / "wnut17.npz"
RANKINGS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
ERROR = "tokenclean: error: "


@dataclass(frozen=True)
class Data:
    """Sentences of real text with given tags and out-of-sample probabilities."""

    tokens: list[list[str]]
    labels: list[list[int]]
    probs: list[np.ndarray]
    classes: list[str]

    @property
    def tags(self) -> list[list[str]]:
        return [[self.classes[lab] for lab in sentence] for sentence in self.labels]

    @property
    def flat_probs(self) -> np.ndarray:
        return np.concatenate(self.probs)

    @property
    def flat_labels(self) -> np.ndarray:
        return np.concatenate([np.asarray(x, dtype=np.int64) for x in self.labels])

    @property
    def lengths(self) -> list[int]:
        return [len(x) for x in self.labels]


@pytest.fixture(scope="module")
def sample() -> Data:
    s = load_wnut17_sample()
    return Data(s.tokens, s.labels, list(s.pred_probs), s.class_names)


@pytest.fixture(scope="module")
def wnut50() -> Data:
    if not WNUT17.exists():
        pytest.skip(f"shared WNUT-17 data not found at {WNUT17}")
    with np.load(WNUT17) as z:
        lengths = z["lengths"][:50].tolist()
        n = sum(lengths)
        words = z["tokens_flat"][:n].tolist()
        labels = z["labels_flat"][:n].tolist()
        probs = np.array(z["pred_probs_flat"][:n])
        classes = z["class_names"].tolist()
    cuts = np.cumsum([0, *lengths]).tolist()
    return Data(
        tokens=[words[a:b] for a, b in itertools.pairwise(cuts)],
        labels=[labels[a:b] for a, b in itertools.pairwise(cuts)],
        probs=[probs[a:b] for a, b in itertools.pairwise(cuts)],
        classes=classes,
    )


@pytest.fixture(params=["sample", "wnut50"])
def data(request: pytest.FixtureRequest) -> Data:
    result: Data = request.getfixturevalue(request.param)
    return result


# --- writing files --------------------------------------------------------------------------


def write_conll(
    path: Path,
    data: Data,
    *,
    sep: str = "\t",
    docstart: bool = True,
    columns: Sequence[str] = ("token", "tag"),
    blank: str = "\n",
    trailing: str = "\n",
    newline: str = "\n",
) -> Path:
    """A CoNLL file: one token per line with the given columns, sentences separated by blank."""
    lines: list[str] = []
    if docstart:
        lines.append(sep.join(["-DOCSTART-", *["-X-"] * (len(columns) - 2), "O"]) + newline)
        lines.append(newline)
    for s, (words, tags) in enumerate(zip(data.tokens, data.tags, strict=False)):
        if s:
            lines.append(blank)
        for w, tag in zip(words, tags, strict=False):
            values = {"token": w, "tag": tag, "pos": "NN", "chunk": "I-NP"}
            lines.append(sep.join(values[c] for c in columns) + newline)
    path.write_text("".join(lines) + trailing, encoding="utf-8", newline="")
    return path


def write_jsonl(
    path: Path,
    data: Data,
    *,
    int_tags: bool = False,
    tokens_field: str = "tokens",
    tags_field: str = "tags",
) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for words, labels in zip(data.tokens, data.labels, strict=False):
            tags = labels if int_tags else [data.classes[lab] for lab in labels]
            obj = {"id": len(words), tokens_field: words, tags_field: tags}
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return path


def write_probs(path: Path, data: Data, layout: str) -> Path:
    """Probabilities as ``npy`` (flat), ``npz`` (one array per sentence) or ``npz-flat``."""
    if layout == "npy":
        np.save(path.with_suffix(".npy"), data.flat_probs)
        return path.with_suffix(".npy")
    if layout == "npz":
        np.savez(path.with_suffix(".npz"), *data.probs)
    elif layout == "npz-flat":
        np.savez(path.with_suffix(".npz"), pred_probs=data.flat_probs, lengths=data.lengths)
    else:
        raise AssertionError(layout)
    return path.with_suffix(".npz")


def write_classes(path: Path, classes: Sequence[str]) -> Path:
    path.write_text("\n".join(classes) + "\n", encoding="utf-8")
    return path


# --- running and expected output ------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    """Run the CLI; find-issues runs cleanlab's method, which these tests compare against."""
    args = [str(a) for a in argv]
    if args[:1] == ["find-issues"] and "--method" not in args:
        args.append("--method=cleanlab")
    code = cli.main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def find_issues(
    capsys: pytest.CaptureFixture[str], data_file: Path, probs: Path, *options: object
) -> tuple[int, str, str]:
    """Run find-issues on DATA and PROBS with the options; return (exit code, out, err)."""
    return run(capsys, "find-issues", data_file, "--pred-probs", probs, *options)


def find(
    capsys: pytest.CaptureFixture[str], data_file: Path, probs_file: Path, *options: object
) -> list[dict[str, Any]]:
    """Run find-issues with --format json; return the parsed records."""
    code, out, err = find_issues(capsys, data_file, probs_file, "--format", "json", *options)
    assert (code, err) == (0, ""), err  # no notes or warnings
    return located([json.loads(line) for line in out.splitlines()], data_file)


def located(records: list[dict[str, Any]], data_file: Path) -> list[dict[str, Any]]:
    """The records without ``file`` and ``line``, once those are checked to point at the word."""
    lines = data_file.read_text(encoding="utf-8").splitlines()
    for record in records:
        assert record.pop("file") == str(data_file)
        text = lines[record.pop("line") - 1]
        if text.startswith("{"):  # JSON Lines, whatever the tokens field is called
            fields = json.loads(text).values()
            assert any(isinstance(v, list) and v[record["token"]] == record["word"] for v in fields)
        else:
            assert text.split()[0] == record["word"]
    return records


def expected(data: Data, rank_by: str = "self_confidence", **kwargs: Any) -> list[dict[str, Any]]:
    """What find-issues must report: tokenclean.find_label_issues and the token scores."""
    issues = tokenclean.find_label_issues(
        data.labels, data.probs, return_indices_ranked_by=rank_by, **kwargs
    )
    flat = data.flat_probs
    scores = _core.label_quality_scores(data.flat_labels, flat, rank_by)
    starts = np.cumsum([0, *data.lengths])
    records = []
    for s, t in issues:
        pos = starts[s] + t
        records.append(
            {
                "sentence": s,
                "token": t,
                "word": data.tokens[s][t],
                "given": data.classes[data.labels[s][t]],
                "suggested": data.classes[int(np.argmax(flat[pos]))],
                "score": float(scores[pos]),
            }
        )
    return records


def assert_error(result: tuple[int, str, str], *fragments: str) -> str:
    """Exit code 2, nothing on stdout, one line on stderr containing every fragment."""
    code, out, err = result
    assert code == 2, (code, err)
    assert out == ""
    assert err.startswith(ERROR) and err.endswith("\n") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


class Terminal(io.StringIO):
    """A StringIO that says it is a terminal."""

    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


# --- correct output -------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["npy", "npz", "npz-flat"])
@pytest.mark.parametrize("fmt", ["conll", "jsonl"])
def test_json_matches_find_label_issues(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data: Data, layout: str, fmt: str
) -> None:
    data_file = (
        write_conll(tmp_path / "d.conll", data)
        if fmt == "conll"
        else write_jsonl(tmp_path / "d.jsonl", data)
    )
    probs = write_probs(tmp_path / "p", data, layout)
    classes = write_classes(tmp_path / "classes.txt", data.classes)
    records = find(capsys, data_file, probs, "--classes-file", classes)
    want = expected(data)
    assert len(want) > 0
    assert records == want
    # Ranked by ascending score (ties by position).
    assert [r["score"] for r in records] == sorted(r["score"] for r in records)


@pytest.mark.parametrize("rank_by", RANKINGS)
@pytest.mark.parametrize("layout", ["npy", "npz"])
def test_rank_by(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample: Data, rank_by: str, layout: str
) -> None:
    data_file = write_conll(tmp_path / "d.conll", sample)
    probs = write_probs(tmp_path / "p", sample, layout)
    classes = ",".join(sample.classes)
    records = find(capsys, data_file, probs, "--classes", classes, "--rank-by", rank_by)
    assert records == expected(sample, rank_by)
    scores = [r["score"] for r in records]
    assert scores == sorted(scores)


@pytest.mark.parametrize(
    ("options", "kwargs"),
    [
        (["--filter-by", "both"], {"filter_by": "both"}),
        (["--filter-by", "confident_learning"], {"filter_by": "confident_learning"}),
        (["--filter-by", "predicted_neq_given"], {"filter_by": "predicted_neq_given"}),
        (["--threads", "3"], {"n_jobs": 3}),
        (["--low-memory"], {"low_memory": True}),
        (["--low-memory", "--threads", "2", "--rank-by", "normalized_margin"], None),
    ],
)
@pytest.mark.parametrize("layout", ["npy", "npz"])
def test_filter_options(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    sample: Data,
    layout: str,
    options: list[str],
    kwargs: dict[str, Any] | None,
) -> None:
    data_file = write_jsonl(tmp_path / "d.jsonl", sample)
    probs = write_probs(tmp_path / "p", sample, layout)
    records = find(capsys, data_file, probs, "--classes", ",".join(sample.classes), *options)
    if kwargs is None:  # --low-memory --threads --rank-by normalized_margin
        want = expected(sample, "normalized_margin", low_memory=True)
    else:
        want = expected(sample, **kwargs)
    assert records == want


def test_csv_equals_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, data: Data) -> None:
    data_file = write_conll(tmp_path / "d.conll", data)
    probs = write_probs(tmp_path / "p", data, "npy")
    classes = ",".join(data.classes)
    records = find(capsys, data_file, probs, "--classes", classes, "--rank-by", "normalized_margin")
    options = ["--classes", classes, "--rank-by", "normalized_margin", "--format", "csv"]
    code, out, err = find_issues(capsys, data_file, probs, *options)
    assert (code, err) == (0, "")
    rows = list(csv.reader(io.StringIO(out)))
    header = ["sentence", "token", "word", "given", "suggested", "score", "file", "line"]
    assert rows[0] == header
    assert len(rows) == len(records) + 1
    lines = data_file.read_text(encoding="utf-8").splitlines()
    for row, record in zip(rows[1:], records, strict=False):
        assert int(row[0]) == record["sentence"] and int(row[1]) == record["token"]
        assert row[2:5] == [record["word"], record["given"], record["suggested"]]
        assert float(row[5]) == record["score"]
        assert row[6] == str(data_file) and lines[int(row[7]) - 1].split()[0] == row[2]


def test_table_shows_sentence_with_token_highlighted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data: Data
) -> None:
    data_file = write_conll(tmp_path / "d.conll", data, sep=" ")
    probs = write_probs(tmp_path / "p", data, "npz")
    code, out, err = find_issues(
        capsys, data_file, probs, "--classes", ",".join(data.classes), "--top", "3"
    )
    assert (code, err) == (0, "")
    assert "\x1b[" not in out  # not a terminal: no colour
    want = expected(data)
    lines = out.splitlines()
    assert lines[0] == (
        f"{data_file}: {len(data.labels)} sentences, {sum(data.lengths)} tokens, "
        f"{len(data.classes)} classes; {len(want)} label issues found (ranked by self_confidence)"
    )
    file_lines = data_file.read_text(encoding="utf-8").splitlines()
    headings = [i for i, line in enumerate(lines) if line.startswith("#")]
    assert len(headings) == min(3, len(want))
    for rank, (i, record) in enumerate(zip(headings, want, strict=False), start=1):
        s, t = record["sentence"], record["token"]
        probs_row = data.probs[s][t]
        given = data.labels[s][t]
        location = f"{data_file}:"
        assert lines[i].startswith(f"#{rank}  sentence {s}, token {t} ({location}")
        line_number = int(lines[i].split(location)[1].split(")")[0])
        # The location is the token's own line in the file.
        assert file_lines[line_number - 1] == f"{record['word']} {record['given']}"
        assert lines[i].endswith(
            f": given {record['given']}, suggested {record['suggested']} "
            f"(p={float(probs_row.max()):.4g}), self-confidence p[given]="
            f"{float(probs_row[given]):.4g}"
        )
        words = list(data.tokens[s])
        words[t] = f"[[{words[t]}]]"
        assert lines[i + 1] == "    " + " ".join(words)
    if len(want) > 3:
        assert lines[-1] == f"... and {len(want) - 3} more (show more with --top N)"


def test_table_other_ranking_shows_its_score(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample: Data
) -> None:
    data_file = write_jsonl(tmp_path / "d.jsonl", sample)
    probs = write_probs(tmp_path / "p", sample, "npy")
    options = ["--rank-by", "confidence_weighted_entropy", "--top", "1"]
    code, out, _ = find_issues(
        capsys, data_file, probs, "--classes", ",".join(sample.classes), *options
    )
    assert code == 0
    first = expected(sample, "confidence_weighted_entropy")[0]
    heading = next(line for line in out.splitlines() if line.startswith("#1 "))
    # JSON Lines: the location is the sentence's line.
    assert f"({data_file}:{first['sentence'] + 1})" in heading
    assert heading.endswith(f", confidence_weighted_entropy score={first['score']:.4g}")


def test_table_colour_only_on_a_terminal_without_no_color(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    sample: Data,
) -> None:
    data_file = write_conll(tmp_path / "d.conll", sample)
    probs = write_probs(tmp_path / "p", sample, "npy")
    argv = [
        "find-issues",
        str(data_file),
        "--pred-probs",
        str(probs),
        "--top",
        "1",
        "--method=cleanlab",
    ]
    argv += ["--classes", ",".join(sample.classes)]
    word = expected(sample)[0]["word"]

    monkeypatch.delenv("NO_COLOR", raising=False)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert cli.main(argv) == 0
    assert f"\x1b[1;31m[[{word}]]\x1b[0m" in terminal.getvalue()

    monkeypatch.setenv("NO_COLOR", "1")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert cli.main(argv) == 0
    assert "\x1b[" not in terminal.getvalue() and f"[[{word}]]" in terminal.getvalue()

    # --output never gets colour, even from a terminal.
    monkeypatch.delenv("NO_COLOR")
    assert cli.main([*argv, "--output", str(tmp_path / "report.txt")]) == 0
    report = (tmp_path / "report.txt").read_text(encoding="utf-8")
    assert "\x1b[" not in report and f"[[{word}]]" in report


def test_top(capsys: pytest.CaptureFixture[str], tmp_path: Path, sample: Data) -> None:
    data_file = write_conll(tmp_path / "d.conll", sample)
    probs = write_probs(tmp_path / "p", sample, "npy")
    classes = ("--classes", ",".join(sample.classes))
    want = expected(sample)
    assert len(want) > 10
    assert find(capsys, data_file, probs, *classes) == want  # json: all by default
    assert find(capsys, data_file, probs, *classes, "--top", "4") == want[:4]
    assert find(capsys, data_file, probs, *classes, "--top", "0") == []
    assert find(capsys, data_file, probs, *classes, "--top", "100000") == want

    def headings(*options: str) -> int:
        code, out, _ = run(
            capsys, "find-issues", data_file, "--pred-probs", probs, *classes, *options
        )
        assert code == 0
        return sum(line.startswith("#") for line in out.splitlines())

    assert headings() == 10  # table: 10 by default
    assert headings("--top", "2") == 2
    assert headings("--top", "0") == 0


def test_classes_option_and_file_agree(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data: Data
) -> None:
    data_file = write_jsonl(tmp_path / "d.jsonl", data)
    probs = write_probs(tmp_path / "p", data, "npy")
    by_option = find(capsys, data_file, probs, "--classes", " , ".join(data.classes))
    # The file may have surrounding spaces and blank lines.
    (tmp_path / "c.txt").write_text(
        "\n" + "\n".join(f" {c} " for c in data.classes) + "\n\n", encoding="utf-8"
    )
    by_file = find(capsys, data_file, probs, "--classes-file", tmp_path / "c.txt")
    assert by_option == by_file == expected(data)


def test_classes_are_never_guessed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample: Data
) -> None:
    # The sample never uses I-product: keep the 12 used classes, as columns in order of first
    # appearance. Even when the tags of the data line up with the columns, the order is not
    # guessed: a wrong guess would make every answer wrong.
    seen: list[int] = []
    for sentence in sample.labels:
        for lab in sentence:
            if lab not in seen:
                seen.append(lab)
    assert len(seen) == 12
    order = {old: new for new, old in enumerate(seen)}
    reduced = Data(
        tokens=sample.tokens,
        labels=[[order[lab] for lab in sentence] for sentence in sample.labels],
        probs=[
            (p[:, seen] / p[:, seen].sum(axis=1, keepdims=True)).astype(np.float32)
            for p in sample.probs
        ],
        classes=[sample.classes[i] for i in seen],
    )
    data_file = write_conll(tmp_path / "d.conll", reduced)
    probs = write_probs(tmp_path / "p", reduced, "npy")
    code, out, err = find_issues(capsys, data_file, probs, "--format", "json")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert f"{probs}: which class is each of its 12 columns?" in err
    assert "--classes or --classes-file" in err
    assert ",".join(reduced.classes[:12]) in err  # the tags found, to help write --classes
    want = expected(reduced)
    assert find(capsys, data_file, probs, "--classes", ",".join(reduced.classes)) == want
    # An .npz that names its columns (as --save-pred-probs writes it) needs no --classes.
    named = tmp_path / "named.npz"
    np.savez(
        named,
        pred_probs=reduced.flat_probs,
        lengths=np.array(reduced.lengths),
        class_names=np.array(reduced.classes),
    )
    assert find(capsys, data_file, named) == want
    # ... and --classes, when given, must agree with it.
    code, _, err = find_issues(capsys, data_file, named, "--classes", "O,B-x")
    assert code == 2 and "differ from --classes" in err


def test_tag_column(capsys: pytest.CaptureFixture[str], tmp_path: Path, sample: Data) -> None:
    probs = write_probs(tmp_path / "p", sample, "npz-flat")
    classes = ("--classes", ",".join(sample.classes))
    want = expected(sample)
    # CoNLL-2003 style: token POS chunk NER; the tag is the last column by default.
    last = write_conll(
        tmp_path / "a.conll", sample, sep=" ", columns=("token", "pos", "chunk", "tag")
    )
    assert find(capsys, last, probs, *classes) == want
    assert find(capsys, last, probs, *classes, "--tag-column", "4") == want
    # The tag in column 2 with more columns after it: by number, or counted from the end.
    second = write_conll(tmp_path / "b.conll", sample, columns=("token", "tag", "pos", "chunk"))
    assert find(capsys, second, probs, *classes, "--tag-column", "2") == want
    assert find(capsys, second, probs, *classes, "--tag-column", "-3") == want


@pytest.mark.parametrize(
    "layout",
    [
        {"sep": "\t"},
        {"sep": " "},
        {"sep": "   "},
        {"sep": " \t "},
        {"sep": "\t", "newline": "\r\n", "blank": "\r\n"},
        {"sep": " ", "trailing": "\n\n\n \n"},
        {"sep": " ", "trailing": ""},  # no blank line, no newline after the last token
        {"sep": "\t", "blank": "\n\n  \n"},  # several (whitespace) lines between sentences
        {"sep": "\t", "blank": "\n-DOCSTART- O\n\n"},  # documents between sentences
        {"sep": "\t", "blank": "-DOCSTART-\tO\n"},  # a DOCSTART line alone ends a sentence
        {"sep": "\t", "docstart": False},
    ],
)
def test_conll_layouts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample: Data, layout: dict[str, Any]
) -> None:
    data_file = write_conll(tmp_path / "d.conll", sample, **layout)
    if layout.get("trailing") == "":
        text = data_file.read_bytes()
        assert not text.endswith(b"\n\n")
        data_file.write_bytes(text.rstrip(b"\n"))
    probs = write_probs(tmp_path / "p", sample, "npy")
    records = find(capsys, data_file, probs, "--classes", ",".join(sample.classes))
    assert records == expected(sample)


def test_docstart_lines_are_not_sentences(tmp_path: Path, sample: Data) -> None:
    few = Data(sample.tokens[:3], sample.labels[:3], sample.probs[:3], sample.classes)
    data_file = write_conll(tmp_path / "d.conll", few, blank="\n-DOCSTART- -X- O\n\n")
    corpus = read_conll(str(data_file))
    assert corpus.lengths.tolist() == few.lengths
    assert corpus.words(range(3)) == dict(enumerate(few.tokens))
    # Sentence lines: DOCSTART, blank, then 27 tokens, blank, DOCSTART, blank, ...
    first = 3
    second = first + few.lengths[0] + 3
    assert corpus.sentence_lines.tolist()[:2] == [first, second]


@pytest.mark.parametrize("with_classes", [True, False])
def test_integer_tags_in_jsonl(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data: Data, with_classes: bool
) -> None:
    data_file = write_jsonl(tmp_path / "d.jsonl", data, int_tags=True)
    probs = write_probs(tmp_path / "p", data, "npz")
    options = ["--classes", ",".join(data.classes)] if with_classes else []
    records = find(capsys, data_file, probs, *options)
    want = expected(data)
    if not with_classes:  # class ids stand in for the names
        for record in want:
            record["given"] = data.classes.index(record["given"])
            record["suggested"] = data.classes.index(record["suggested"])
    assert records == want


def test_custom_json_fields_and_format_override(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample: Data
) -> None:
    data_file = write_jsonl(tmp_path / "d.txt", sample, tokens_field="words", tags_field="ner_tags")
    probs = write_probs(tmp_path / "p", sample, "npy")
    options = ["--format-in", "jsonl", "--tokens-field", "words", "--tags-field", "ner_tags"]
    records = find(capsys, data_file, probs, *options, "--classes", ",".join(sample.classes))
    assert records == expected(sample)


@pytest.mark.parametrize("layout", ["npy", "npz", "npz-flat"])
def test_empty_sentences_in_jsonl_keep_their_index(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample: Data, layout: str
) -> None:
    empty = np.zeros((0, len(sample.classes)), dtype=np.float32)
    with_empty = Data(
        tokens=[[], *sample.tokens[:5], [], *sample.tokens[5:]],
        labels=[[], *sample.labels[:5], [], *sample.labels[5:]],
        probs=[empty, *sample.probs[:5], empty, *sample.probs[5:]],
        classes=sample.classes,
    )
    data_file = write_jsonl(tmp_path / "d.jsonl", with_empty)
    probs = write_probs(tmp_path / "p", with_empty, layout)
    records = find(capsys, data_file, probs, "--classes", ",".join(sample.classes))
    assert records == expected(with_empty)
    # The same tokens as without the empty sentences, whose indices count.
    shifted = [
        (s + 1 if s < 5 else s + 2, t)
        for s, t in ((r["sentence"], r["token"]) for r in expected(sample))
    ]
    assert [(r["sentence"], r["token"]) for r in records] == shifted


def test_output_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, sample: Data) -> None:
    data_file = write_conll(tmp_path / "d.conll", sample)
    probs = write_probs(tmp_path / "p", sample, "npy")
    argv = ["find-issues", data_file, "--pred-probs", probs, "--classes", ",".join(sample.classes)]
    for fmt in ("table", "json", "csv"):
        code, stdout_report, _ = run(capsys, *argv, "--format", fmt)
        assert code == 0
        target = tmp_path / f"report.{fmt}"
        code, out, err = run(capsys, *argv, "--format", fmt, "--output", target)
        assert (code, out, err) == (0, "", "")
        assert target.read_bytes() == stdout_report.encode("utf-8")


def test_non_ascii_words_round_trip(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample: Data
) -> None:
    # Give the first reported token a non-ASCII word; JSON, CSV and table keep it as it is.
    s, t = tokenclean.find_label_issues(sample.labels, sample.probs)[0]
    tokens = [list(x) for x in sample.tokens]
    tokens[s][t] = "Zürich😀"
    changed = replace(sample, tokens=tokens)
    data_file = write_conll(tmp_path / "d.conll", changed)
    probs = write_probs(tmp_path / "p", changed, "npy")
    classes = ("--classes", ",".join(sample.classes))
    assert find(capsys, data_file, probs, *classes, "--top", "1")[0]["word"] == "Zürich😀"
    code, out, _ = run(capsys, "find-issues", data_file, "--pred-probs", probs, *classes)
    assert code == 0 and "[[Zürich😀]]" in out


def test_probabilities_are_memory_mapped(tmp_path: Path, sample: Data) -> None:
    npy = write_probs(tmp_path / "p", sample, "npy")
    assert isinstance(load_pred_probs(str(npy)).flat, np.memmap)
    flat_npz = write_probs(tmp_path / "q", sample, "npz-flat")
    loaded = load_pred_probs(str(flat_npz))
    assert isinstance(loaded.flat, np.memmap)
    np.testing.assert_array_equal(loaded.flat, sample.flat_probs)
    assert loaded.lengths is not None and loaded.lengths.tolist() == sample.lengths
    # Compressed members cannot be mapped; they are read.
    compressed = tmp_path / "c.npz"
    np.savez_compressed(compressed, pred_probs=sample.flat_probs, lengths=sample.lengths)
    loaded = load_pred_probs(str(compressed))
    assert loaded.flat is not None and not isinstance(loaded.flat, np.memmap)
    np.testing.assert_array_equal(loaded.flat, sample.flat_probs)


@pytest.mark.parametrize(
    "save",
    [
        pytest.param(lambda p, d: np.save(p / "x.npy", np.asfortranarray(d.flat_probs)), id="F"),
        pytest.param(lambda p, d: np.save(p / "x.npy", d.flat_probs.astype(">f4")), id="be"),
        pytest.param(lambda p, d: np.save(p / "x.npy", d.flat_probs.astype(np.float64)), id="f8"),
        pytest.param(lambda p, d: np.savez(p / "x.npz", d.flat_probs), id="lone-array"),
        pytest.param(
            lambda p, d: np.savez_compressed(p / "x.npz", *d.probs), id="compressed-per-sentence"
        ),
        pytest.param(
            lambda p, d: np.savez(p / "x.npz", **{f"s{i:04d}": a for i, a in enumerate(d.probs)}),
            id="named-arrays",
        ),
    ],
)
def test_other_probability_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample: Data, save: Any
) -> None:
    save(tmp_path, sample)
    probs = next(tmp_path.glob("x.np*"))
    data_file = write_jsonl(tmp_path / "d.jsonl", sample)
    records = find(capsys, data_file, probs, "--classes", ",".join(sample.classes))
    saved = load_pred_probs(str(probs))
    dtype = (saved.flat if saved.flat is not None else saved.sentences[0]).dtype  # type: ignore[index]
    want = expected(
        replace(sample, probs=[p.astype(dtype.newbyteorder("=")) for p in sample.probs])
    )
    assert [(r["sentence"], r["token"], r["given"], r["suggested"]) for r in records] == [
        (r["sentence"], r["token"], r["given"], r["suggested"]) for r in want
    ]
    for got, exp in zip(records, want, strict=False):
        assert got["score"] == pytest.approx(exp["score"], rel=1e-6, abs=1e-12)


def test_progress_bar_only_on_a_terminal(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    sample: Data,
) -> None:
    data_file = write_conll(tmp_path / "d.conll", sample)  # > 4096 lines: one update
    probs = write_probs(tmp_path / "p", sample, "npz")
    argv = ["find-issues", str(data_file), "--pred-probs", str(probs), "--format", "json"]
    argv += ["--classes", ",".join(sample.classes), "--method=cleanlab"]
    monkeypatch.setattr(tokenclean.io, "PROGRESS_DELAY", 0.0)

    assert cli.main(argv) == 0
    assert capsys.readouterr().err == ""  # stderr is not a terminal

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli.main(argv) == 0
    shown = terminal.getvalue()
    assert "\rreading d.conll [" in shown and "%" in shown
    assert shown.endswith("\r")  # erased at the end
    out = capsys.readouterr().out
    assert "reading" not in out and len(out.splitlines()) == len(expected(sample))


def test_demo_and_find_issues_print_the_same_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample: Data
) -> None:
    data_file = write_conll(tmp_path / "d.conll", sample)
    probs = write_probs(tmp_path / "p", sample, "npy")
    for rank_by in RANKINGS:
        code, demo, _ = run(capsys, "demo", "--top", "4", "--rank-by", rank_by)
        assert code == 0
        code, report, _ = run(
            capsys,
            "find-issues",
            data_file,
            "--pred-probs",
            probs,
            "--top",
            "4",
            "--classes",
            ",".join(sample.classes),
            "--rank-by",
            rank_by,
        )
        assert code == 0
        # Identical but for the title and the file locations.
        assert demo.replace("WNUT-17 test sample:", f"{data_file}:") == re_strip_locations(
            report, data_file
        )


def re_strip_locations(report: str, data_file: Path) -> str:
    return re.sub(rf" \({re.escape(str(data_file))}:\d+\):", ":", report)


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "find-issues" in out and "demo" in out
    code, out, _ = run(capsys, "find-issues", "--help")
    assert code == 0
    for option in ("--pred-probs", "--classes-file", "--tag-column", "--format", "--output"):
        assert option in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("tokenclean ")


def test_console_script(tmp_path: Path, sample: Data) -> None:
    script = shutil.which("tokenclean", path=os.path.dirname(sys.executable)) or shutil.which(
        "tokenclean"
    )
    if script is None:
        pytest.skip("the tokenclean console script is not installed")
    data_file = write_conll(tmp_path / "d.conll", sample)
    probs = write_probs(tmp_path / "p", sample, "npy")
    classes = write_classes(tmp_path / "classes.txt", sample.classes)
    argv = [script, "find-issues", str(data_file), "--pred-probs", str(probs), "--method=cleanlab"]
    argv += ["--classes-file", str(classes), "--format", "json", "--top", "5"]
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert located(records, data_file) == expected(sample)[:5]
    # ...and an input error through the script: exit 2, one line.
    result = subprocess.run(
        [script, "find-issues", str(data_file), "--pred-probs", str(tmp_path / "missing.npy")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"{ERROR}{tmp_path / 'missing.npy'}: no such file\n"


# --- errors ---------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path, sample: Data) -> dict[str, Path]:
    """A good CoNLL file, JSONL file, .npy, per-sentence .npz and classes file."""
    return {
        "conll": write_conll(tmp_path / "d.conll", sample),
        "jsonl": write_jsonl(tmp_path / "d.jsonl", sample),
        "npy": write_probs(tmp_path / "p", sample, "npy"),
        "npz": write_probs(tmp_path / "q", sample, "npz"),
        "classes": write_classes(tmp_path / "classes.txt", sample.classes),
    }


def test_missing_files(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    missing = files["conll"].parent / "nope.conll"
    classes = ("--classes-file", files["classes"])
    assert_error(find_issues(capsys, missing, files["npy"], *classes), f"{missing}: no such file")
    missing = files["conll"].parent / "nope.npy"
    assert_error(find_issues(capsys, files["conll"], missing, *classes), f"{missing}: no such file")
    missing = files["conll"].parent / "nope.txt"
    assert_error(
        find_issues(capsys, files["conll"], files["npy"], "--classes-file", missing),
        f"{missing}: no such file",
    )
    folder = files["conll"].parent
    assert_error(find_issues(capsys, folder, files["npy"], *classes), f"{folder}: is a directory")
    assert_error(find_issues(capsys, files["conll"], folder, *classes), f"{folder}: is a directory")


def test_total_count_mismatch(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: dict[str, Path], sample: Data
) -> None:
    short = tmp_path / "short.npy"
    np.save(short, sample.flat_probs[:-1])
    n = sum(sample.lengths)
    assert_error(
        find_issues(capsys, files["conll"], short, "--classes-file", files["classes"]),
        f"{short}: {n - 1} rows of probabilities, but {files['conll']} has {n} tokens in 300 "
        "sentences",
    )


def test_per_sentence_mismatch_names_the_first_sentence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: dict[str, Path], sample: Data
) -> None:
    # Move a row from sentence 5 to sentence 6: the totals agree, the sentences do not.
    arrays = list(sample.probs)
    arrays[6] = np.concatenate([arrays[5][-1:], arrays[6]])
    arrays[5] = arrays[5][:-1]
    moved = tmp_path / "moved.npz"
    np.savez(moved, *arrays)
    corpus = read_conll(str(files["conll"]))
    line = int(corpus.sentence_lines[5])
    n = sum(sample.lengths)
    err = assert_error(
        find_issues(capsys, files["conll"], moved, "--classes-file", files["classes"]),
        f"{moved}: 300 arrays with {n} rows in total, but {files['conll']} has {n} tokens in "
        "300 sentences; first mismatch: sentence 5",
        f"({files['conll']}:{line}) has {sample.lengths[5]} tokens, array 'arr_5' has "
        f"{sample.lengths[5] - 1} rows",
    )
    assert files["conll"].read_text().splitlines()[line - 1].split("\t")[0] == sample.tokens[5][0]
    assert err

    # One array too few: the missing sentence is named.
    fewer = tmp_path / "fewer.npz"
    np.savez(fewer, *sample.probs[:-1])
    line = int(corpus.sentence_lines[299])
    assert_error(
        find_issues(capsys, files["conll"], fewer, "--classes-file", files["classes"]),
        f"{fewer}: 299 arrays",
        f"first mismatch: sentence 299 ({files['conll']}:{line}) has no array",
    )
    # In a JSONL file the line is the sentence's line.
    assert_error(
        find_issues(capsys, files["jsonl"], moved, "--classes-file", files["classes"]),
        f"first mismatch: sentence 5 ({files['jsonl']}:6) has",
    )


def test_flat_npz_lengths_mismatch(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: dict[str, Path], sample: Data
) -> None:
    lengths = list(sample.lengths)
    lengths[10] -= 1
    lengths[11] += 1
    bad = tmp_path / "bad.npz"
    np.savez(bad, pred_probs=sample.flat_probs, lengths=lengths)
    assert_error(
        find_issues(capsys, files["jsonl"], bad, "--classes-file", files["classes"]),
        f"{bad}: 'lengths' gives 300 sentences",
        f"first mismatch: sentence 10 ({files['jsonl']}:11) has {sample.lengths[10]} tokens, "
        f"lengths[10] is {lengths[10]}",
    )
    np.savez(bad, pred_probs=sample.flat_probs, lengths=sample.lengths[:-1])
    assert_error(
        find_issues(capsys, files["jsonl"], bad, "--classes-file", files["classes"]),
        f"{bad}: 'lengths' add up to",
    )


@pytest.mark.parametrize("fmt", ["conll", "jsonl", "int-jsonl"])
def test_tag_not_in_classes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample: Data, fmt: str
) -> None:
    labels = [list(x) for x in sample.labels]
    classes = list(sample.classes)
    if fmt == "int-jsonl":
        labels[7][3] = 13  # one past the last column
        data_file = write_jsonl(tmp_path / "d.jsonl", replace(sample, labels=labels), int_tags=True)
        probs = write_probs(tmp_path / "p", sample, "npy")
        assert_error(
            find_issues(capsys, data_file, probs),
            f"{data_file}:8: tag 13 is not a class id of {probs}, which has 13 columns",
        )
        return
    labels[7][3] = 12  # I-product, which the sample never uses ...
    changed = replace(sample, labels=labels)
    probs = write_probs(tmp_path / "p", sample, "npy")
    classes[12] = "I-prod"  # ... and is misspelt in the classes
    data_file = (
        write_conll(tmp_path / "d.conll", changed)
        if fmt == "conll"
        else write_jsonl(tmp_path / "d.jsonl", changed)
    )
    line = int(read_conll(str(data_file)).sentence_lines[7]) + 3 if fmt == "conll" else 8
    assert_error(
        find_issues(capsys, data_file, probs, "--classes", ",".join(classes)),
        f"{data_file}:{line}: tag 'I-product' is not in --classes",
    )
    classes_file = write_classes(tmp_path / "c.txt", classes)
    assert_error(
        find_issues(capsys, data_file, probs, "--classes-file", classes_file),
        f"{data_file}:{line}: tag 'I-product' is not in {classes_file}",
    )


def test_class_count_errors(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], sample: Data
) -> None:
    assert_error(
        find_issues(
            capsys, files["conll"], files["npy"], "--classes", ",".join(sample.classes[:-1])
        ),
        f"--classes gives 12 class names but {files['npy']} has 13 columns",
    )
    # Without --classes: never guessed.
    assert_error(
        find_issues(capsys, files["conll"], files["npy"]),
        f"{files['npy']}: which class is each of its 13 columns?",
        "--classes or --classes-file",
    )
    assert_error(
        find_issues(capsys, files["conll"], files["npy"], "--classes", "O,B-x,,I-x"),
        "--classes",
        "empty class name",
    )
    assert_error(
        find_issues(capsys, files["conll"], files["npy"], "--classes", "O,B-x,O"),
        "class 'O' is listed twice",
    )
    twice = files["classes"].parent / "twice.txt"
    twice.write_text("O\nB-x\n\nO\n", encoding="utf-8")
    assert_error(
        find_issues(capsys, files["conll"], files["npy"], "--classes-file", twice),
        f"{twice}:4: class 'O' is listed twice (first on line 1)",
    )
    empty = files["classes"].parent / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    assert_error(
        find_issues(capsys, files["conll"], files["npy"], "--classes-file", empty),
        f"{empty}: no class names",
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"tokens": ["a", "b"], "tags": ["O", "O"]', "malformed JSON: Expecting ',' delimiter"),
        ("not json", "malformed JSON: Expecting value (column 1)"),
        ('["a", "b"]', "expected a JSON object, found a list"),
        ('{"words": ["a"], "tags": ["O"]}', "no 'tokens' field (fields: 'words', 'tags'"),
        ('{"tokens": ["a"], "labels": ["O"]}', "no 'tags' field"),
        ('{"tokens": "a b", "tags": ["O"]}', "field 'tokens' is a string ('a b'), not a list"),
        ('{"tokens": ["a", 1], "tags": ["O", "O"]}', "token 1 is a number (1); tokens must be"),
        ('{"tokens": ["a", "b"], "tags": ["O"]}', "2 tokens in 'tokens' but 1 tags in 'tags'"),
        ('{"tokens": ["a"], "tags": [true]}', "tag 0 is a boolean"),
        ('{"tokens": ["a"], "tags": [null]}', "tag 0 is null"),
        ('{"tokens": ["a"], "tags": [1.5]}', "tag 0 is a number (1.5)"),
        ('{"tokens": ["a"], "tags": [-1]}', "tag 0 is -1; class ids start at 0"),
        ('{"tokens": ["a"], "tags": [0]}', "the tags mix integer class ids and strings"),
    ],
)
def test_bad_jsonl_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    files: dict[str, Path],
    line: str,
    message: str,
) -> None:
    lines = files["jsonl"].read_text(encoding="utf-8").splitlines()
    lines.insert(41, "")  # a blank line is skipped but still counted
    lines.insert(42, line)  # line 43
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_error(
        find_issues(capsys, bad, files["npy"], "--classes-file", files["classes"]),
        f"{bad}:43: {message}",
    )


def test_a_json_array_file_is_not_json_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: dict[str, Path]
) -> None:
    bad = tmp_path / "d.json"
    bad.write_text('[\n  {"tokens": ["a"], "tags": ["O"]}\n]\n', encoding="utf-8")
    assert_error(
        find_issues(capsys, bad, files["npy"], "--classes-file", files["classes"]),
        f"{bad}:1: malformed JSON",
        "one JSON object per line",
    )


def test_bad_conll_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: dict[str, Path]
) -> None:
    lines = files["conll"].read_text(encoding="utf-8").splitlines()
    classes = ("--classes-file", files["classes"])
    one_column = tmp_path / "one.conll"
    one_column.write_text("\n".join([*lines[:99], "lonely", *lines[99:]]) + "\n", encoding="utf-8")
    assert_error(
        find_issues(capsys, one_column, files["npy"], *classes),
        f"{one_column}:100: found 1 column; the token is in column 1 and the tag in the last "
        "column, so at least 2 are needed",
        "--tag-column",
    )
    assert_error(
        find_issues(capsys, files["conll"], files["npy"], *classes, "--tag-column", "3"),
        f"{files['conll']}:3: found 2 columns; the token is in column 1 and the tag in column 3,",
    )
    assert_error(
        find_issues(capsys, files["conll"], files["npy"], *classes, "--tag-column", "-3"),
        f"{files['conll']}:3: found 2 columns",
        "the tag in column -3 (counting from the end), so at least 3 are needed",
    )
    latin1 = tmp_path / "latin1.conll"
    latin1.write_bytes(
        "\n".join(lines[:20]).encode() + b"\nZ\xfcrich\tO\n" + "\n".join(lines[20:]).encode()
    )
    assert_error(
        find_issues(capsys, latin1, files["npy"], *classes), f"{latin1}:21: not valid UTF-8"
    )
    empty = tmp_path / "empty.conll"
    empty.write_text("-DOCSTART- O\n\n\n", encoding="utf-8")
    assert_error(find_issues(capsys, empty, files["npy"], *classes), f"{empty}: no sentences found")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d.flat_probs.ravel(), "the array has shape (56719,); expected 2-D"),
        (
            lambda d: d.flat_probs.reshape(1, 4363, 13),
            "the array has shape (1, 4363, 13); expected 2-D",
        ),
        (
            lambda d: d.flat_probs.astype(np.int64),
            "the array has dtype int64; probabilities must be float32",
        ),
        (lambda d: d.flat_probs.astype(np.float16), "the array has dtype float16"),
        (lambda d: d.flat_probs[:, :12], "has 13 distinct tags"),  # 12 columns, 13 classes
    ],
)
def test_wrong_npy_arrays(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    files: dict[str, Path],
    sample: Data,
    make: Any,
    message: str,
) -> None:
    bad = tmp_path / "bad.npy"
    np.save(bad, make(sample))
    if "distinct" in message:
        assert_error(
            find_issues(capsys, files["conll"], bad, "--classes-file", files["classes"]),
            f"{files['classes']} gives 13 class names but {bad} has 12 columns",
        )
        return
    assert_error(
        find_issues(capsys, files["conll"], bad, "--classes-file", files["classes"]),
        f"{bad}: {message}",
    )


def test_wrong_npz_arrays(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: dict[str, Path], sample: Data
) -> None:
    classes = ("--classes-file", files["classes"])
    bad = tmp_path / "bad.npz"
    arrays = list(sample.probs)
    arrays[3] = arrays[3][:, :12]
    np.savez(bad, *arrays)
    assert_error(
        find_issues(capsys, files["conll"], bad, *classes),
        f"{bad}: array 'arr_3' has shape ({sample.lengths[3]}, 12), but earlier arrays have 13 "
        "columns",
    )
    arrays = list(sample.probs)
    arrays[4] = arrays[4].ravel()
    np.savez(bad, *arrays)
    assert_error(find_issues(capsys, files["conll"], bad, *classes), "array 'arr_4' has shape")
    np.savez(bad, pred_probs=sample.flat_probs, lengths=np.ones((2, 2), dtype=np.int64))
    assert_error(find_issues(capsys, files["conll"], bad, *classes), "'lengths' has shape (2, 2)")
    np.savez(bad, pred_probs=sample.flat_probs.ravel())
    assert_error(find_issues(capsys, files["conll"], bad, *classes), "'pred_probs' has shape")
    with zipfile.ZipFile(bad, "w"):
        pass  # an empty zip
    assert_error(find_issues(capsys, files["conll"], bad, *classes), f"{bad}: ", "holds no arrays")
    not_numpy = tmp_path / "text.npy"
    not_numpy.write_text("hello\n", encoding="utf-8")
    assert_error(
        find_issues(capsys, files["conll"], not_numpy, *classes),
        f"{not_numpy}: not a numpy .npy or .npz file",
    )


@pytest.mark.parametrize("layout", ["npy", "npz", "npz-flat"])
def test_nan_probabilities(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    files: dict[str, Path],
    sample: Data,
    layout: str,
) -> None:
    probs = [p.copy() for p in sample.probs]
    probs[8][2, 5] = np.nan
    bad = write_probs(tmp_path / "nan", replace(sample, probs=probs), layout)
    assert_error(
        find_issues(capsys, files["conll"], bad, "--classes-file", files["classes"]),
        f"{bad}: pred_probs at sentence 8, token 2 holds NaN for class 5",
    )


def test_usage_errors(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    good = (files["conll"], "--pred-probs", files["npy"], "--classes-file", files["classes"])
    argvs: list[list[object]] = [
        ["find-issues"],
        ["find-issues", *good, "--folds", "0"],
        ["find-issues", *good, "--threads", "0"],
        ["find-issues", *good, "--tag-column", "0"],
        ["find-issues", *good, "--top", "-2"],
        ["find-issues", *good, "--format", "xml"],
        ["find-issues", *good, "--rank-by", "nope"],
        ["find-issues", *good, "--classes", "O"],  # with --classes-file
    ]
    for argv in argvs:
        code, out, err = run(capsys, *argv)
        assert (code, out) == (2, ""), argv
        assert "error:" in err, argv
    assert_error(
        run(capsys, "find-issues", *good, "--low-memory", "--filter-by", "both"),
        "--filter-by cannot be combined with --low-memory",
    )


def test_output_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: dict[str, Path]
) -> None:
    good: list[object] = ["find-issues", files["conll"], "--pred-probs", files["npy"]]
    good += ["--classes-file", files["classes"]]
    nowhere = tmp_path / "no" / "such" / "dir" / "out.txt"
    assert_error(run(capsys, *good, "--output", nowhere), f"{nowhere}: cannot write")
    before = files["conll"].read_bytes()
    assert_error(
        run(capsys, *good, "--output", files["conll"]),
        f"{files['conll']}: --output would overwrite an input file",
    )
    assert files["conll"].read_bytes() == before


def test_input_error_is_an_exception_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "d.conll"
    bad.write_text("a\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"^{bad}:1: found 1 column;"):
        read_conll(str(bad))
