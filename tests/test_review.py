"""Review and fix: ``tokenclean report``, ``apply``, ``export`` and ``import-corrections``.

``apply`` is checked byte for byte: the corrected file differs from the original only on the
corrected lines, and on those only in the tag. The Label Studio and doccano files are written
as those tools export them (Label Studio's JSON export of tasks with ``annotations`` whose
``result`` holds ``labels`` regions; doccano's JSONL with ``label: [[start, end, "TAG"]]``).
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tokenclean import cli
from tokenclean.corrections import (
    Correction,
    apply_corrections,
    load_corrections,
    write_corrections,
)
from tokenclean.datasets import load_wnut17_sample
from tokenclean.io import InputError, read_corpus
from tokenclean.labelstudio import read_doccano, read_label_studio
from tokenclean.review import build_page, load_dataset, resolve_issues

ERROR = "tokenclean: error: "


def run(*argv: str) -> int:
    return cli.main([str(a) for a in argv])


def changed_lines(before: bytes, after: bytes) -> dict[int, tuple[bytes, bytes]]:
    """1-based line number -> (old line, new line), for lines that differ."""
    a, b = before.split(b"\n"), after.split(b"\n")
    assert len(a) == len(b), "apply must never add or remove lines"
    return {i + 1: (x, y) for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y}


# --- apply: CoNLL ---------------------------------------------------------------------------

# Tabs, runs of spaces, CRLF endings, a BOM, -DOCSTART-, four columns, trailing spaces, and no
# newline at the end: all must survive byte for byte.
CONLL = (
    "\ufeff-DOCSTART- -X- -X- O\r\n"
    "\r\n"
    "EU NNP B-NP B-ORG\r\n"
    "rejects VBZ B-VP O\r\n"
    "German  JJ   B-NP   B-MISC  \r\n"
    "call NN I-NP O\r\n"
    "\r\n"
    "Peter\tNNP\tB-NP\tB-PER\n"
    "Blackburn\tNNP\tI-NP\tI-PER\n"
    "Smith\tNNP\tI-NP\tI-PER\n"
    "\n"
    "BRUSSELS NNP B-NP B-LOC"
).encode("utf-8")


@pytest.fixture
def conll(tmp_path: Path) -> Path:
    path = tmp_path / "data.conll"
    path.write_bytes(CONLL)
    return path


def corrections_file(tmp_path: Path, items: list[dict[str, Any]]) -> Path:
    path = tmp_path / "corrections.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


def test_apply_conll_changes_only_the_tag_bytes(
    tmp_path: Path, conll: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixes = corrections_file(
        tmp_path,
        [
            {
                "file": str(conll),
                "line": 5,
                "old_tag": "B-MISC",
                "new_tag": "B-LOC",
                "word": "German",
            },
            {"file": str(conll), "line": 4, "old_tag": "O", "new_tag": "B-ORG"},
            {"file": str(conll), "line": 12, "old_tag": "B-LOC", "new_tag": "O"},
        ],
    )
    out = tmp_path / "fixed.conll"
    assert run("apply", conll, "--corrections", fixes, "-o", out) == 0
    assert capsys.readouterr().err == ""
    diff = changed_lines(CONLL, out.read_bytes())
    assert diff == {
        4: (b"rejects VBZ B-VP O\r", b"rejects VBZ B-VP B-ORG\r"),
        5: (b"German  JJ   B-NP   B-MISC  \r", b"German  JJ   B-NP   B-LOC  \r"),
        12: (b"BRUSSELS NNP B-NP B-LOC", b"BRUSSELS NNP B-NP O"),
    }
    assert conll.read_bytes() == CONLL  # the input is untouched
    tags = read_corpus(str(out)).tags
    assert "B-MISC" not in tags


def test_apply_bom_line_and_tab_columns(tmp_path: Path) -> None:
    data = "\ufeffJohn\tB-PER\nruns\tO\n".encode()
    path = tmp_path / "bom.conll"
    path.write_bytes(data)
    fix = [Correction(str(path), 1, "B-PER", "O")]
    new, changes, skipped = apply_corrections(str(path), fix)
    assert new == "\ufeffJohn\tO\nruns\tO\n".encode()
    assert [(c.line, c.old_tag, c.new_tag) for c in changes] == [(1, "B-PER", "O")]
    assert skipped == []


def test_apply_tag_column_option(tmp_path: Path) -> None:
    data = b"EU NNP B-ORG x\nrejects VBZ O x\n"
    path = tmp_path / "cols.conll"
    path.write_bytes(data)
    new, _, _ = apply_corrections(str(path), [Correction(str(path), 2, "O", "B-ORG")], tag_column=3)
    assert new == b"EU NNP B-ORG x\nrejects VBZ B-ORG x\n"


# --- apply: IOB2 repair ---------------------------------------------------------------------


def test_iob2_repair_promotes_the_next_inside_tag(
    tmp_path: Path, conll: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # B-PER I-PER I-PER; B-PER -> O leaves "Blackburn Smith" an entity of its own.
    fixes = corrections_file(
        tmp_path, [{"file": "data.conll", "line": 8, "old_tag": "B-PER", "new_tag": "O"}]
    )
    out = tmp_path / "fixed.conll"
    assert run("apply", conll, "--corrections", fixes, "-o", out, "-v") == 0
    diff = changed_lines(CONLL, out.read_bytes())
    assert diff == {
        8: (b"Peter\tNNP\tB-NP\tB-PER", b"Peter\tNNP\tB-NP\tO"),
        9: (b"Blackburn\tNNP\tI-NP\tI-PER", b"Blackburn\tNNP\tI-NP\tB-PER"),
    }
    err = capsys.readouterr().err
    assert f"{conll}:9: I-PER -> B-PER (IOB2 repair)" in err
    assert f"{conll}:8: B-PER -> O\n" in err


def test_iob2_repair_in_the_middle_and_not_when_disabled(tmp_path: Path, conll: Path) -> None:
    fix = [Correction("data.conll", 9, "I-PER", "O")]
    new, changes, _ = apply_corrections(str(conll), fix)
    assert [(c.line, c.new_tag, c.repair) for c in changes] == [
        (9, "O", False),
        (10, "B-PER", True),
    ]
    new, changes, _ = apply_corrections(str(conll), fix, repair=False)
    assert [(c.line, c.new_tag) for c in changes] == [(9, "O")]
    assert list(changed_lines(CONLL, new)) == [9]
    # A type change leaves the next I- tag invalid: it starts an entity of the old type.
    _, changes, _ = apply_corrections(str(conll), [Correction("x", 8, "B-PER", "B-ORG")])
    assert [(c.line, c.new_tag) for c in changes] == [(8, "B-ORG"), (9, "B-PER")]
    # Nothing to repair when the next tag is corrected too.
    both = [Correction("x", 8, "B-PER", "O"), Correction("x", 9, "I-PER", "O")]
    _, changes, _ = apply_corrections(str(conll), both)
    assert [(c.line, c.new_tag) for c in changes] == [(8, "O"), (9, "O"), (10, "B-PER")]


def test_no_repair_outside_iob2(tmp_path: Path) -> None:
    path = tmp_path / "pos.conll"
    path.write_bytes(b"a DT\nI-thing NN\n")  # tags DT, NN: not IOB2
    new, changes, _ = apply_corrections(str(path), [Correction("x", 1, "DT", "NN")])
    assert new == b"a NN\nI-thing NN\n"
    assert len(changes) == 1


# --- apply: JSON Lines ----------------------------------------------------------------------

JSONL = (
    '{"id": 7, "tokens": ["Peter", "Blackburn", "</script>"],  "tags" : ["B-PER","I-PER", "O"]}\n'
    "\n"
    '{"tags": ["O", "B-LOC"], "tokens": ["in", "Zürich"], "note": {"tags": ["x"]}}\r\n'
)


def test_apply_jsonl_changes_one_list_item(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(JSONL.encode())
    fixes = corrections_file(
        tmp_path,
        [
            {"file": "data.jsonl", "line": 3, "token": 1, "old_tag": "B-LOC", "new_tag": "B-ORG"},
            {"file": "data.jsonl", "line": 1, "token": 0, "old_tag": "B-PER", "new_tag": "O"},
        ],
    )
    out = tmp_path / "fixed.jsonl"
    assert run("apply", path, "--corrections", fixes, "-o", out, "--classes", "B-ORG") == 0
    before = JSONL.encode().split(b"\n")
    expected = [
        before[0].replace(b'["B-PER","I-PER", "O"]', b'["O","B-PER", "O"]'),
        before[2].replace(b'["O", "B-LOC"]', b'["O", "B-ORG"]'),
    ]
    diff = changed_lines(JSONL.encode(), out.read_bytes())
    assert diff == {1: (before[0], expected[0]), 3: (before[2], expected[1])}
    assert expected[0] != before[0] and expected[1] != before[2]


def test_apply_jsonl_integer_tags(tmp_path: Path) -> None:
    path = tmp_path / "ids.jsonl"
    path.write_bytes(b'{"tokens": ["a", "b"], "tags": [0, 2]}\n')
    new, _, _ = apply_corrections(str(path), [Correction("ids.jsonl", 1, 2, 0, token=1)])
    assert new == b'{"tokens": ["a", "b"], "tags": [0, 0]}\n'
    with pytest.raises(InputError, match="'token' is needed"):
        apply_corrections(str(path), [Correction("ids.jsonl", 1, 2, 0)])


# --- apply: refusals ------------------------------------------------------------------------


def test_stale_correction_is_refused_and_nothing_is_written(
    tmp_path: Path, conll: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixes = corrections_file(
        tmp_path,
        [
            {"file": "data.conll", "line": 3, "old_tag": "B-ORG", "new_tag": "O"},
            {"file": "data.conll", "line": 4, "old_tag": "B-MISC", "new_tag": "O"},
        ],
    )
    out = tmp_path / "fixed.conll"
    out.write_bytes(b"previous content")
    assert run("apply", conll, "--corrections", fixes, "-o", out) == 2
    err = capsys.readouterr().err
    assert err.startswith(ERROR) and err.count("\n") == 1
    assert f"correction 2: {conll}:4: the tag is 'O', not 'B-MISC'" in err
    assert out.read_bytes() == b"previous content"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]

    assert run("apply", conll, "--corrections", fixes, "-o", out, "--skip-stale") == 0
    err = capsys.readouterr().err
    assert "skipped" in err and "data.conll:4" in err and "B-MISC" in err
    assert list(changed_lines(CONLL, out.read_bytes())) == [3]


def test_word_mismatch_is_stale(tmp_path: Path, conll: Path) -> None:
    fix = [Correction("data.conll", 3, "B-ORG", "O", word="UN")]
    with pytest.raises(InputError, match=r"data.conll:3: the word is 'EU', not 'UN'"):
        apply_corrections(str(conll), fix)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"line": 99, "old_tag": "O", "new_tag": "O"}, r":99: no such line"),
        ({"line": 2, "old_tag": "O", "new_tag": "O"}, r":2: no token on this line"),
        ({"line": 3, "old_tag": "B-ORG", "new_tag": "B-XYZ"}, r"new tag 'B-XYZ' is not a tag"),
        ({"line": 3, "old_tag": "B-ORG"}, r"no 'new_tag' field"),
        ({"line": 0, "old_tag": "B-ORG", "new_tag": "O"}, r"'line' must be an integer >= 1"),
        ({"line": 3, "old_tag": " O", "new_tag": "O"}, r"'old_tag' must be a tag name"),
    ],
)
def test_bad_corrections(
    tmp_path: Path,
    conll: Path,
    capsys: pytest.CaptureFixture[str],
    item: dict[str, Any],
    message: str,
) -> None:
    fixes = corrections_file(tmp_path, [dict(item, file="data.conll")])
    assert run("apply", conll, "--corrections", fixes, "-o", tmp_path / "out.conll") == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert "correction 1" in err
    assert not (tmp_path / "out.conll").exists()


def test_new_tags_allowed_with_classes(tmp_path: Path, conll: Path) -> None:
    fixes = corrections_file(
        tmp_path, [{"file": "data.conll", "line": 3, "old_tag": "B-ORG", "new_tag": "B-XYZ"}]
    )
    out = tmp_path / "out.conll"
    assert run("apply", conll, "--corrections", fixes, "-o", out, "--classes", "B-XYZ,I-XYZ") == 0
    assert changed_lines(CONLL, out.read_bytes())[3][1] == b"EU NNP B-NP B-XYZ\r"


def test_conflicting_corrections(tmp_path: Path, conll: Path) -> None:
    fix = [
        Correction("data.conll", 3, "B-ORG", "O", where="c1"),
        Correction("x", 3, "B-ORG", "B-LOC", where="c2"),
    ]
    with pytest.raises(InputError, match=r"c2: .*conflicts with c1"):
        apply_corrections(str(conll), fix)


def test_unknown_file_and_output_rules(
    tmp_path: Path, conll: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixes = corrections_file(
        tmp_path, [{"file": "other.conll", "line": 3, "old_tag": "B-ORG", "new_tag": "O"}]
    )
    assert run("apply", conll, "--corrections", fixes, "-o", tmp_path / "o.conll") == 2
    assert "other.conll is not among the data files" in capsys.readouterr().err
    good = corrections_file(
        tmp_path, [{"file": "data.conll", "line": 3, "old_tag": "B-ORG", "new_tag": "O"}]
    )
    assert run("apply", conll, "--corrections", good) == 2
    assert "--output FILE, --output-dir DIR or --in-place" in capsys.readouterr().err
    assert run("apply", conll, "--corrections", good, "-o", conll) == 2
    assert "use --in-place" in capsys.readouterr().err
    mode = os.stat(conll).st_mode
    assert run("apply", conll, "--corrections", good, "--in-place") == 0
    assert list(changed_lines(CONLL, conll.read_bytes())) == [3]
    assert os.stat(conll).st_mode == mode


def test_corrections_file_round_trip(tmp_path: Path) -> None:
    items = [
        Correction("a.conll", 3, "B-ORG", "O", word="EU", extra={"who": "ana", "when": "now"}),
        Correction("b.jsonl", 1, 2, 0, token=1),
    ]
    path = tmp_path / "c.json"
    write_corrections(str(path), items)
    loaded = load_corrections(str(path))
    assert loaded == items
    assert loaded[0].extra == {"who": "ana", "when": "now"}
    assert json.loads(path.read_text())[1] == {
        "file": "b.jsonl",
        "line": 1,
        "token": 1,
        "old_tag": 2,
        "new_tag": 0,
    }


# --- report ---------------------------------------------------------------------------------


def test_report_page_is_self_contained_and_escaped(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(JSONL.encode())
    issues = tmp_path / "issues.jsonl"
    issues.write_text(
        json.dumps({"sentence": 0, "token": 2, "given": "O", "suggested": "B-PER", "score": 0.1})
        + "\n"
        + json.dumps(
            {
                "kind": "span",
                "sentence": 1,
                "start": 1,
                "end": 2,
                "given": "LOC",
                "suggested": "ORG",
                "score": 0.2,
                "file": str(path),
                "line": 3,
            }
        )
        + "\n"
    )
    out = tmp_path / "review.html"
    assert run("report", path, "--issues", issues, "-o", out, "--title", "<Review>") == 0
    page = out.read_text(encoding="utf-8")
    assert "default-src 'none'; script-src 'unsafe-inline'" in page
    assert "<title>&lt;Review&gt;</title>" in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    marker = '<script type="application/json" id="tokenclean-data">'
    start = page.index(marker) + len(marker)
    block = page[start : page.index("</script>", start)]
    assert "<" not in block  # "</script>" in the data cannot end the element
    data = json.loads(block)
    assert data["sentences"]["0"][2][2] == "</script>"
    assert data["issues"][0][:6] == ["token", 0, 2, 3, "O", "B-PER"]
    assert data["issues"][1][:6] == ["span", 1, 1, 2, "LOC", "ORG"]
    assert data["formats"] == ["jsonl"]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"sentence": 9, "token": 0}, "sentence 9 does not exist"),
        ({"sentence": 0, "token": 5}, "token 5 of sentence 0 does not exist"),
        ({"sentence": 0, "token": 0, "given": "O"}, "data.conll:3 has tag 'B-ORG', not 'O'"),
        ({"sentence": 0, "token": 0, "word": "UN"}, "has the word 'EU', not 'UN'"),
        ({"sentence": 0, "token": 0, "file": "x.conll"}, "sentence 0 is in .*data.conll"),
        ({"sentence": -1, "token": 0}, "'sentence' must be an integer >= 0"),
        ({"sentence": 0, "token": 1, "line": 3}, "is on .*data.conll:4, but the issue says line 3"),
    ],
)
def test_report_refuses_issues_that_do_not_fit(
    tmp_path: Path,
    conll: Path,
    capsys: pytest.CaptureFixture[str],
    record: dict[str, Any],
    message: str,
) -> None:
    issues = tmp_path / "issues.jsonl"
    issues.write_text(json.dumps(record) + "\n")
    assert run("report", conll, "--issues", issues, "-o", tmp_path / "r.html") == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert "issues.jsonl:1" in err


def test_sentences_count_across_files(tmp_path: Path, conll: Path) -> None:
    second = tmp_path / "more.conll"
    second.write_bytes(b"Anna B-PER\nsings O\n")
    dataset = load_dataset([str(conll), str(second)])
    # The second file numbers its tags B-PER, O; the review reads them through the joint list.
    assert dataset.locate(3) == (1, 0)
    assert dataset.sentence_tags(3) == ["B-PER", "O"]
    assert dataset.sentence_tags(1) == ["B-PER", "I-PER", "I-PER"]
    issues = resolve_issues(
        dataset, [("i:1", {"sentence": 3, "token": 0, "given": "B-PER", "suggested": "O"})]
    )
    assert (issues[0].file, issues[0].line) == (1, 1)
    page = build_page(dataset, issues, title="t")
    assert '"files":["' + str(conll) + '","' + str(second) + '"]' in page


# --- Label Studio and doccano ---------------------------------------------------------------


@pytest.fixture
def sample(tmp_path: Path) -> tuple[Path, Path]:
    """The bundled WNUT-17 sample as CoNLL, and find-issues' JSON for it."""
    s = load_wnut17_sample()
    data = tmp_path / "wnut17.conll"
    with open(data, "w", encoding="utf-8") as f:
        for words, tags in zip(s.tokens, s.labels, strict=False):
            f.writelines(f"{w}\t{s.class_names[t]}\n" for w, t in zip(words, tags, strict=False))
            f.write("\n")
    np.save(tmp_path / "pred_probs.npy", np.concatenate(s.pred_probs))
    (tmp_path / "classes.txt").write_text("\n".join(s.class_names) + "\n")
    issues = tmp_path / "issues.jsonl"
    assert (
        run(
            "find-issues",
            data,
            "--pred-probs",
            tmp_path / "pred_probs.npy",
            "--classes-file",
            tmp_path / "classes.txt",
            "--format",
            "json",
            "--method",
            "cleanlab",
            "-o",
            issues,
        )
        == 0
    )
    return data, issues


