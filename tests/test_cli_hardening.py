"""Hostile and careless input to the command line and the thread pools (issue 20).

Each test is named after the failure it guards against; each failure was a traceback, a hang,
unbounded memory, a half-written or clobbered file, or a silently wrong answer. The rule they
check: exit 0, or exit 2 with one line on stderr naming the file (and line) at fault, and an
``--output`` file that is either the whole report or left as it was.
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.lib.format as npy_format
import pytest

import tokenclean
from test_cli import ERROR, assert_error, run
from tokenclean import _files, cli
from tokenclean._options import MAX_THREADS, int_labels
from tokenclean.datasets import load_wnut17_sample
from tokenclean.filter import find_label_issues as find_mc
from tokenclean.io import MAX_CONLL_LINE, InputError, load_pred_probs

# The folder the tests imported tokenclean from (the repository or site-packages), so a
# child process imports the same build.
SRC = str(Path(tokenclean.__file__).resolve().parents[1])
CHILD_TIMEOUT = 120.0  # seconds a child run may take before it counts as hung


# --- data and running ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> Any:
    return load_wnut17_sample()


@pytest.fixture
def files(tmp_path: Path, sample: Any) -> dict[str, Path]:
    """The bundled WNUT-17 sample as CoNLL, JSON Lines, .npy and a classes file."""
    names = sample.class_names
    conll = tmp_path / "d.conll"
    with conll.open("w", encoding="utf-8") as fh:
        for words, labels in zip(sample.tokens, sample.labels, strict=False):
            fh.writelines(f"{w}\t{names[lab]}\n" for w, lab in zip(words, labels, strict=False))
            fh.write("\n")
    jsonl = tmp_path / "d.jsonl"
    with jsonl.open("w", encoding="utf-8") as fh:
        for words, labels in zip(sample.tokens, sample.labels, strict=False):
            tags = [names[lab] for lab in labels]
            fh.write(json.dumps({"tokens": words, "tags": tags}) + "\n")
    npy = tmp_path / "p.npy"
    np.save(npy, np.concatenate(sample.pred_probs))
    classes = tmp_path / "classes.txt"
    classes.write_text("\n".join(names) + "\n", encoding="utf-8")
    return {"conll": conll, "jsonl": jsonl, "npy": npy, "classes": classes}


def good_argv(files: dict[str, Path], data: str = "conll") -> list[object]:
    return ["find-issues", files[data], "--pred-probs", files["npy"], "--classes-file",
            files["classes"]]  # fmt: skip


def child(
    argv: list[str],
    *,
    stdin: Any = subprocess.DEVNULL,
    stdout: Any = subprocess.PIPE,
    env: dict[str, str] | None = None,
    limits: dict[int, int] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m tokenclean ARGV`` in a fresh interpreter, with resource limits."""

    def limit() -> None:
        for which, value in (limits or {}).items():
            resource.setrlimit(which, (value, value))

    return subprocess.run(
        [sys.executable, "-m", "tokenclean", *argv],
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=CHILD_TIMEOUT,
        env={
            **os.environ,
            "PYTHONPATH": SRC,
            "PYTHONDONTWRITEBYTECODE": "1",
            **(env or {}),
        },
        preexec_fn=limit if limits else None,
        cwd=cwd,
        check=False,
    )


def assert_child_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(ERROR) and result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def npy_bytes(shape: Any, descr: str = "<f8", data: bytes = b"") -> bytes:
    """An .npy file whose header says ``shape`` (true or not), followed by ``data``."""
    buf = io.BytesIO()
    npy_format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue() + data


# --- 1. deeply nested JSON -------------------------------------------------------------------


def test_deeply_nested_json_is_an_input_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: dict[str, Path]
) -> None:
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"tokens":' + "[" * 100_000 + "]" * 100_000 + ',"tags":[]}\n')
    argv = good_argv(files)
    argv[1] = deep
    assert_error(run(capsys, *argv), f"{deep}:1: JSON nested too deeply")


# --- 2. lying, truncated and malformed .npy headers ------------------------------------------


