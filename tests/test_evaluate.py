"""``tokenclean.evaluate`` and ``tokenclean evaluate``: figures hand-computed on small lists."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tokenclean import cli
from tokenclean.evaluate import (
    _entity_spans,
    class_pairs,
    entity_errors,
    evaluate_spans,
    evaluate_tokens,
)


def test_token_figures() -> None:
    truth = np.zeros(10, dtype=bool)
    truth[[1, 3, 7]] = True
    ev = evaluate_tokens([3, 5, 1, 9, 2, 7], truth, ks=[1, 6, 10])
    # hits: T F T F F T
    assert ev.errors == 3 and ev.flagged == 6 and ev.hits == 3
    assert ev.precision_at == {1: 1.0, 3: pytest.approx(2 / 3), 6: 0.5, 10: 0.3}
    assert ev.recall == 1.0
    assert ev.precision == 0.5
    assert ev.average_precision == pytest.approx((1 + 2 / 3 + 3 / 6) / 3)
    precision, recall = ev.curve
    assert precision.tolist() == pytest.approx([1, 1 / 2, 2 / 3, 2 / 4, 2 / 5, 3 / 6])
    assert recall.tolist() == pytest.approx([1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 1])


def test_missed_errors_count_zero_and_repeats_are_dropped() -> None:
    truth = np.array([False, True, False, True])
    ev = evaluate_tokens([0, 0, 1, 1], truth, ks=[])
    assert ev.flagged == 2
    assert ev.average_precision == pytest.approx(0.25)  # (1/2) / 2 errors
    assert ev.recall == 0.5
    assert ev.precision_at == {2: 0.5}
    empty = evaluate_tokens(np.zeros(0, dtype=np.int64), truth, ks=[5])
    assert empty.average_precision == 0.0 and empty.precision_at == {2: 0.0, 5: 0.0}


def test_sentence_token_pairs() -> None:
    truth = np.array([False, False, True, False, True])
    lengths = [2, 3]
    a = evaluate_tokens(np.array([[1, 1], [1, 0]]), truth, lengths)
    b = evaluate_tokens([3, 2], truth)
    assert a.average_precision == b.average_precision == pytest.approx(0.25)
    with pytest.raises(ValueError, match=r"ranked\[0\] = \(1, 3\)"):
        evaluate_tokens(np.array([[1, 3]]), truth, lengths)
    with pytest.raises(ValueError, match="lengths"):
        evaluate_tokens(np.array([[1, 0]]), truth)
    with pytest.raises(ValueError, match=r"ranked\[1\] = 5"):
        evaluate_tokens([0, 5], truth)


def test_entity_spans_of_every_scheme() -> None:
    iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC"]
    iob2 = ["B-PER", "I-PER", "B-PER", "O", "B-LOC"]
    bioes = ["B-PER", "E-PER", "S-PER", "O", "S-LOC"]
    bilou = ["B-PER", "L-PER", "U-PER", "O", "U-LOC"]
    expected = [(0, 2, "PER"), (2, 3, "PER"), (4, 5, "LOC")]
    for tags in (iob1, iob2, bioes, bilou):
        assert _entity_spans(tags) == expected, tags
    # I- of another type starts an entity; tags without a prefix are entities (IO scheme).
    assert _entity_spans(["B-PER", "I-LOC", "LOC", "O"]) == [(0, 1, "PER"), (1, 3, "LOC")]


def test_entity_errors_merge_overlapping_changes() -> None:
    given = [
        ["B-LOC", "O", "O"],  # type swap, then a missed entity
        ["B-PER", "I-PER", "I-PER"],  # boundary moved
        ["I-PER", "I-PER"],  # IOB1 spelling of the same entity: no error
        ["B-MISC", "O"],  # spurious entity
    ]
    corrected = [
        ["B-ORG", "O", "B-MISC"],
        ["B-PER", "I-PER", "O"],
        ["B-PER", "I-PER"],
        ["O", "O"],
    ]
    assert entity_errors(given, corrected) == [(0, 0, 1), (0, 2, 3), (1, 0, 3), (3, 0, 1)]


def test_entity_figures() -> None:
    errors = [(0, 0, 1), (0, 2, 3), (1, 0, 3), (3, 0, 1)]
    flagged = [(1, 2, 3), (1, 0, 1), (2, 0, 1), (0, 2, 3), (0, 1, 2), (3, 0, 2)]
    ev = evaluate_spans(flagged, errors, ks=[2])
    # (1, 0, 1) repeats a matched region and is dropped: hits T F T F T over 5 items.
    assert (ev.errors, ev.flagged, ev.hits) == (4, 5, 3)
    assert ev.precision_at == {2: 0.5, 4: 0.5}
    assert ev.recall == 0.75
    assert ev.average_precision == pytest.approx((1 + 2 / 3 + 3 / 5) / 4)


def test_class_pairs() -> None:
    given = np.array(["O", "O", "B-LOC", "O", "B-LOC"])
    corrected = np.array(["B-MISC", "O", "B-ORG", "B-MISC", "B-ORG"])
    pairs = class_pairs([4, 1, 3, 2], given, corrected)
    rows = [(p.given, p.corrected, p.errors, p.found, p.found_top) for p in pairs]
    # 4 errors: the first 4 items are 4, 1, 3, 2.
    assert rows == [("B-LOC", "B-ORG", 2, 2, 2), ("O", "B-MISC", 2, 1, 1)]


# --- the command line -----------------------------------------------------------------------

DATA = """\
Peter B-PER
Blackburn I-PER
visited O
Leeds B-LOC

