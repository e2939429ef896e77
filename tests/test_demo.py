"""The bundled WNUT-17 sample, its loader, and the ``tokenclean`` command line."""

from __future__ import annotations

import dataclasses
import doctest
import importlib.metadata
import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import tokenclean
import tokenclean.datasets
from tokenclean import cli
from tokenclean.datasets import WnutSample, load_wnut17_sample

N_SENTENCES = 300
N_TOKENS = 4363
CLASS_NAMES = [
    "O",
    "B-corporation",
    "I-corporation",
    "B-creative-work",
    "I-creative-work",
    "B-group",
    "I-group",
    "B-location",
    "I-location",
    "B-person",
    "I-person",
    "B-product",
    "I-product",
]
HEADER = re.compile(
    r"^WNUT-17 test sample: (\d+) sentences, (\d+) tokens, (\d+) classes; "
    r"(\d+) label issues found \(ranked by (\w+)\)$"
)
BLOCK = re.compile(
    r"^#(\d+)  sentence (\d+), token (\d+): given (\S+), suggested (\S+) \(p=([0-9.e+-]+)\), "
    r"self-confidence p\[given\]=([0-9.e+-]+)(?:, (\w+) score=([0-9.e+-]+))?$"
)


@pytest.fixture(scope="module")
def sample() -> WnutSample:
    return load_wnut17_sample()


# --- the sample -----------------------------------------------------------------------------


def test_sample_shapes_are_consistent(sample: WnutSample) -> None:
    assert sample.class_names == CLASS_NAMES
    assert len(sample.tokens) == len(sample.labels) == len(sample.pred_probs) == N_SENTENCES
    lengths = [len(labels) for labels in sample.labels]
    assert sum(lengths) == N_TOKENS
    assert min(lengths) > 0
    for i, (tokens, labels, probs) in enumerate(
        zip(sample.tokens, sample.labels, sample.pred_probs, strict=False)
    ):
        assert len(tokens) == len(labels) == lengths[i], i
        assert probs.shape == (lengths[i], len(sample.class_names)), i
        assert all(isinstance(tok, str) and tok for tok in tokens), i
        assert all(type(lab) is int and 0 <= lab < len(CLASS_NAMES) for lab in labels), i


def test_sample_values(sample: WnutSample) -> None:
    flat = np.concatenate(sample.pred_probs)
    assert flat.dtype == np.float32
    assert np.all(np.isfinite(flat)) and flat.min() >= 0.0 and flat.max() <= 1.0
    np.testing.assert_allclose(flat.sum(axis=1), 1.0, atol=1e-5)
    # The first test sentence of WNUT-17, and an entity in it.
    assert sample.tokens[0][:8] == ["&", "gt", ";", "*", "The", "soldier", "was", "killed"]
    assert sample.tokens[0][20] == "Sonmarg"
    assert sample.class_names[sample.labels[0][20]] == "B-location"
    # Most given tags are O; every class but I-product occurs in this slice.
    counts = np.bincount(np.concatenate([np.asarray(x) for x in sample.labels]), minlength=13)
    assert counts[0] == 4000
    assert counts[1:12].min() > 0 and counts[12] == 0


def test_pred_probs_are_float32_views_of_one_flat_array(sample: WnutSample) -> None:
    # np.split gives views sharing one owner (what that owner is depends on numpy's loader).
    base = sample.pred_probs[0].base
    assert base is not None
    address = sample.pred_probs[0].__array_interface__["data"][0]
    for i, probs in enumerate(sample.pred_probs):
        assert probs.dtype == np.float32, i
        assert not probs.flags.owndata, i
        assert probs.base is base, i
        assert probs.flags.c_contiguous, i
        # consecutive, no gaps: sentence i starts where sentence i - 1 ends
        assert probs.__array_interface__["data"][0] == address, i
        address += probs.nbytes
    assert address - sample.pred_probs[0].__array_interface__["data"][0] == N_TOKENS * 13 * 4


