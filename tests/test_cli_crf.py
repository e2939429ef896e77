"""``tokenclean find-issues`` from annotation files alone: the built-in CRF path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import tokenclean
from tokenclean import cli
from tokenclean.datasets import load_wnut17_sample
from tokenclean.models import cross_val_pred_probs

ERROR = "tokenclean: error: "


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_conll(path: Path, tokens: list[list[str]], tags: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for words, labels in zip(tokens, tags, strict=False):
            fh.writelines(f"{w}\t{t}\n" for w, t in zip(words, labels, strict=False))
            fh.write("\n")
    return path


@pytest.fixture(scope="module")
def corpus(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[Path], list[list[str]], list[list[str]]]:
    """A WNUT-17 slice (the bundled sample's first 90 sentences) in two CoNLL files."""
    s = load_wnut17_sample()
    tokens = s.tokens[:90]
    tags = [[s.class_names[i] for i in labels] for labels in s.labels[:90]]
    folder = tmp_path_factory.mktemp("crf")
    files = [
        write_conll(folder / "train.conll", tokens[:60], tags[:60]),
        write_conll(folder / "test.conll", tokens[60:], tags[60:]),
    ]
    return files, tokens, tags


def test_two_files_are_one_corpus_with_file_and_line(
    capsys: pytest.CaptureFixture[str],
    corpus: tuple[list[Path], list[list[str]], list[list[str]]],
    tmp_path: Path,
) -> None:
    files, tokens, tags = corpus
    saved = tmp_path / "probs.npz"
    code, out, err = run(
        capsys, "find-issues", *files, "--folds", "3", "--format", "json",
        "--save-pred-probs", saved, "--method", "cleanlab",
    )  # fmt: skip
    assert (code, err) == (0, "")
    records = [json.loads(line) for line in out.splitlines()]

    pred_probs, names = cross_val_pred_probs(tokens, tags, n_folds=3)
    labels = [[names.index(t) for t in s] for s in tags]
    want = tokenclean.find_label_issues(labels, pred_probs)
    assert [(r["sentence"], r["token"]) for r in records] == want and want
    lines = {f: f.read_text(encoding="utf-8").splitlines() for f in files}
    assert {r["file"] for r in records} == {str(f) for f in files}
    for r in records:
        assert r["given"] == tags[r["sentence"]][r["token"]]
        word, tag = lines[Path(r["file"])][r["line"] - 1].split("\t")
        assert (word, tag) == (r["word"], r["given"])
        first = 0 if r["file"] == str(files[0]) else 60
        assert (r["sentence"] >= 60) == (first == 60)

    # What --save-pred-probs wrote is what --pred-probs reads, with its class names.
    with np.load(saved) as npz:
        assert npz["class_names"].tolist() == names
        assert npz["lengths"].tolist() == [len(s) for s in tokens]
        np.testing.assert_array_equal(npz["pred_probs"], np.concatenate(pred_probs))
    code, again, err = run(
        capsys, "find-issues", *files, "--pred-probs", saved, "--format", "json",
        "--method", "cleanlab",
    )  # fmt: skip
    assert (code, err) == (0, "") and again == out


def test_output_does_not_depend_on_threads(
    capsys: pytest.CaptureFixture[str], corpus: tuple[list[Path], list[list[str]], list[list[str]]]
) -> None:
    files = corpus[0]
    outs = []
    for threads in ("1", "2"):
        code, out, err = run(capsys, "find-issues", *files, "--folds", "2", "--threads", threads)
        assert (code, err) == (0, "")
        outs.append(out)
    assert outs[0] == outs[1]
    assert "train.conll, " in outs[0] and "test.conll:" in outs[0]


@pytest.mark.parametrize(
    ("content", "options", "fragment"),
    [
        ("a\tO\nb\tB-X\n\nc\tO\n", ["--folds", "3"], "2 sentences cannot be split into --folds 3"),
        ("a\tO\n\nb\tO\n\nc\tO\n", [], "every token is tagged 'O'"),
        ("a\tO\n\nb\tX\tO\n", [], ":3: found 3 columns, but line 1 has 2"),
        ("", [], "no sentences found"),
        ("a\tO\n\nb\xff\tO\n", [], ":3: not valid UTF-8"),
    ],
)
def test_bad_corpus_is_one_line_and_leaves_output_alone(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    content: str,
    options: list[str],
    fragment: str,
) -> None:
    data = tmp_path / "d.conll"
    data.write_bytes(content.encode("utf-8", "surrogateescape").replace(b"\xc3\xbf", b"\xff"))
    output = tmp_path / "out.json"
    output.write_text("before\n")
    code, out, err = run(capsys, "find-issues", data, *options, "--output", output)
    assert (code, out) == (2, "")
    assert err.startswith(ERROR + str(data)) and err.count("\n") == 1, err
    assert fragment in err, err
    assert output.read_text() == "before\n"


def test_save_pred_probs_conflicts(
    capsys: pytest.CaptureFixture[str], corpus: tuple[list[Path], list[list[str]], list[list[str]]]
) -> None:
    files = corpus[0]
    code, _, err = run(capsys, "find-issues", files[0], "--save-pred-probs", files[0])
    assert code == 2 and "--save-pred-probs would overwrite an input file" in err
    code, _, err = run(
        capsys, "find-issues", files[0], "--pred-probs", "p.npz", "--save-pred-probs", "x.npz"
    )
    assert code == 2 and "--pred-probs gives them" in err


@pytest.mark.parametrize("fmt", ["conll", "jsonl"])
def test_sample_writes_the_bundled_sentences(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str
) -> None:
    code, out, err = run(capsys, "sample", tmp_path / "new", "--format", fmt)
    path = tmp_path / "new" / f"wnut17.{fmt}"
    assert (code, out, err) == (0, f"{path}\n", "")
    s = load_wnut17_sample()
    from tokenclean.io import read_corpus

    corpus = read_corpus(str(path))
    assert corpus.lengths.tolist() == [len(words) for words in s.tokens]
    assert corpus.words([5])[5] == s.tokens[5]
    tags = [corpus.tags[i] for i in corpus.tag_ids.tolist()]
    assert tags == [s.class_names[t] for labels in s.labels for t in labels]


def test_hugging_face_folder_gives_what_the_same_conll_gives(
    capsys: pytest.CaptureFixture[str],
    corpus: tuple[list[Path], list[list[str]], list[list[str]]],
    tmp_path: Path,
) -> None:
    datasets = pytest.importorskip("datasets")
    files, tokens, tags = corpus
    names = sorted({t for s in tags for t in s}, key=lambda t: (t != "O", t[2:], t))
    features = datasets.Features(
        {
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=names)),
        }
    )
    ids = [[names.index(t) for t in s] for s in tags]
    ds = datasets.Dataset.from_dict({"tokens": tokens, "ner_tags": ids}, features=features)
    datasets.disable_progress_bars()
    datasets.DatasetDict({"train": ds}).save_to_disk(str(tmp_path / "hf"))

    common = ["--folds", "2", "--format", "json"]
    code, out, err = run(
        capsys, "find-issues", "--hf-dataset", tmp_path / "hf", "--split", "train", *common
    )
    assert (code, err) == (0, "")
    from_hf = [json.loads(line) for line in out.splitlines()]
    code, out, err = run(capsys, "find-issues", *files, *common, "--classes", ",".join(names))
    assert (code, err) == (0, "")
    from_conll = [json.loads(line) for line in out.splitlines()]
    assert from_hf and len(from_hf) == len(from_conll)
    for a, b in zip(from_hf, from_conll, strict=False):
        assert a.pop("file") == f"{tmp_path / 'hf'}[train]" and a.pop("line") == a["sentence"]
        del b["file"], b["line"]
        assert a == b

    code, _, err = run(capsys, "find-issues", "--hf-dataset", tmp_path / "hf", "--split", "x")
    assert code == 2 and "no split 'x'" in err and "train" in err and err.count("\n") == 1
    code, _, err = run(capsys, "find-issues", *files, "--hf-dataset", tmp_path / "hf")
    assert code == 2 and "not both or neither" in err


