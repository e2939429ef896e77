"""Fuzzing the probability files: random mutations of valid ``.npy`` and ``.npz`` bytes (issue 20).

Whatever the bytes, reading them must end in a result or in one :class:`InputError` line:

* in-process, :func:`tokenclean.io.load_pred_probs` returns or raises ``InputError`` (never
  another exception), with at most the file's size (plus a constant) allocated, as
  ``tracemalloc`` counts numpy's buffers; a memory-mapped result can be read (no SIGBUS);
* through the command line, in a fresh interpreter under an address-space limit of its usual
  peak plus twice the file's size plus a constant, and a timeout: exit 0 with nothing on
  stderr, or exit 2 with one ``tokenclean: error:`` line; never a traceback, never a hang.

Mutations: byte flips (mostly in the headers), truncation, insertion and deletion of bytes,
and shape numbers in a header rewritten to huge, negative or malformed values. The number of
examples follows the hypothesis profile (``conftest.py``): half the profile's count for the
slower command-line test.
"""

from __future__ import annotations

import io
import os
import re
import resource
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenclean
from tokenclean.io import InputError, load_pred_probs

# The folder the tests imported tokenclean from (the repository or site-packages), so a
# child process imports the same build.
SRC = str(Path(tokenclean.__file__).resolve().parents[1])
CHILD_TIMEOUT = 60.0  # seconds: a run that takes longer counts as hung
MEMORY_SLACK = 96 * 2**20  # bytes the command line may use beyond its usual peak
CLASSES = "O,B-PER,I-PER"


def _seeds() -> dict[str, bytes]:
    """Valid probability files for a 4-sentence, 12-token, 3-class CoNLL file."""
    rng = np.random.default_rng(0)
    flat = rng.dirichlet(np.ones(3), size=12)
    lengths = np.array([3, 3, 3, 3])
    seeds: dict[str, bytes] = {}

    def npy(arr: np.ndarray) -> bytes:
        buf = io.BytesIO()
        np.save(buf, arr)
        return buf.getvalue()

    seeds["flat.npy"] = npy(flat)
    seeds["fortran32.npy"] = npy(np.asfortranarray(flat.astype(np.float32)))
    for name, save in (("stored", np.savez), ("deflated", np.savez_compressed)):
        buf = io.BytesIO()
        save(buf, pred_probs=flat, lengths=lengths, class_names=np.array(CLASSES.split(",")))
        seeds[f"{name}-flat.npz"] = buf.getvalue()
        buf = io.BytesIO()
        save(buf, *np.split(flat, 4))
        seeds[f"{name}-sentences.npz"] = buf.getvalue()
    return seeds


SEEDS = _seeds()
_SHAPE = re.compile(rb"'shape': \((\d+), (\d+)\)")


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    """A seed file's name and its bytes after one to four mutations."""
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "flip", "truncate", "insert", "delete", "shape"]))
        size = len(data)
        if size == 0:
            break
        head = draw(st.booleans())  # the headers are where the parsing happens
        at = draw(st.integers(0, min(size, 256) - 1 if head else size - 1))
        if kind == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        else:
            shapes = list(_SHAPE.finditer(data))
            if not shapes:
                continue
            match = draw(st.sampled_from(shapes))
            value = draw(
                st.sampled_from(
                    [b"10**11", b"-4", b"0", b"99999999999999999999", b"(", b"4, 4", b""]
                )
                | st.integers(0, 2**70).map(lambda n: str(n).encode())
            )
            group = draw(st.sampled_from([1, 2]))
            data[match.start(group) : match.end(group)] = value
    return name, bytes(data)


# --- in-process: load_pred_probs -------------------------------------------------------------


@settings(deadline=None)
@given(case=mutated())
def test_loading_mutated_files_raises_only_input_errors(case: tuple[str, bytes]) -> None:
    name, data = case
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, name)
        with open(path, "wb") as fh:
            fh.write(data)
        tracemalloc.start()
        try:
            probs = load_pred_probs(path)
        except InputError as exc:
            message = str(exc)
            assert message.startswith(f"{path}: ") and "\n" not in message, message
            return
        else:
            arrays = [probs.flat] if probs.flat is not None else list(probs.sentences or [])
            for arr in arrays:
                np.asarray(arr, dtype=np.float64).sum()  # read every value: no SIGBUS
            del probs, arrays
        finally:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            # float64 copies of float32 arrays count twice the file's size at most.
            assert peak <= 4 * len(data) + 2**20, (peak, len(data))


# --- through the command line ----------------------------------------------------------------


@pytest.fixture(scope="module")
def conll(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "tiny.conll"
    tags = CLASSES.split(",")
    rows = [[f"w{s}{t}\t{tags[(s + t) % 3]}" for t in range(3)] for s in range(4)]
    path.write_text("\n\n".join("\n".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


def _environment() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": SRC,
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "TOKENCLEAN_NUM_THREADS": "1",
    }


@pytest.fixture(scope="module")
def usual_peak(conll: Path) -> int:
    """Peak virtual memory (bytes) of the command line on a valid file."""
    probs = conll.parent / "good.npz"
    probs.write_bytes(SEEDS["deflated-flat.npz"])
    script = (
        "import sys\n"
        "from tokenclean.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "status = open('/proc/self/status').read()\n"
        "print(re.search(r'VmPeak:\\s+(\\d+)', status).group(1), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    argv = ["find-issues", str(conll), "--pred-probs", str(probs), "--format", "json"]
    result = subprocess.run(
        [sys.executable, "-c", "import re\n" + script, *argv],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=CHILD_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stderr.split()[-1]) * 1024


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
@settings(deadline=None, max_examples=max(10, settings.default.max_examples // 2))
@given(case=mutated())
def test_command_line_on_mutated_files(
    conll: Path, usual_peak: int, case: tuple[str, bytes]
) -> None:
    name, data = case
    limit = usual_peak + 2 * len(data) + MEMORY_SLACK

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, name)
        with open(path, "wb") as fh:
            fh.write(data)
        argv = ["find-issues", str(conll), "--pred-probs", path, "--format", "json"]
        if not name.endswith("flat.npz"):
            argv += ["--classes", CLASSES]  # the flat .npz files carry their class names
        try:
            result = subprocess.run(
                [sys.executable, "-m", "tokenclean", *argv],
                capture_output=True,
                text=True,
                env=_environment(),
                timeout=CHILD_TIMEOUT,
                preexec_fn=limit_memory,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"hung for {CHILD_TIMEOUT} s on {name} mutated to {data!r}")
    err = result.stderr
    assert "Traceback" not in err, err
    assert result.returncode in (0, 2), (result.returncode, err)
    if result.returncode == 0:
        assert err == ""
    else:
        assert err.startswith("tokenclean: error: ") and err.count("\n") == 1, err


def test_seeds_are_valid(conll: Path, tmp_path: Path) -> None:
    """The fuzzing starts from files the command line accepts."""
    for name, data in SEEDS.items():
        path = tmp_path / name
        path.write_bytes(data)
        probs = load_pred_probs(str(path))
        assert probs.num_classes == 3
        assert probs.class_names == (CLASSES.split(",") if "flat.npz" in name else None)