def as_label_studio_export(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What Label Studio's JSON export gives for imported tasks nobody changed."""
    out = []
    for n, task in enumerate(tasks, start=1):
        task = copy.deepcopy(task)
        task["id"] = n
        for k, ann in enumerate(task["annotations"], start=1):
            ann.update(
                id=1000 + n * 10 + k,
                completed_by=1,
                was_cancelled=False,
                created_at="2026-12-01T10:00:00.000000Z",
                updated_at="2026-12-01T10:00:00.000000Z",
                lead_time=1.5,
                task=n,
            )
            for item in ann["result"]:
                item["origin"] = "manual"
        task.update(project=1, created_at="2026-12-01T09:00:00Z", updated_at="2026-12-01T10:00:00Z")
        out.append(task)
    return out


def region(text: str, start: int, end: int, label: str, rid: str) -> dict[str, Any]:
    return {
        "id": rid,
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "origin": "manual",
        "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]},
    }


def test_label_studio_round_trip(
    tmp_path: Path, sample: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    data, issues = sample
    tasks_path = tmp_path / "tasks.json"
    config = tmp_path / "config.xml"
    assert (
        run(
            "export",
            "--to",
            "label-studio",
            data,
            "--issues",
            issues,
            "-o",
            tasks_path,
            "--config",
            config,
        )
        == 0
    )
    tasks = json.loads(tasks_path.read_text(encoding="utf-8"))
    records = [json.loads(line) for line in issues.read_text().splitlines()]
    assert len(tasks) == len({r["sentence"] for r in records})
    assert '<Label value="location"/>' in config.read_text()
    for task in tasks:
        text = task["data"]["text"]
        meta = task["data"]["tokenclean"]
        assert [text[a:b] for a, b in meta["tokens"]] == text.split(" ")
        for item in task["annotations"][0]["result"] + task["predictions"][0]["result"]:
            v = item["value"]
            assert (item["type"], item["from_name"], item["to_name"]) == ("labels", "label", "text")
            assert text[v["start"] : v["end"]] == v["text"] and len(v["labels"]) == 1
        assert isinstance(task["predictions"][0]["score"], float)

    # Untouched tasks give no corrections.
    export = tmp_path / "export.json"
    exported = as_label_studio_export(tasks)
    export.write_text(json.dumps(exported))
    assert read_label_studio(str(export)) == []

    # Sentence 138 of the sample: "* [ Stew ' s Self Service Garage ] ...", where "s" is
    # I-location after O. The reviewer makes "Stew ' s Self Service Garage" one
    # corporation, a second reviewer annotation is cancelled, and another task loses a region.
    task = next(t for t in exported if t["data"]["tokenclean"]["sentence"] == 138)
    text = task["data"]["text"]
    start = text.index("Stew")
    end = text.index("Garage") + len("Garage")
    task["annotations"][0]["result"] = [region(text, start, end, "corporation", "r1")]
    task["annotations"][0]["completed_by"] = {"id": 3, "email": "ana@example.org"}
    task["annotations"][0]["updated_at"] = "2026-12-02T08:00:00.000000Z"
    task["annotations"].append(dict(task["annotations"][0], id=9, was_cancelled=True, result=[]))
    other = next(t for t in exported if t["annotations"][0]["result"] and t is not task)
    removed = other["annotations"][0]["result"].pop(0)
    export.write_text(json.dumps(exported))

    corrections = tmp_path / "corrections.json"
    assert run("import-corrections", export, "-o", corrections) == 0
    fixes = json.loads(corrections.read_text())
    first = task["data"]["tokenclean"]
    mine = [c for c in fixes if c["sentence"] == 138]
    words = text.split(" ")
    t0, t1 = words.index("Stew"), words.index("Garage")
    assert [c["line"] - first["line"] for c in mine] == [
        t
        for t in range(t0, t1 + 1)
        if (["B-corporation"] + ["I-corporation"] * (t1 - t0))[t - t0] != first["tags"][t]
    ]
    assert all(c["who"] == "ana@example.org" and c["when"].startswith("2026-12-02") for c in mine)
    gone = [c for c in fixes if c["sentence"] == other["data"]["tokenclean"]["sentence"]]
    assert {c["new_tag"] for c in gone} == {"O"} and gone[0]["word"] == removed["value"][
        "text"
    ].split(" ")[0]

    fixed = tmp_path / "fixed.conll"
    assert run("apply", data, "--corrections", corrections, "-o", fixed) == 0
    assert capsys.readouterr().err == ""
    after = read_corpus(str(fixed))
    tags = [after.tags[i] for i in after.tag_ids.tolist()]
    lo = int(after.lengths[:138].sum())
    assert tags[lo + t0 : lo + t1 + 1] == ["B-corporation"] + ["I-corporation"] * (t1 - t0)
    diff = changed_lines(data.read_bytes(), fixed.read_bytes())
    assert len(diff) == len(fixes)
    for old, new in diff.values():
        assert old.split(b"\t")[0] == new.split(b"\t")[0]


def test_label_studio_bad_regions(tmp_path: Path, sample: tuple[Path, Path]) -> None:
    data, issues = sample
    tasks_path = tmp_path / "tasks.json"
    assert run("export", "--to", "label-studio", data, "--issues", issues, "-o", tasks_path) == 0
    exported = as_label_studio_export(json.loads(tasks_path.read_text()))
    task = exported[0]
    text = task["data"]["text"]
    export = tmp_path / "export.json"

    tokens = task["data"]["tokenclean"]["tokens"]
    task["annotations"][0]["result"] = [
        region(text, tokens[0][0], tokens[2][1], "person", "a"),
        region(text, tokens[2][0], tokens[3][1], "group", "b"),
    ]
    export.write_text(json.dumps(exported))
    with pytest.raises(
        InputError,
        match=r"task 1: regions 'person' \(tokens 0-2\) and 'group' \(tokens 2-3\) overlap",
    ):
        read_label_studio(str(export))

    a, b = next((a, b) for a, b in tokens if b - a > 1)
    task["annotations"][0]["result"] = [region(text, a, b - 1, "person", "a")]
    export.write_text(json.dumps(exported))
    with pytest.raises(InputError, match=rf"task 1: region {a}-{b - 1} .* cuts a token"):
        read_label_studio(str(export))

    del task["data"]["tokenclean"]
    export.write_text(json.dumps(exported))
    with pytest.raises(InputError, match=r"task 1: no 'tokenclean' data"):
        read_label_studio(str(export))


def test_doccano_round_trip(tmp_path: Path, sample: tuple[Path, Path]) -> None:
    data, issues = sample
    out = tmp_path / "doccano.jsonl"
    assert run("export", "--to", "doccano", data, "--issues", issues, "-o", out) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    for rec in lines:
        assert set(rec) == {"text", "label", "tokenclean"}
        for start, end, label in rec["label"]:
            assert rec["text"][start:end].strip() == rec["text"][start:end] and label
    # doccano's export: an id, the labels, and the extra fields as metadata.
    exported = []
    for n, rec in enumerate(lines, start=1):
        exported.append(
            {
                "id": n,
                "text": rec["text"],
                "label": rec["label"],
                "meta": {"tokenclean": rec["tokenclean"]},
                "Comments": [],
            }
        )
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in exported) + "\n")
    assert read_doccano(str(path)) == []

    # Accept every suggestion: the labels become tokenclean's suggested regions.
    for rec in exported:
        rec["label"] = rec["meta"]["tokenclean"]["suggested"]
    path.write_text("\n".join(json.dumps(r) for r in exported) + "\n")
    corrections = tmp_path / "c.json"
    assert run("import-corrections", path, "--from", "doccano", "-o", corrections) == 0
    fixes = json.loads(corrections.read_text())
    records = [json.loads(line) for line in issues.read_text().splitlines()]
    flagged = {(r["sentence"], r["token"]): r for r in records}
    assert fixes
    for c in fixes:
        t = c["line"] - next(
            r["tokenclean"]["line"] for r in lines if r["tokenclean"]["sentence"] == c["sentence"]
        )
        issue = flagged.get((c["sentence"], t))
        if issue is not None:  # otherwise a neighbouring tag the entity encoding implies
            assert c["old_tag"] == issue["given"]
    fixed = tmp_path / "fixed.conll"
    assert run("apply", data, "--corrections", corrections, "-o", fixed) == 0

    # The newer export format: entities with start_offset/end_offset, and a bad region.
    rec = exported[0]
    rec.pop("label")
    text = rec["text"]
    rec["entities"] = [{"id": 1, "start_offset": 0, "end_offset": len(text) + 5, "label": "x"}]
    path.write_text(json.dumps(rec) + "\n")
    with pytest.raises(InputError, match=r"export.jsonl:1 \(task 1\): region .* outside the text"):
        read_doccano(str(path))
    tokens = rec["meta"]["tokenclean"]["tokens"]
    rec["entities"][0]["end_offset"] = tokens[1][0]  # a trailing space is fine ...
    path.write_text(json.dumps(rec) + "\n")
    assert read_doccano(str(path))[0].new_tag == "B-x"
    b = next(b for a, b in tokens if b - a > 1)
    rec["entities"][0]["end_offset"] = b - 1  # ... ending inside a word is not
    path.write_text(json.dumps(rec) + "\n")
    with pytest.raises(InputError, match=r"export.jsonl:1 \(task 1\): region .* cuts a token"):
        read_doccano(str(path))