def test_combined_is_the_default_and_ranks_by_the_detector(
    capsys: pytest.CaptureFixture[str],
    corpus: tuple[list[Path], list[list[str]], list[list[str]]],
    tmp_path: Path,
) -> None:
    from tokenclean.detect import combined_scores
    from tokenclean.ngrams import word_ids

    files, tokens, tags = corpus
    saved = tmp_path / "probs.npz"
    code, out, err = run(
        capsys, "find-issues", *files, "--folds", "3", "--format", "json",
        "--save-pred-probs", saved,
    )  # fmt: skip
    assert (code, err) == (0, "")
    records = [json.loads(line) for line in out.splitlines()]
    with np.load(saved) as npz:
        names = npz["class_names"].tolist()
        flat = npz["pred_probs"]
    labels = np.array([names.index(t) for s in tags for t in s])
    ids, lengths = word_ids(tokens)
    found = combined_scores(labels, flat, lengths, ids)
    starts = np.cumsum([0, *lengths.tolist()])
    got = [starts[r["sentence"]] + r["token"] for r in records]
    assert got == found.flagged.tolist() and got
    scores = [r["score"] for r in records]
    assert scores == sorted(scores)
    for r in records:
        i = starts[r["sentence"]] + r["token"]
        assert r["suggested"] == names[found.suggested[i]] != r["given"]
        assert r["score"] == found.quality[i]
    code, table, _ = run(capsys, "find-issues", *files, "--pred-probs", saved, "--top", "1")
    assert code == 0 and "(ranked by the combined detector)" in table and "score=" in table