def test_each_load_is_independent_and_frozen(sample: WnutSample) -> None:
    other = load_wnut17_sample()
    assert other.labels == sample.labels and other.tokens == sample.tokens
    assert not np.shares_memory(other.pred_probs[0], sample.pred_probs[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        other.labels = []  # type: ignore[misc]


def test_datasets_doctest_passes() -> None:
    result = doctest.testmod(tokenclean.datasets, verbose=False)
    assert result.attempted >= 5
    assert result.failed == 0


# --- tokenclean demo ------------------------------------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _blocks(out: str) -> list[tuple[re.Match[str], str]]:
    """Each issue block: its heading line (matched) and the sentence line after it."""
    lines = out.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if line.startswith("#"):
            match = BLOCK.match(line)
            assert match is not None, line
            blocks.append((match, lines[i + 1]))
    return blocks


def _check_block(
    sample: WnutSample, match: re.Match[str], text: str, issue: tuple[int, int]
) -> None:
    s, t = int(match[2]), int(match[3])
    assert (s, t) == issue
    probs = sample.pred_probs[s][t]
    assert match[4] == sample.class_names[sample.labels[s][t]]
    assert match[5] == sample.class_names[int(np.argmax(probs))]
    assert float(match[6]) == pytest.approx(float(probs.max()), rel=1e-3)
    assert float(match[7]) == pytest.approx(float(probs[sample.labels[s][t]]), rel=1e-3)
    # The sentence, with exactly the flagged token wrapped in [[ ]].
    words = list(sample.tokens[s])
    words[t] = f"[[{words[t]}]]"
    assert text == "    " + " ".join(words)
    assert text.count("[[") == 1


def test_demo_prints_header_and_top_issues(
    capsys: pytest.CaptureFixture[str], sample: WnutSample
) -> None:
    issues = tokenclean.find_label_issues(sample.labels, sample.pred_probs)
    assert len(issues) > 3

    code, out, err = _run(capsys, "demo", "--top", "3")

    assert (code, err) == (0, "")
    assert "\x1b[" not in out  # not a terminal: no colour
    header = HEADER.match(out.splitlines()[0])
    assert header is not None, out
    assert header.groups() == (
        str(N_SENTENCES),
        str(N_TOKENS),
        str(len(CLASS_NAMES)),
        str(len(issues)),
        "self_confidence",
    )
    blocks = _blocks(out)
    assert [int(match[1]) for match, _ in blocks] == [1, 2, 3]
    for (match, text), issue in zip(blocks, issues[:3], strict=False):
        _check_block(sample, match, text, issue)
    assert out.rstrip().endswith(f"... and {len(issues) - 3} more (show more with --top N)")


@pytest.mark.parametrize("method", cli.RANKING_METHODS)
def test_demo_rank_by(capsys: pytest.CaptureFixture[str], sample: WnutSample, method: str) -> None:
    issues = tokenclean.find_label_issues(
        sample.labels, sample.pred_probs, return_indices_ranked_by=method
    )
    code, out, err = _run(capsys, "demo", "--top", "5", "--rank-by", method)
    assert (code, err) == (0, "")
    header = HEADER.match(out.splitlines()[0])
    assert header is not None and header[5] == method and int(header[4]) == len(issues)
    blocks = _blocks(out)
    assert len(blocks) == min(5, len(issues))
    for (match, text), issue in zip(blocks, issues, strict=False):
        _check_block(sample, match, text, issue)
        # The ranking score is shown too, unless it is the self-confidence already shown.
        assert match[8] == (None if method == "self_confidence" else method)


def test_demo_default_top_and_top_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "demo")
    assert code == 0 and len(_blocks(out)) == 10
    code, out, _ = _run(capsys, "demo", "--top", "0")
    assert code == 0 and _blocks(out) == [] and HEADER.match(out.splitlines()[0])


def test_demo_colour_only_on_a_terminal_without_no_color(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, sample: WnutSample
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    issue = tokenclean.find_label_issues(sample.labels, sample.pred_probs)[0]
    token = sample.tokens[issue[0]][issue[1]]

    monkeypatch.delenv("NO_COLOR", raising=False)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert cli.main(["demo", "--top", "1"]) == 0
    assert f"\x1b[1;31m[[{token}]]\x1b[0m" in terminal.getvalue()

    monkeypatch.setenv("NO_COLOR", "1")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert cli.main(["demo", "--top", "1"]) == 0
    assert "\x1b[" not in terminal.getvalue()
    assert f"[[{token}]]" in terminal.getvalue()


@pytest.mark.parametrize("error", [ValueError, TypeError])
def test_library_error_is_one_line_on_stderr_and_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    def broken(*args: object, **kwargs: object) -> list[tuple[int, int]]:
        raise error("sentence 3 is\nbroken")

    monkeypatch.setattr(tokenclean, "find_label_issues", broken)
    code, out, err = _run(capsys, "demo")
    assert code == 2
    assert out == ""
    assert err == f"tokenclean: error: {error.__name__}: sentence 3 is broken\n"


@pytest.mark.parametrize(
    "argv", [[], ["demo", "--top", "-1"], ["demo", "--top", "x"], ["demo", "--rank-by", "nope"]]
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert "error" in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "--version")
    assert (code, err) == (0, "")
    try:
        expected = importlib.metadata.version("tokenclean")
    except importlib.metadata.PackageNotFoundError:
        expected = "unknown"
    assert out == f"tokenclean {expected}\n"


def test_python_dash_m(sample: WnutSample) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tokenclean", "demo", "--top", "2"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(_blocks(result.stdout)) == 2