Leeds B-LOC
won O
the O
cup O
"""
GOLD = """\
Peter B-PER
Blackburn I-PER
visited O
Leeds B-LOC

Leeds B-ORG
won O
the O
World B-MISC
"""


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _records(*records: dict[str, object]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def _run_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, dict[str, float]]:
    assert cli.main(argv) == 0
    report: dict[str, dict[str, float]] = json.loads(capsys.readouterr().out)
    return report


def test_cli_token_and_span_records(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # The truth: tokens (1, 0) and (1, 3); entity regions (1, 0, 1) and (1, 3, 4).
    # "cup" is not an entity in DATA but a corrected tag: the spelling is ours, no matter.
    data = _write(tmp_path, "data.conll", DATA)
    gold = _write(tmp_path, "gold.conll", GOLD)
    issues = _write(
        tmp_path,
        "issues.jsonl",
        _records(
            {"sentence": 1, "token": 0, "word": "Leeds", "given": "B-LOC", "score": 0.1},
            {"sentence": 0, "start": 0, "end": 2, "kind": "wrong_type", "score": 0.2},
            {"sentence": 1, "token": 3, "word": "cup", "given": "O", "score": 0.3},
        ),
    )
    report = _run_json(capsys, ["evaluate", issues, "--gold", gold, data, "--format", "json"])
    token, entity = report["token"], report["entity"]
    # token ranking: (1,0) T, (0,0) F, (0,1) F, (1,3) T
    assert token["errors"] == 2 and token["flagged"] == 4 and token["hits"] == 2
    assert token["average_precision"] == pytest.approx((1 + 2 / 4) / 2)
    assert token["precision_at"]["2"] == 0.5
    # entity ranking: T F T
    assert entity["errors"] == 2 and entity["flagged"] == 3
    assert entity["average_precision"] == pytest.approx((1 + 2 / 3) / 2)

    assert cli.main(["evaluate", issues, "--gold", gold, data, "--k", "1,3"]) == 0
    table = capsys.readouterr().out
    assert "P@1" in table and "P@3" in table
    assert "B-LOC" in table and "B-ORG" in table


def test_cli_find_issues_output_round_trips(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = _write(tmp_path, "data.conll", DATA)
    gold = _write(tmp_path, "gold.conll", GOLD)
    probs = np.full((8, 3), 0.05)
    probs[np.arange(8), [1, 1, 0, 2, 1, 0, 0, 2]] = 0.9  # classes: B-PER I-PER O B-LOC
    probs = np.full((8, 4), 0.02)
    probs[np.arange(8), [0, 1, 2, 3, 2, 2, 2, 0]] = 0.94
    np.save(tmp_path / "p.npy", probs)
    issues = str(tmp_path / "issues.jsonl")
    argv = ["find-issues", data, "--pred-probs", str(tmp_path / "p.npy")]
    argv += ["--classes", "B-PER,I-PER,O,B-LOC", "--format", "json", "-o", issues]
    argv += ["--filter-by", "predicted_neq_given"]
    assert cli.main(argv) == 0
    flagged = [json.loads(line) for line in open(issues, encoding="utf-8")]
    assert {(r["sentence"], r["token"]) for r in flagged} == {(1, 0), (1, 3)}
    report = _run_json(capsys, ["evaluate", issues, "--gold", gold, data, "--format", "json"])
    assert report["token"]["average_precision"] == 1.0
    assert report["entity"]["recall"] == 1.0


def test_cli_several_files_and_file_keys(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first, second = DATA.split("\n\n")
    gold_first, gold_second = GOLD.split("\n\n")
    a = _write(tmp_path, "a.conll", first + "\n")
    b = _write(tmp_path, "b.jsonl", json.dumps({"tokens": ["x"] * 4, "tags": second.split()[1::2]}))
    ga = _write(tmp_path, "ga.conll", gold_first + "\n")
    gb = _write(tmp_path, "gb.conll", gold_second)
    issues = _write(
        tmp_path,
        "issues.jsonl",
        _records({"file": b, "sentence": 0, "token": 3}, {"file": a, "sentence": 0, "token": 3}),
    )
    argv = ["evaluate", issues, "--gold", ga, "--gold", gb, a, b, "--format", "json"]
    report = _run_json(capsys, argv)
    assert report["token"]["average_precision"] == pytest.approx(0.5)  # (1/1) / 2 errors
    # Without DATA the records' files are read, in order of first appearance: b, then a.
    argv = ["evaluate", issues, "--gold", gb, "--gold", ga, "--format", "json"]
    assert _run_json(capsys, argv)["token"]["hits"] == 1


def test_cli_misaligned_gold(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = _write(tmp_path, "data.conll", DATA)
    short = _write(tmp_path, "gold.conll", GOLD.replace("World B-MISC\n", ""))
    fewer = _write(tmp_path, "fewer.conll", GOLD.split("\n\n")[0] + "\n")
    issues = _write(tmp_path, "issues.jsonl", _records({"sentence": 1, "token": 0}))
    assert cli.main(["evaluate", issues, "--gold", short, data]) == 2
    err = capsys.readouterr().err
    assert "gold.conll:6" in err and "sentence 1 has 3 tokens" in err and "token: 3" in err
    assert cli.main(["evaluate", issues, "--gold", fewer, data]) == 2
    err = capsys.readouterr().err
    assert "1 gold sentences but 2 in DATA" in err and "data.conll:6" in err


def test_cli_bad_issues(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = _write(tmp_path, "data.conll", DATA)
    gold = _write(tmp_path, "gold.conll", GOLD)
    cases = {
        _records({"sentence": 2, "token": 0}): "issues.jsonl:1: sentence 2 is not in DATA",
        _records({"sentence": 0, "token": 0}, {"sentence": 0, "token": 4}): "issues.jsonl:2:",
        _records({"token": 0}): "no 'sentence'",
        "{not json\n": "not JSON",
        _records({"sentence": 0, "token": "x"}): "expected an integer",
    }
    for text, message in cases.items():
        issues = _write(tmp_path, "issues.jsonl", text)
        assert cli.main(["evaluate", issues, "--gold", gold, data]) == 2
        assert message in capsys.readouterr().err
    issues = _write(tmp_path, "issues.jsonl", _records({"sentence": 0, "token": 0}))
    assert cli.main(["evaluate", issues, "--gold", gold]) == 2
    assert "give DATA" in capsys.readouterr().err
    assert cli.main(["evaluate", issues, "--gold", gold, data, "--k", "0"]) == 2


def test_cli_csv_issues_and_plot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    data = _write(tmp_path, "data.conll", DATA)
    gold = _write(tmp_path, "gold.conll", GOLD)
    issues = _write(tmp_path, "issues.csv", "sentence,token,word\n1,3,cup\n0,0,Peter\n")
    plot = tmp_path / "pr.png"
    argv = ["evaluate", issues, "--gold", gold, data, "--plot", str(plot), "--format", "json"]
    report = _run_json(capsys, argv)
    assert report["token"]["hits"] == 1
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_integer_tags_have_no_entity_level(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = _write(tmp_path, "d.jsonl", json.dumps({"tokens": ["a", "b"], "tags": [0, 1]}))
    gold = _write(tmp_path, "g.jsonl", json.dumps({"tokens": ["a", "b"], "tags": [0, 2]}))
    issues = _write(tmp_path, "issues.jsonl", _records({"sentence": 0, "token": 1}))
    report = _run_json(capsys, ["evaluate", issues, "--gold", gold, data, "--format", "json"])
    assert "entity" not in report
    assert report["token"]["average_precision"] == 1.0
    mixed = _write(tmp_path, "m.jsonl", json.dumps({"tokens": ["a", "b"], "tags": ["O", "O"]}))
    assert cli.main(["evaluate", issues, "--gold", mixed, data]) == 2
    assert "not of the same kind" in capsys.readouterr().err