def test_npy_header_declaring_a_huge_shape_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: dict[str, Path]
) -> None:
    lie = tmp_path / "lie.npy"
    lie.write_bytes(npy_bytes((10**11, 3), data=np.zeros((9, 3)).tobytes()))
    assert_error(
        run(capsys, "find-issues", files["conll"], "--pred-probs", lie, "--classes", "a,b,c"),
        f"{lie}: the array is truncated or its header lies: shape (100000000000, 3)",
        "needs 2400000000000 bytes, but 216 follow the header",
    )


def _bytes_read() -> int:
    with open("/proc/self/io") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("rchar:"))


@pytest.mark.skipif(not os.path.exists("/proc/self/io"), reason="needs /proc/self/io")
def test_truncated_npy_is_refused_before_its_data_is_read(tmp_path: Path) -> None:
    # A sparse 800 MB file whose header declares 2.4 GB: refused from its size alone.
    big = tmp_path / "big.npy"
    header = npy_bytes((10**8, 3))
    with big.open("wb") as fh:
        fh.write(header)
        fh.truncate(800 * 2**20)
    before = _bytes_read()
    with pytest.raises(InputError, match="truncated or its header lies"):
        load_pred_probs(str(big))
    assert _bytes_read() - before < 2**20


def test_npy_header_with_a_negative_shape(tmp_path: Path) -> None:
    neg = tmp_path / "neg.npy"
    neg.write_bytes(npy_bytes((-4, 3), data=np.zeros((4, 3)).tobytes()))
    with pytest.raises(InputError, match=r"negative dimension in its shape \(-4, 3\)"):
        load_pred_probs(str(neg))


def test_npy_header_with_an_unbalanced_parenthesis(tmp_path: Path) -> None:
    bad = tmp_path / "paren.npy"
    good = npy_bytes((4, 3), data=np.zeros((4, 3)).tobytes())
    bad.write_bytes(good.replace(b"(4, 3)", b"(4, 3 "))
    with pytest.raises(InputError, match=r"paren.npy: the array has an unreadable .npy header"):
        load_pred_probs(str(bad))


def test_npy_data_is_memory_mapped_not_copied(tmp_path: Path) -> None:
    path = tmp_path / "p.npy"
    np.save(path, np.full((5, 3), 1 / 3))
    probs = load_pred_probs(str(path))
    assert isinstance(probs.flat, np.memmap)
    assert probs.flat.shape == (5, 3)


# --- 3. broken .npz files --------------------------------------------------------------------


@pytest.fixture
def npz(tmp_path: Path) -> dict[str, Path]:
    p = np.full((12, 3), 1 / 3)
    stored, deflated = tmp_path / "x.npz", tmp_path / "xc.npz"
    np.savez(stored, pred_probs=p, lengths=np.array([3, 3, 3, 3]))
    np.savez_compressed(deflated, pred_probs=p, lengths=np.array([3, 3, 3, 3]))
    return {"stored": stored, "deflated": deflated}


@pytest.mark.parametrize("kind", ["stored", "deflated"])
def test_truncated_npz(tmp_path: Path, npz: dict[str, Path], kind: str) -> None:
    data = npz[kind].read_bytes()
    for cut in (30, len(data) // 2, len(data) - 4):
        short = tmp_path / "t.npz"
        short.write_bytes(data[:-cut])
        with pytest.raises(InputError, match=r"t.npz: "):
            load_pred_probs(str(short))


def test_npz_with_corrupt_deflate_data(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    np.savez_compressed(bad, pred_probs=np.random.default_rng(0).random((200, 3)))
    data = bytearray(bad.read_bytes())
    with zipfile.ZipFile(bad) as zf:
        info = zf.getinfo("pred_probs.npy")
    start = info.header_offset + 30 + len(info.filename) + 20
    for i in range(start, start + 40):
        data[i] ^= 0x5A
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"bad.npz: "):
        load_pred_probs(str(bad))
    # Data that inflates cleanly but not to what was stored: the CRC check notices.
    with zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("arr_0.npy", npy_bytes((4, 3), data=np.zeros((4, 3)).tobytes()))
    raw = bytearray(bad.read_bytes())
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 16 : central + 20] = b"\x01\x02\x03\x04"
    bad.write_bytes(bytes(raw))
    with pytest.raises(InputError, match=r"bad.npz: cannot read member 'arr_0.npy': corrupt"):
        load_pred_probs(str(bad))