def test_span_level_records_are_find_span_issues(
    capsys: pytest.CaptureFixture[str],
    corpus: tuple[list[Path], list[list[str]], list[list[str]]],
    tmp_path: Path,
) -> None:
    from tokenclean.spans import find_span_issues

    files, tokens, tags = corpus
    saved = tmp_path / "probs.npz"
    args = ["find-issues", *files, "--folds", "3", "--level", "span", "--method", "cleanlab"]
    code, out, err = run(capsys, *args, "--format", "json", "--save-pred-probs", saved)
    assert (code, err) == (0, "")
    records = [json.loads(line) for line in out.splitlines()]
    with np.load(saved) as npz:
        names = npz["class_names"].tolist()
        flat = npz["pred_probs"]
    labels = np.array([names.index(t) for s in tags for t in s])
    want = find_span_issues(labels, flat, names, lengths=[len(s) for s in tags])
    assert len(records) == len(want) > 0
    lines = {str(f): f.read_text(encoding="utf-8").splitlines() for f in files}
    covered: set[tuple[int, int]] = set()
    for got, exp in zip(records, want, strict=False):
        s, a, b = got["sentence"], got["start"], got["end"]
        assert got["words"] == tokens[s][a:b]
        assert lines[got["file"]][got["line"] - 1].split("\t")[0] == tokens[s][a]
        assert got["given_tags"] == tags[s][a:b]
        for key in ("kind", "start", "end", "given", "suggested", "score", "tokens"):
            assert got[key] == exp[key]
        span = {(s, t) for t in range(a, b)}
        assert not span & covered  # no token in two issues
        covered |= span
    code, table, _ = run(
        capsys, "find-issues", *files, "--pred-probs", saved, "--level", "span",
        "--method", "cleanlab", "--top", "1",
    )  # fmt: skip
    first = records[0]
    assert code == 0 and f"{first['kind']}: sentence {first['sentence']}" in table


def test_several_pred_probs_are_an_ensemble(
    capsys: pytest.CaptureFixture[str],
    corpus: tuple[list[Path], list[list[str]], list[list[str]]],
    tmp_path: Path,
) -> None:
    files = corpus[0]
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    base = ["find-issues", *files, "--folds", "2", "--format", "json"]
    assert run(capsys, *base, "--save-pred-probs", a)[0] == 0
    assert run(capsys, *base, "--seed", "3", "--save-pred-probs", b)[0] == 0
    with np.load(a) as za, np.load(b) as zb:
        mean = (za["pred_probs"].astype(np.float64) + zb["pred_probs"]) / 2
        names, lengths = za["class_names"], za["lengths"]
    np.savez(tmp_path / "mean.npz", pred_probs=mean, lengths=lengths, class_names=names)
    outs = [
        run(capsys, *base, "--pred-probs", a, "--pred-probs", b),
        run(capsys, *base, "--pred-probs", tmp_path / "mean.npz"),
        run(capsys, *base, "--ensemble", "2", "--seed", "0"),
    ]
    assert all(code == 0 and err == "" for code, _, err in outs)
    assert outs[0][1] == outs[1][1] and outs[0][1]
    # --ensemble 2 trains seeds 0 and 1 (not 3): another ensemble, the same kind of output.
    assert outs[2][1] != outs[0][1] and outs[2][1].count("\n") > 0
    single = run(capsys, *base, "--pred-probs", a)[1]
    assert run(capsys, *base, "--pred-probs", a, "--pred-probs", a)[1] == single
