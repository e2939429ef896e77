"""End-to-end time of ``tokenclean find-issues`` from annotation files alone (the CRF path).

1. WNUT-17 train+dev+test (``../shared/data/wnut17``, 101,857 tokens) written as three CoNLL
   files and passed to one ``find-issues`` call.
2. A CoNLL-sized corpus of about 1M tokens: WNUT-17 sentences drawn with replacement (seed 0)
   into one file.

Each is a fresh ``tokenclean find-issues ... --format json -o issues.jsonl --quiet`` process;
the bench prints its wall time, the CPU time of it and its workers, and the peak resident memory
of the largest process (``ru_maxrss``). For the 1M-token corpus it then runs the detection
again from the saved probabilities (``--pred-probs``), at token and entity level: the time the
detector adds to its model.

Usage: ``python benches/tagger_scale.py [--skip-1m]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "wnut17" / "wnut17.npz"


def write(path: Path, sentences: list[tuple[list[str], list[str]]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for words, tags in sentences:
            fh.writelines(f"{w}\t{t}\n" for w, t in zip(words, tags, strict=False))
            fh.write("\n")


def timed(argv: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak MB of the largest process of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-1m", action="store_true")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"skipped: {DATA} is missing")
        return
    z = np.load(DATA)
    cuts = np.cumsum(z["lengths"])[:-1]
    names = z["class_names"].tolist()
    tokens = [part.tolist() for part in np.split(z["tokens_flat"], cuts)]
    tags = [[names[i] for i in part] for part in np.split(z["labels_flat"], cuts)]
    split = z["split"]
    cmd = [sys.executable, "-m", "tokenclean", "find-issues"]
    print(f"{os.cpu_count()} cores")
    print("| corpus | tokens | wall s | CPU s | peak MB (one process) |")
    print("| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = []
        for part, name in enumerate(("train", "dev", "test")):
            path = folder / f"{name}.conll"
            write(path, [(tokens[s], tags[s]) for s in np.flatnonzero(split == part)])
            files.append(str(path))
        out = str(folder / "issues.jsonl")
        wall, cpu, peak = timed([*cmd, *files, "--format", "json", "-o", out, "--quiet"])
        issues = sum(1 for _ in open(out, encoding="utf-8"))
        n = int(z["lengths"].sum())
        row = f"| {n} | {wall:.1f} | {cpu:.1f} | {peak:.0f} |"
        print(f"| WNUT-17 train+dev+test ({issues} issues) {row}")
        if args.skip_1m:
            return
        rng = np.random.default_rng(0)
        big: list[tuple[list[str], list[str]]] = []
        count = 0
        while count < 1_000_000:
            s = int(rng.integers(len(tokens)))
            big.append((tokens[s], tags[s]))
            count += len(tokens[s])
        path = folder / "big.conll"
        write(path, big)
        saved = str(folder / "big.npz")
        run = [*cmd, str(path), "--format", "json", "-o", out, "--quiet"]
        wall, cpu, peak = timed([*run, "--save-pred-probs", saved])
        row = f"| {count} | {wall:.1f} | {cpu:.1f} | {peak:.0f} |"
        print(f"| WNUT-17 sentences drawn to 1M tokens {row}")
        # The same detection from the saved probabilities: what the detector adds to its model.
        for level in ("token", "span"):
            wall, cpu, peak = timed([*run, "--pred-probs", saved, "--level", level])
            row = f"| {count} | {wall:.1f} | {cpu:.1f} | {peak:.0f} |"
            print(f"| the same, from the saved probabilities, --level {level} {row}")


if __name__ == "__main__":
    main()