def test_apply_several_files_all_or_nothing(
    tmp_path: Path, conll: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    second = tmp_path / "more.jsonl"
    second.write_bytes(b'{"tokens": ["Anna", "sings"], "tags": ["B-PER", "O"]}\n')
    outdir = tmp_path / "fixed"
    outdir.mkdir()
    items = [
        {"file": "data.conll", "line": 3, "old_tag": "B-ORG", "new_tag": "O"},
        {"file": str(second), "line": 1, "token": 1, "old_tag": "B-PER", "new_tag": "O"},
    ]
    fixes = corrections_file(tmp_path, items)
    assert run("apply", conll, second, "--corrections", fixes, "--output-dir", outdir) == 2
    assert "more.jsonl:1: the tag is 'O', not 'B-PER'" in capsys.readouterr().err
    assert os.listdir(outdir) == []  # the first file's correction was fine: still not written
    items[1].update(token=0)
    fixes = corrections_file(tmp_path, items)
    assert run("apply", conll, second, "--corrections", fixes, "--output-dir", outdir) == 0
    assert list(changed_lines(CONLL, (outdir / "data.conll").read_bytes())) == [3]
    assert (
        outdir / "more.jsonl"
    ).read_bytes() == b'{"tokens": ["Anna", "sings"], "tags": ["O", "O"]}\n'


def test_report_without_issues_reports_detection_errors_and_bad_exports(
    tmp_path: Path, conll: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Too few sentences for the default 5 folds: the detection's own one-line error.
    assert run("report", conll, "-o", tmp_path / "r.html") == 2
    assert "cannot be split into --folds 5" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()
    export = tmp_path / "min.json"
    export.write_text(json.dumps([{"text": "a", "label": ["x"]}]))
    assert run("import-corrections", export, "-o", tmp_path / "c.json") == 2
    assert "task 1: expected a task with 'data'" in capsys.readouterr().err


def test_report_without_issues_runs_the_detection(tmp_path: Path) -> None:
    from tokenclean.datasets import load_wnut17_sample

    s = load_wnut17_sample()
    data = tmp_path / "d.conll"
    with data.open("w", encoding="utf-8") as fh:
        for words, labels in zip(s.tokens[:80], s.labels[:80], strict=False):
            fh.writelines(f"{w}\t{s.class_names[t]}\n" for w, t in zip(words, labels, strict=False))
            fh.write("\n")
    issues = tmp_path / "issues.jsonl"
    assert run("find-issues", str(data), "--folds", "3", "--format", "json", "-o", str(issues)) == 0
    assert issues.read_text(encoding="utf-8").count("\n") > 0
    given = tmp_path / "given.html"
    found = tmp_path / "found.html"
    assert run("report", str(data), "--issues", str(issues), "-o", str(given), "--title", "t") == 0
    assert run("report", str(data), "--folds", "3", "-o", str(found), "--title", "t") == 0

    def page(path: Path) -> str:  # the same page but for the time it was made
        return re.sub(r'"created":"[^"]*"', "", path.read_text(encoding="utf-8"))

    assert page(found) == page(given)