def test_npz_with_a_member_that_is_not_npy(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("pred_probs.npy", npy_bytes((4, 3), data=np.zeros((4, 3)).tobytes()))
        zf.writestr("notes.txt", b"hello")
    with pytest.raises(InputError, match=r"member 'notes.txt' is not a .npy array"):
        load_pred_probs(str(bad))
    # A member named .npy that holds something else.
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("pred_probs.npy", b"not an array at all")
    with pytest.raises(InputError, match=r"member 'pred_probs.npy' has an unreadable .npy"):
        load_pred_probs(str(bad))


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("key", ["pred_probs", "arr_0"])
def test_npz_member_declaring_a_huge_shape(tmp_path: Path, compression: int, key: str) -> None:
    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(bad, "w", compression) as zf:
        zf.writestr(f"{key}.npy", npy_bytes((10**11, 3), data=np.zeros((4, 3)).tobytes()))
    with pytest.raises(InputError, match=r"truncated or its header lies: shape \(100000000000"):
        load_pred_probs(str(bad))


def test_npz_never_loads_pickles(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    np.savez(bad, pred_probs=np.array([[{"a": 1}]], dtype=object))
    with pytest.raises(InputError, match=r"holds Python objects, which are never loaded"):
        load_pred_probs(str(bad))


# --- 4. write errors -------------------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_output_to_a_full_device(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    assert_error(run(capsys, *good_argv(files), "--output", "/dev/full"), "/dev/full: cannot write")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_stdout_to_a_full_device(files: dict[str, Path]) -> None:
    with open("/dev/full", "w") as full:
        result = child([str(a) for a in good_argv(files)], stdout=full)
    assert_child_error(result, "standard output: cannot write: No space left on device")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_demo_to_a_full_device() -> None:
    with open("/dev/full", "w") as full:
        result = child(["demo"], stdout=full)
    assert_child_error(result, "standard output: cannot write: No space left on device")


def test_file_size_limit_leaves_the_output_as_it_was(files: dict[str, Path]) -> None:
    out = files["conll"].parent / "report.json"
    out.write_text("the previous report\n", encoding="utf-8")
    argv = [str(a) for a in good_argv(files)] + ["--format", "json", "--output", str(out)]
    # The report is larger than 2,000 bytes.
    assert len(child(argv[:-2]).stdout) > 4000
    result = child(argv, limits={resource.RLIMIT_FSIZE: 2000})
    assert_child_error(result, f"{out}: cannot write: File too large")
    assert out.read_text(encoding="utf-8") == "the previous report\n"
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == []
    # Without the limit it is replaced, whole, keeping its permissions.
    out.chmod(0o640)
    assert child(argv).returncode == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) > 20
    assert out.stat().st_mode & 0o777 == 0o640


def test_new_output_file_gets_the_usual_permissions(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    out = files["conll"].parent / "new.txt"
    mask = os.umask(0o022)
    try:
        assert run(capsys, *good_argv(files), "--output", out)[0] == 0
    finally:
        os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o644


# --- 5. unseekable DATA and PROBS ------------------------------------------------------------


def test_data_from_a_pipe_is_refused_up_front(files: dict[str, Path]) -> None:
    out = files["conll"].parent / "o.json"
    out.write_text("kept\n", encoding="utf-8")
    argv = [str(a) for a in good_argv(files)]
    argv[1] = "/dev/stdin"
    with files["conll"].open("rb") as data:
        cat = subprocess.Popen(["cat"], stdin=data, stdout=subprocess.PIPE)
        assert cat.stdout is not None
        result = child([*argv, "--output", str(out)], stdin=cat.stdout)
        cat.stdout.close()
        cat.wait()
    assert_child_error(result, "/dev/stdin: not a regular file (a pipe)")
    assert out.read_text(encoding="utf-8") == "kept\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
@pytest.mark.parametrize("which", ["data", "probs"])
def test_fifo_without_a_writer_does_not_block(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: dict[str, Path], which: str
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    argv = good_argv(files)
    argv[1 if which == "data" else 3] = fifo
    assert_error(run(capsys, *argv), f"{fifo}: not a regular file (a pipe)")


# --- 6. DATA changing during the run ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["conll", "jsonl"])
@pytest.mark.parametrize("output", [True, False])
@pytest.mark.parametrize("level", ["token", "span"])
def test_data_changing_during_the_run_is_reported(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    files: dict[str, Path],
    fmt: str,
    output: bool,
    level: str,
) -> None:
    data = files[fmt]
    out = data.parent / "report.json"
    out.write_text("kept\n", encoding="utf-8")
    real = cli.load_pred_probs

    def load_and_change(*args: Any, **kwargs: Any) -> Any:
        # Another program rewrites DATA after it was read: the words move.
        text = data.read_text(encoding="utf-8")
        data.write_text(text.replace("\n", "\n\n", 40), encoding="utf-8")
        return real(*args, **kwargs)

    monkeypatch.setattr(cli, "load_pred_probs", load_and_change)
    argv = [*good_argv(files, fmt), "--format", "json", "--level", level]
    code, stdout, err = run(capsys, *argv, *(["--output", out] if output else []))
    assert code == 2
    assert err.startswith(ERROR) and err.count("\n") == 1
    assert f"{data}" in err and ("changed while tokenclean ran" in err)
    assert out.read_text(encoding="utf-8") == "kept\n"
    if output:
        assert stdout == ""


def test_stamp_sees_size_and_time(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    before = _files.stamp(str(path))
    _files.check_unchanged(str(path), before)
    os.utime(path, ns=(before.mtime_ns + 10**9, before.mtime_ns + 10**9))
    with pytest.raises(InputError, match="changed while tokenclean ran"):
        _files.check_unchanged(str(path), before)
    path.unlink()
    with pytest.raises(InputError, match="changed while tokenclean ran"):
        _files.check_unchanged(str(path), before)


# --- 7. one validation and cap for thread counts ---------------------------------------------


@pytest.mark.parametrize("value", ["10000", "99999999999999999999", str(MAX_THREADS + 1)])
def test_threads_above_the_cap_are_refused(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], value: str
) -> None:
    code, out, err = run(capsys, *good_argv(files), "--threads", value)
    assert (code, out) == (2, "")
    assert f"argument --threads: at most {MAX_THREADS}" in err and "Traceback" not in err


def test_threads_at_the_cap_are_accepted(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    one = run(capsys, *good_argv(files), "--format", "json", "--threads", "1")
    most = run(capsys, *good_argv(files), "--format", "json", "--threads", str(MAX_THREADS))
    assert one[0] == 0 and one == most


def test_api_n_jobs_is_capped() -> None:
    labels, probs = _dataset(70_000)
    want = find_mc(labels, probs, n_jobs=1)
    got = find_mc(labels, probs, n_jobs=10**20)
    np.testing.assert_array_equal(got, want)


def _dataset(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    probs = rng.dirichlet(np.ones(4), size=n)
    labels = np.where(rng.random(n) < 0.1, rng.integers(0, 4, n), probs.argmax(1))
    return labels.astype(np.int64), probs


# Runs in a fresh interpreter: counts the threads alive in /proc/self/task.
_THREAD_COUNT = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    from tokenclean import _core
    from tokenclean.filter import find_label_issues

    def alive():
        return len(os.listdir("/proc/self/task"))

    rng = np.random.default_rng(0)
    n = 70_000
    probs = rng.dirichlet(np.ones(3), size=n)
    labels = probs.argmax(1).astype(np.int64)
    labels[::17] = (labels[::17] + 1) % 3
    start = alive()
    jobs = [int(x) for x in sys.argv[1:]]
    for n_jobs in jobs:
        find_label_issues(labels, probs, n_jobs=n_jobs)
        _core.label_quality_scores(labels, probs, "self_confidence", n_jobs=n_jobs)
    find_label_issues(labels, probs)  # the default pool
    # Threads of a dropped pool end on their own: give them time (never a timed assertion).
    for _ in range(600):
        if alive() - start <= int(os.environ["EXPECT"]):
            break
        time.sleep(0.05)
    print(start, alive())
    """
)


def _threads_after(jobs: list[int], env: dict[str, str], expect: int) -> tuple[int, int]:
    result = subprocess.run(
        [sys.executable, "-c", _THREAD_COUNT, *map(str, jobs)],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT * 3,
        env={**os.environ, "PYTHONPATH": SRC, "EXPECT": str(expect), **env},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    start, end = map(int, result.stdout.split())
    return start, end


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs /proc/self/task")
def test_pools_are_not_cached_per_n_jobs() -> None:
    # The default pool (4 threads) plus the last one used (at most 64): before the fix every
    # n_jobs value kept its own pool, 2,000+ threads for 1..64.
    default = 4
    start, end = _threads_after(
        list(range(1, 65)), {"TOKENCLEAN_NUM_THREADS": str(default)}, default + 64
    )
    assert end - start <= default + 64, (start, end)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs /proc/self/task")
def test_env_thread_count_is_capped() -> None:
    start, end = _threads_after([], {"TOKENCLEAN_NUM_THREADS": "2000"}, MAX_THREADS)
    assert end - start <= MAX_THREADS, (start, end)


# --- 9. --output must not overwrite any input ------------------------------------------------


@pytest.mark.parametrize("which", ["conll", "npy", "classes"])
def test_output_never_overwrites_an_input(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], which: str
) -> None:
    before = files[which].read_bytes()
    assert_error(
        run(capsys, *good_argv(files), "--output", files[which]),
        f"{files[which]}: --output would overwrite an input file",
    )
    assert files[which].read_bytes() == before
    # Also through another name for the same file.
    link = files[which].parent / "link"
    link.symlink_to(files[which])
    assert_error(run(capsys, *good_argv(files), "--output", link), "would overwrite an input")
    assert files[which].read_bytes() == before


# --- should fix ------------------------------------------------------------------------------


def test_engine_errors_name_the_file_at_fault(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = tmp_path / "one.conll"
    data.write_text("a\tB-PER\nb\tB-PER\n", encoding="utf-8")
    probs = tmp_path / "p.npy"
    np.save(probs, np.full((2, 3), 1 / 3))
    assert_error(
        run(capsys, "find-issues", data, "--pred-probs", probs, "--classes", "O,B-PER,I-PER"),
        f"{data}: every label is class 1",
    )
    bad = np.full((2, 3), 1 / 3)
    bad[1, 2] = np.nan
    np.save(probs, bad)
    data.write_text("a\tO\nb\tB-PER\n", encoding="utf-8")
    assert_error(
        run(capsys, "find-issues", data, "--pred-probs", probs, "--classes", "O,B-PER,I-PER"),
        f"{probs}: pred_probs at",
        "holds NaN",
    )


def test_table_escapes_control_characters(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = tmp_path / "d.jsonl"
    words = ["\x1b[2J\x1b[31mevil", "b\u202e", "c"]
    tags = ["B-PER", "O", "O"]
    data.write_text(json.dumps({"tokens": words, "tags": tags}) + "\n", encoding="utf-8")
    probs = tmp_path / "p.npy"
    np.save(probs, np.array([[0.98, 0.01, 0.01], [0.98, 0.01, 0.01], [0.98, 0.01, 0.01]]))
    argv = ["find-issues", data, "--pred-probs", probs, "--classes", "O,B-PER,I-PER"]
    argv += ["--filter-by", "predicted_neq_given"]
    code, out, err = run(capsys, *argv)
    assert (code, err) == (0, "")
    assert "\x1b" not in out and "\u202e" not in out
    assert "[[\\x1b[2J\\x1b[31mevil]]" in out and "b\\u202e" in out
    # JSON keeps the word exactly.
    code, out, _ = run(capsys, *argv, "--format", "json")
    assert json.loads(out.splitlines()[0])["word"] == words[0]


def test_output_dash_is_stdout(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, files: dict[str, Path]
) -> None:
    monkeypatch.chdir(files["conll"].parent)
    plain = run(capsys, *good_argv(files), "--format", "json")
    dashed = run(capsys, *good_argv(files), "--format", "json", "--output", "-")
    assert plain[0] == 0 and plain == dashed and plain[1]
    assert not (files["conll"].parent / "-").exists()


def test_tag_column_is_refused_for_jsonl(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    assert_error(
        run(capsys, *good_argv(files, "jsonl"), "--tag-column", "2"),
        f"{files['jsonl']}: --tag-column is for CoNLL files",
        "--tags-field",
    )


@pytest.mark.parametrize("fmt", ["conll", "jsonl"])
def test_utf16_and_nul_bytes_are_not_utf8_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: dict[str, Path], fmt: str
) -> None:
    text = files[fmt].read_text(encoding="utf-8")
    utf16 = tmp_path / f"u16.{fmt}"
    utf16.write_bytes(text.encode("utf-16-le"))  # no byte order mark
    argv = good_argv(files, fmt)
    argv[1] = utf16
    assert_error(run(capsys, *argv), f"{utf16}:1: not UTF-8 text (NUL byte", "UTF-16")
    nul = tmp_path / f"nul.{fmt}"
    lines = text.splitlines(keepends=True)
    lines[2] = lines[2].replace("a", "a\0", 1) if "a" in lines[2] else "\0" + lines[2]
    nul.write_text("".join(lines), encoding="utf-8")
    argv[1] = nul
    assert_error(run(capsys, *argv), f"{nul}:3: not UTF-8 text (NUL byte")


def test_uint64_lengths_are_quoted_exactly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, files: dict[str, Path]
) -> None:
    flat = np.load(files["npy"])
    bad = tmp_path / "u.npz"
    lengths = np.zeros(300, dtype=np.uint64)
    lengths[7] = 2**64 - 1
    np.savez(bad, pred_probs=flat, lengths=lengths)
    argv = good_argv(files)
    argv[3] = bad
    err = assert_error(run(capsys, *argv), f"{bad}: lengths[7] is 18446744073709551615")
    assert "add up to" not in err  # not a wrapped sum
    # The API's message about lengths speaks of lengths, not class ids.
    with pytest.raises(ValueError, match="lengths hold 18446744073709551615") as info:
        int_labels(lengths, "lengths")
    assert "class id" not in str(info.value)


def test_a_huge_conll_line_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    huge = tmp_path / "huge.conll"
    with huge.open("w", encoding="utf-8") as fh:
        fh.write("a\tO\nb\tB-PER\n")
        fh.write("x " * (15 * 2**20) + "\tO\n")  # one 30 MB line of tokens
    probs = tmp_path / "p.npy"
    np.save(probs, np.full((3, 3), 1 / 3))
    argv = ["find-issues", str(huge), "--pred-probs", str(probs), "--classes", "O,B-PER,I-PER"]
    # Under an address-space limit that the 887 MB the old reader needed would break.
    result = child(argv, limits={resource.RLIMIT_AS: _baseline_vm() + 200 * 2**20})
    assert_child_error(result, f"{huge}:3: line longer than {MAX_CONLL_LINE} bytes")


def _baseline_vm() -> int:
    """Peak virtual memory of a small ``find-issues`` run in a fresh interpreter."""
    script = (
        "import sys, numpy, tokenclean.cli\n"
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmPeak')][0])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
        timeout=CHILD_TIMEOUT,
        check=True,
    )
    return int(result.stdout) * 1024


def test_empty_sentence_as_a_0_array_in_npz(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sample: Any, files: dict[str, Path]
) -> None:
    # A JSONL file with an empty sentence, and per-sentence arrays with a (0,) one for it.
    data = tmp_path / "e.jsonl"
    names = sample.class_names
    lines = files["jsonl"].read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(5, json.dumps({"tokens": [], "tags": []}) + "\n")
    data.write_text("".join(lines), encoding="utf-8")
    arrays = list(sample.pred_probs)
    arrays.insert(5, np.zeros(0, dtype=arrays[0].dtype))
    probs = tmp_path / "e.npz"
    np.savez(probs, *arrays)
    labels = [list(x) for x in sample.labels]
    labels.insert(5, [])
    api = tokenclean.find_label_issues(labels, arrays, return_indices_ranked_by="self_confidence")
    code, out, err = run(capsys, "find-issues", data, "--pred-probs", probs, "--classes",
                         ",".join(names), "--format", "json")  # fmt: skip
    assert (code, err) == (0, "")
    got = [(r["sentence"], r["token"]) for r in map(json.loads, out.splitlines())]
    assert got == [tuple(x) for x in api] and got
