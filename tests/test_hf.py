"""tokenclean.hf: reading tags and probabilities from Hugging Face datasets, zero-copy."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

datasets = pytest.importorskip("datasets")
from datasets import ClassLabel, Dataset, DatasetDict, Features, Sequence, Value  # noqa: E402

import tokenclean  # noqa: E402
import tokenclean.hf  # noqa: E402
from conftest import run_readme_example  # noqa: E402
from tokenclean.datasets import load_wnut17_sample  # noqa: E402
from tokenclean.hf import (  # noqa: E402
    HFCorpus,
    corpus_from_disk,
    load_from_disk_split,
    read_dataset,
)
from tokenclean.token_classification.filter import find_label_issues_flat  # noqa: E402

datasets.disable_progress_bars()

NAMES = ["O", "B-PER", "I-PER", "B-LOC"]
K = len(NAMES)


def make_rows(n: int, seed: int = 0, dtype: Any = np.float32) -> dict[str, list[Any]]:
    """n sentences with words, tags, and probabilities that mostly agree with the tags."""
    rng = np.random.default_rng(seed)
    tokens, tags, probs = [], [], []
    for s in range(n):
        t = int(rng.integers(1, 9))
        tag = rng.integers(0, K, size=t)
        p = rng.dirichlet(np.full(K, 0.3), size=t)
        p[np.arange(t), tag] += 2.0 * (rng.random(t) < 0.9)
        p = (p / p.sum(axis=1, keepdims=True)).astype(dtype)
        tokens.append([f"w{s}_{j}" for j in range(t)])
        tags.append(tag.tolist())
        probs.append(p.tolist())
    return {"tokens": tokens, "ner_tags": tags, "probs": probs}


def features(prob_dtype: str = "float32", length: int = K) -> Features:
    return Features(
        {
            "tokens": Sequence(Value("string")),
            "ner_tags": Sequence(ClassLabel(names=NAMES)),
            "probs": Sequence(Sequence(Value(prob_dtype), length=length)),
        }
    )


def make_ds(n: int = 60, seed: int = 0) -> Dataset:
    return Dataset.from_dict(make_rows(n, seed), features=features())


def expected(rows: dict[str, list[Any]], order: list[int] | None = None) -> dict[str, Any]:
    """What a reader must return, built from plain Python lists."""
    order = list(range(len(rows["ner_tags"]))) if order is None else order
    return {
        "tokens": [rows["tokens"][i] for i in order],
        "labels": [rows["ner_tags"][i] for i in order],
        "pred_probs": [np.array(rows["probs"][i], dtype=np.float32) for i in order],
    }


def assert_same(corpus: HFCorpus, want: dict[str, Any]) -> None:
    assert corpus.class_names == NAMES
    assert corpus.lengths.tolist() == [len(t) for t in want["labels"]]
    assert [a.tolist() for a in corpus.labels] == want["labels"]
    assert corpus.labels_flat.tolist() == [t for s in want["labels"] for t in s]
    assert corpus.pred_probs is not None and corpus.pred_probs_flat is not None
    assert len(corpus.pred_probs) == len(want["pred_probs"])
    for got, p in zip(corpus.pred_probs, want["pred_probs"], strict=False):
        np.testing.assert_array_equal(got, p.reshape(-1, K))
    np.testing.assert_array_equal(
        corpus.pred_probs_flat, np.concatenate([p.reshape(-1, K) for p in want["pred_probs"]])
    )
    assert corpus.tokens == want["tokens"]


def test_plain_dataset_matches_lists() -> None:
    rows = make_rows(60)
    corpus = read_dataset(Dataset.from_dict(rows, features=features()), pred_probs="probs")
    assert_same(corpus, expected(rows))
    assert corpus.pred_probs_flat is not None and corpus.pred_probs_flat.dtype == np.float32
    assert corpus.labels_flat.dtype == np.int64


def test_unshuffled_tags_and_probs_are_zero_copy() -> None:
    ds = make_ds()
    assert ds.data.column("ner_tags").num_chunks == 1
    corpus = read_dataset(ds, pred_probs="probs")
    tags_values = ds.data.column("ner_tags").chunks[0].flatten()
    prob_values = ds.data.column("probs").chunks[0].flatten().flatten()
    labels, probs = corpus.labels_flat, corpus.pred_probs_flat
    assert probs is not None
    for arr, arrow in ((labels, tags_values), (probs, prob_values)):
        assert not arr.flags.owndata and arr.base is not None
        assert not arr.flags.writeable  # Arrow memory is read-only
        assert arr.ctypes.data == arrow.buffers()[1].address + arrow.offset * arr.itemsize
        assert np.shares_memory(arr, arrow.to_numpy(zero_copy_only=True))
    # per-sentence arrays are views of the same memory
    assert all(np.shares_memory(a, labels) for a in corpus.labels)
    assert corpus.pred_probs is not None
    assert all(np.shares_memory(p, probs) for p in corpus.pred_probs)


def test_contiguous_select_is_a_zero_copy_slice() -> None:
    rows = make_rows(60)
    ds = Dataset.from_dict(rows, features=features()).select(range(10, 25))
    corpus = read_dataset(ds, pred_probs="probs")
    assert_same(corpus, expected(rows, list(range(10, 25))))
    whole = ds.data.column("ner_tags").chunks[0].values.to_numpy(zero_copy_only=True)
    assert np.shares_memory(corpus.labels_flat, whole)


@pytest.mark.parametrize(
    ("how", "make"),
    [
        ("shuffle", lambda ds: ds.shuffle(seed=0)),
        ("select", lambda ds: ds.select([5, 2, 9, 2, 40, 0])),
        ("filter", lambda ds: ds.filter(lambda r: len(r["tokens"]) > 4)),
        ("shuffle+filter", lambda ds: ds.shuffle(seed=1).filter(lambda r: r["ner_tags"][0] > 0)),
    ],
)
def test_indices_mapping_is_honoured(how: str, make: Any) -> None:
    rows = make_rows(60)
    base = Dataset.from_dict(rows, features=features())
    ds = make(base)
    assert ds._indices is not None, "the operation should leave an indices mapping"
    # the order the dataset presents, read through datasets' own row API
    order_tokens = [r["tokens"] for r in ds]
    order = [rows["tokens"].index(t) for t in order_tokens]
    if how == "select":
        assert order == [5, 2, 9, 2, 40, 0]
    if how == "filter":
        assert order == [i for i, t in enumerate(rows["tokens"]) if len(t) > 4]
    assert order != list(range(len(order))), "the mapping must change the order or rows"
    corpus = read_dataset(ds, pred_probs="probs")
    assert_same(corpus, expected(rows, order))


def test_saved_dataset_with_many_chunks(tmp_path: Path) -> None:
    rows = make_rows(2500, seed=3)
    Dataset.from_dict(rows, features=features()).save_to_disk(tmp_path / "ds")
    ds = load_from_disk_split(tmp_path / "ds")
    assert ds.data.column("ner_tags").num_chunks > 1
    corpus = read_dataset(ds, pred_probs="probs")
    assert_same(corpus, expected(rows))
    # each sentence is still a view of the memory-mapped Arrow data, whatever its chunk
    chunks = [c.flatten().to_numpy(zero_copy_only=True) for c in ds.data.column("ner_tags").chunks]
    assert np.shares_memory(corpus.labels[0], chunks[0])
    assert np.shares_memory(corpus.labels[-1], chunks[-1])
    shuffled = read_dataset(ds.shuffle(seed=2), pred_probs="probs")
    order = [rows["tokens"].index(r["tokens"]) for r in ds.shuffle(seed=2)]
    assert_same(shuffled, expected(rows, order))


def test_find_label_issues_same_as_on_plain_lists() -> None:
    rows = make_rows(300, seed=5)
    ds = Dataset.from_dict(rows, features=features()).shuffle(seed=4)
    plain = expected(rows, [rows["tokens"].index(r["tokens"]) for r in ds])
    want = tokenclean.find_label_issues(plain["labels"], plain["pred_probs"])
    assert len(want) > 5
    for d in (ds, ds.flatten_indices()):
        corpus = read_dataset(d, pred_probs="probs")
        assert corpus.pred_probs is not None and corpus.pred_probs_flat is not None
        assert tokenclean.find_label_issues(corpus.labels, corpus.pred_probs) == want
        flat = find_label_issues_flat(corpus.labels_flat, corpus.pred_probs_flat, corpus.lengths)
        assert [tuple(x) for x in flat.tolist()] == want


def test_float64_probs_and_variable_length_rows_are_read() -> None:
    rows = make_rows(20, seed=1, dtype=np.float64)
    feats = features()
    feats["probs"] = Sequence(Sequence(Value("float64")))
    corpus = read_dataset(Dataset.from_dict(rows, features=feats), pred_probs="probs")
    assert corpus.pred_probs_flat is not None and corpus.pred_probs_flat.dtype == np.float64
    np.testing.assert_array_equal(
        corpus.pred_probs_flat, np.concatenate([np.array(p) for p in rows["probs"]])
    )


def test_without_tokens_and_probs() -> None:
    rows = make_rows(5)
    ds = Dataset.from_dict(
        {"ner_tags": rows["ner_tags"]},
        features=Features({"ner_tags": Sequence(ClassLabel(names=NAMES))}),
    )
    corpus = read_dataset(ds, tokens=None)
    assert corpus.pred_probs is None and corpus.pred_probs_flat is None
    assert [a.tolist() for a in corpus.labels] == rows["ner_tags"]
    with pytest.raises(ValueError, match="no tokens column was read"):
        _ = corpus.tokens


def test_empty_dataset() -> None:
    ds = Dataset.from_dict({"tokens": [], "ner_tags": [], "probs": []}, features=features())
    corpus = read_dataset(ds, pred_probs="probs")
    assert corpus.lengths.tolist() == [] and corpus.labels == [] and corpus.tokens == []
    assert corpus.pred_probs_flat is not None and corpus.pred_probs_flat.shape == (0, K)


# ---------------------------------------------------------------------------
# bad input


def tags_only(rows: list[Any], feature: Any) -> Dataset:
    return Dataset.from_dict({"ner_tags": rows}, features=Features({"ner_tags": feature}))


@pytest.mark.parametrize(
    ("feature", "rows", "shown"),
    [
        (Sequence(Value("string")), [["O", "B-PER"]], "string"),
        (Value("int64"), [3], "int64"),
        (Sequence(Value("int64")), [[0, 1]], "int64"),
    ],
)
def test_tags_that_are_not_class_labels(feature: Any, rows: list[Any], shown: str) -> None:
    ds = tags_only(rows, feature)
    with pytest.raises(
        ValueError, match=r"column 'ner_tags' must be a sequence of ClassLabel"
    ) as e:
        read_dataset(ds, tokens=None)
    assert shown in str(e.value)


def test_large_list_columns_are_read() -> None:
    large_list = getattr(datasets, "LargeList", None)
    if large_list is None:
        pytest.skip("datasets has no LargeList feature")
    rows = make_rows(30, seed=7)
    feats = Features(
        {
            "tokens": large_list(Value("string")),
            "ner_tags": large_list(ClassLabel(names=NAMES)),
            "probs": large_list(Sequence(Value("float32"), length=K)),
        }
    )
    ds = Dataset.from_dict(rows, features=feats)
    assert str(ds.data.column("ner_tags").type).startswith("large_list")
    assert_same(read_dataset(ds, pred_probs="probs"), expected(rows))


def test_only_a_dataset_is_taken() -> None:
    with pytest.raises(TypeError, match=r"not DatasetDict; choose a split, e.g. ds\['train'\]"):
        read_dataset(DatasetDict({"train": make_ds(3)}))
    with pytest.raises(TypeError, match=r"takes a datasets.Dataset, not dict"):
        read_dataset({"ner_tags": [[0]]})


def test_missing_column_lists_the_columns() -> None:
    with pytest.raises(ValueError, match=r"no column 'labels' .* columns: tokens, ner_tags, probs"):
        read_dataset(make_ds(), tags="labels")
    with pytest.raises(ValueError, match=r"no column 'p' in the dataset"):
        read_dataset(make_ds(), pred_probs="p")


def test_nulls_and_bad_tags_name_the_row() -> None:
    feature = Sequence(ClassLabel(names=NAMES))
    with pytest.raises(ValueError, match=r"column 'ner_tags', row 2: the row is null"):
        read_dataset(tags_only([[0], [1, 2], None], feature), tokens=None)
    with pytest.raises(ValueError, match=r"column 'ner_tags', row 1, token 1: the value is null"):
        read_dataset(tags_only([[0], [1, None]], feature), tokens=None)
    with pytest.raises(ValueError, match=r"row 1, token 0: tag -1 is not a class id 0..3"):
        read_dataset(tags_only([[0], [-1, 2]], feature), tokens=None)
    # rows numbered as the shuffled dataset presents them
    ds = tags_only([[0], [1], None, [2]], feature).select([3, 0, 2])
    with pytest.raises(ValueError, match=r"column 'ner_tags', row 2: the row is null"):
        read_dataset(ds, tokens=None)
    # a null row that the mapping leaves out is not read
    assert read_dataset(ds.select([0, 1]), tokens=None).labels_flat.tolist() == [2, 0]


def test_probability_rows_of_the_wrong_length() -> None:
    rows = make_rows(8)
    row = next(i for i, t in enumerate(rows["ner_tags"]) if i > 0 and len(t) > 1)
    rows["probs"][row][1] = rows["probs"][row][1][:3]
    feats = features()
    feats["probs"] = Sequence(Sequence(Value("float32")))
    ds = Dataset.from_dict(rows, features=feats)
    with pytest.raises(
        ValueError, match=rf"'probs', row {row}, token 1: 3 probabilities, but .* 4"
    ):
        read_dataset(ds, pred_probs="probs")
    rows = make_rows(4)
    rows["probs"] = [[p[:3] for p in s] for s in rows["probs"]]
    ds = Dataset.from_dict(rows, features=features(length=3))
    with pytest.raises(ValueError, match=r"'probs', row 0, token 0: 3 probabilities"):
        read_dataset(ds, pred_probs="probs")


def test_probability_rows_must_match_the_tags() -> None:
    rows = make_rows(4)
    rows["probs"][3] = rows["probs"][3][:-1] if len(rows["probs"][3]) > 1 else []
    ds = Dataset.from_dict(rows, features=features())
    with pytest.raises(ValueError, match=r"row 3: column 'probs' has \d+ entries but column"):
        read_dataset(ds, pred_probs="probs")
    feats = features()
    feats["probs"] = Sequence(Sequence(Value("int32"), length=K))
    rows = make_rows(2)
    rows["probs"] = [[[1, 0, 0, 0]] * len(s) for s in rows["ner_tags"]]
    with pytest.raises(
        ValueError, match=r"column 'probs' must be a sequence of sequences of float"
    ):
        read_dataset(Dataset.from_dict(rows, features=feats), pred_probs="probs")
    rows = make_rows(2)
    rows["probs"][1][0][2] = None
    with pytest.raises(ValueError, match=r"'probs', row 1, token 0: a probability is null"):
        read_dataset(Dataset.from_dict(rows, features=features()), pred_probs="probs")


def test_tokens_must_match_the_tags() -> None:
    rows = make_rows(5)
    rows["tokens"][4] = [*rows["tokens"][4], "extra"]
    with pytest.raises(ValueError, match=r"row 4: column 'tokens' has \d+ entries but column 'ner"):
        read_dataset(Dataset.from_dict(rows, features=features()))
    rows = make_rows(2)
    feats = features()
    feats["tokens"] = Sequence(Value("int64"))
    rows["tokens"] = [[0] * len(t) for t in rows["ner_tags"]]
    with pytest.raises(ValueError, match=r"column 'tokens' must be a sequence of strings"):
        read_dataset(Dataset.from_dict(rows, features=feats))


# ---------------------------------------------------------------------------
# save_to_disk folders


def test_load_from_disk_split(tmp_path: Path) -> None:
    rows_train, rows_test = make_rows(30, seed=1), make_rows(10, seed=2)
    DatasetDict(
        {
            "train": Dataset.from_dict(rows_train, features=features()),
            "test": Dataset.from_dict(rows_test, features=features()),
        }
    ).save_to_disk(tmp_path / "dd")
    make_ds(5).save_to_disk(tmp_path / "one")

    assert len(load_from_disk_split(tmp_path / "dd", "test")) == 10
    corpus = corpus_from_disk(str(tmp_path / "dd"), "train", pred_probs="probs")
    assert_same(corpus, expected(rows_train))
    with pytest.raises(ValueError, match=r"dd holds several splits \(train, test\); choose one"):
        load_from_disk_split(tmp_path / "dd")
    with pytest.raises(ValueError, match=r"dd has no split 'dev'; its splits: train, test"):
        load_from_disk_split(tmp_path / "dd", "dev")
    assert len(load_from_disk_split(tmp_path / "one")) == 5
    with pytest.raises(ValueError, match=r"one holds a single Dataset, not splits"):
        load_from_disk_split(tmp_path / "one", "train")
    with pytest.raises(FileNotFoundError, match=r"nowhere: no such directory"):
        load_from_disk_split(tmp_path / "nowhere")


def test_base_import_does_not_load_datasets_or_pyarrow() -> None:
    code = (
        "import sys, tokenclean, tokenclean.hf, tokenclean.align\n"
        "bad = [m for m in ('datasets', 'pyarrow') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_docstring_examples() -> None:
    # here rather than in test_doctests.py: they need datasets
    result = doctest.testmod(tokenclean.hf, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_the_readme_example_runs(tmp_path: Path) -> None:
    stdout = run_readme_example("## Hugging Face datasets", tmp_path)
    sample = load_wnut17_sample()
    s, t = tokenclean.find_label_issues(sample.labels, sample.pred_probs)[0]
    assert stdout.split() == [sample.tokens[s][t], sample.class_names[sample.labels[s][t]]]
