#!/usr/bin/env python3
"""Regenerate ``python/tokenclean/data/wnut17_sample.npz`` from the shared WNUT-17 file.

The slice: the first 300 sentences of the WNUT-17 *test* split, in file order. In
``../shared/data/wnut17/wnut17.npz`` the splits are stored train, dev, test, so these are
sentences 4403..4702 of that file (``split == 2`` starts at sentence 4403); 4,363 tokens.
Nothing else is changed: tokens, tags and pred_probs are copied value for value.

Stored keys (all plain numpy arrays, loadable with ``allow_pickle=False``):

=================== ============== ===================================================
key                 dtype, shape   meaning
=================== ============== ===================================================
``class_names``     ``<U15 (13,)``  class order
``tokens``          ``<Un ()``      all tokens of the slice concatenated, no separator
``token_offsets``   ``int32 (N+1,)`` token ``i`` is ``tokens[token_offsets[i]:token_offsets[i+1]]``
``labels_flat``     ``int8 (N,)``   given tags as class ids
``lengths``         ``int32 (S,)``  tokens per sentence
``pred_probs_flat`` ``float32 (N, 13)`` out-of-sample CRF probabilities
=================== ============== ===================================================

The archive is written deterministically (fixed member order and timestamps, deflate level 9),
so rerunning the script on the same input and zlib gives the same bytes.

Usage (from the repository root)::

    python scripts/make_demo_data.py            # rewrite the sample
    python scripts/make_demo_data.py --check    # exit 1 if the sample's arrays differ
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "wnut17" / "wnut17.npz"
DEFAULT_OUTPUT = ROOT / "python" / "tokenclean" / "data" / "wnut17_sample.npz"
TEST_SPLIT = 2
N_SENTENCES = 300


def build(source: Path) -> dict[str, np.ndarray]:
    """Return the sample's arrays, in the order they are stored."""
    with np.load(source, allow_pickle=False) as z:
        split = z["split"]
        lengths_all = z["lengths"].astype(np.int64)
        test = np.flatnonzero(split == TEST_SPLIT)
        first = int(test[0])
        # The test split is one contiguous block; the slice is its first N_SENTENCES sentences.
        assert np.array_equal(test, np.arange(first, first + test.size)), "split 2 not contiguous"
        assert test.size >= N_SENTENCES
        sentences = slice(first, first + N_SENTENCES)
        start = int(lengths_all[:first].sum())
        stop = start + int(lengths_all[sentences].sum())
        tokens = z["tokens_flat"][start:stop].tolist()
        labels = z["labels_flat"][start:stop]
        pred_probs = z["pred_probs_flat"][start:stop]
        class_names = z["class_names"]
        lengths = z["lengths"][sentences]

    assert all(tokens), "empty token"
    offsets = np.zeros(len(tokens) + 1, dtype=np.int32)
    offsets[1:] = np.cumsum([len(t) for t in tokens])
    joined = np.array("".join(tokens))
    # numpy strips trailing NULs from <U strings; make sure the round trip is exact.
    assert len(str(joined)) == offsets[-1]
    assert labels.min() >= 0 and labels.max() < len(class_names) <= np.iinfo(np.int8).max
    return {
        "class_names": class_names.astype(f"<U{max(map(len, class_names.tolist()))}"),
        "tokens": joined,
        "token_offsets": offsets,
        "labels_flat": labels.astype(np.int8),
        "lengths": lengths.astype(np.int32),
        "pred_probs_flat": np.ascontiguousarray(pred_probs, dtype=np.float32),
    }


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write an ``.npz`` (readable by ``np.load``) whose bytes depend only on the arrays."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue(), compresslevel=9)
    path.write_bytes(buf.getvalue())


def differences(path: Path, expected: dict[str, np.ndarray]) -> list[str]:
    """Describe how the stored sample differs from ``expected`` (empty list: identical)."""
    if not path.exists():
        return [f"{path} does not exist"]
    problems = []
    with np.load(path, allow_pickle=False) as z:
        if sorted(z.files) != sorted(expected):
            problems.append(f"keys {sorted(z.files)} != {sorted(expected)}")
        for name, want in expected.items():
            if name not in z.files:
                continue
            got = z[name]
            if got.dtype != want.dtype or got.shape != want.shape:
                problems.append(f"{name}: {got.dtype}{got.shape} != {want.dtype}{want.shape}")
            elif not np.array_equal(got, want):
                problems.append(f"{name}: values differ")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--check", action="store_true", help="compare with the stored sample instead of writing"
    )
    args = parser.parse_args(argv)
    arrays = build(args.source)
    if args.check:
        problems = differences(args.output, arrays)
        for problem in problems:
            print(f"make_demo_data: {problem}", file=sys.stderr)
        if not problems:
            print(f"{args.output} matches {args.source}")
        return 1 if problems else 0
    write_npz(args.output, arrays)
    n_tokens = int(arrays["lengths"].sum())
    size = args.output.stat().st_size
    print(f"wrote {args.output}: {N_SENTENCES} sentences, {n_tokens} tokens, {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
