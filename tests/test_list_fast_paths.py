"""The list entry point reads sentences that are consecutive rows of one array as one block,
and caches label ints by object: every layout of the same values gives the same answer."""

from __future__ import annotations

import numpy as np
import pytest

import tokenclean
from conftest import sentence_dataset as _data
from tokenclean.token_classification.filter import find_label_issues_flat


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", [0, 1])
def test_views_of_one_array_copies_and_lists_agree(dtype: type, seed: int) -> None:
    labels, p, lengths = _data(3000, 5, dtype, seed)
    cuts = np.cumsum(lengths)[:-1]
    lab = [x.tolist() for x in np.split(labels, cuts)]
    views = np.split(p, cuts)  # consecutive rows of one array: one block
    copies = [v.copy() for v in views]  # separate arrays: one block each
    padded = np.zeros((p.shape[0] + 3, p.shape[1]), dtype=dtype)
    padded[2:-1] = p
    inner = np.split(padded[2:-1], cuts)  # consecutive rows starting inside a bigger array
    every_other = [v if i % 2 else v.copy() for i, v in enumerate(views)]
    want = tokenclean.find_label_issues(lab, copies)
    for pp in (views, inner, every_other):
        assert tokenclean.find_label_issues(lab, pp) == want
    for rank in (None, "normalized_margin"):
        a = tokenclean.find_label_issues(lab, views, return_indices_ranked_by=rank)
        assert a == tokenclean.find_label_issues(lab, copies, return_indices_ranked_by=rank)


def test_rows_out_of_order_are_not_read_as_one_block() -> None:
    labels, p, lengths = _data(2000, 4, np.float32, 3)
    cuts = np.cumsum(lengths)[:-1]
    lab = [x.tolist() for x in np.split(labels, cuts)]
    views = np.split(p, cuts)
    order = list(range(len(views)))[::-1]
    swapped = [views[i] for i in order]
    swapped_labels = [lab[i] for i in order]
    want = tokenclean.find_label_issues(swapped_labels, [v.copy() for v in swapped])
    assert tokenclean.find_label_issues(swapped_labels, swapped) == want


def test_label_ints_of_any_size_and_mixed_containers() -> None:
    labels, p, lengths = _data(2000, 6, np.float64, 4)
    cuts = np.cumsum(lengths)[:-1]
    views = np.split(p, cuts)
    as_lists = [x.tolist() for x in np.split(labels, cuts)]
    # Big ints equal in value but distinct objects, numpy arrays and tuples in between.
    mixed: list = []
    for i, x in enumerate(as_lists):
        if i % 3 == 0:
            mixed.append([int(str(v)) + (10**30 - 10**30) for v in x])
        elif i % 3 == 1:
            mixed.append(np.array(x, dtype=np.int64))
        else:
            mixed.append(tuple(x))
    assert tokenclean.find_label_issues(mixed, views) == tokenclean.find_label_issues(
        as_lists, views
    )


def test_more_classes_than_the_int_cache_has_slots() -> None:
    # 300 classes: small ints CPython shares and, past 256, a new int object per label, so
    # the 256-slot cache of label values keeps being overwritten.
    labels, p, lengths = _data(6000, 300, np.float32, 5)
    cuts = np.cumsum(lengths)[:-1]
    lists = [x.tolist() for x in np.split(labels, cuts)]
    assert len({id(v) for x in lists for v in x if v > 256}) > 300
    got = tokenclean.find_label_issues(lists, np.split(p, cuts))
    want = find_label_issues_flat(labels, p, lengths)
    assert got == [tuple(x) for x in want.tolist()]
    assert len(got) > 10


def test_the_garbage_collector_is_left_as_it_was() -> None:
    import gc

    labels, p, lengths = _data(1000, 3, np.float32, 5)
    cuts = np.cumsum(lengths)[:-1]
    lab = [x.tolist() for x in np.split(labels, cuts)]
    views = np.split(p, cuts)
    was = gc.isenabled()
    try:
        for state in (True, False):
            (gc.enable if state else gc.disable)()
            tokenclean.find_label_issues(lab, views)
            assert gc.isenabled() is state
    finally:
        (gc.enable if was else gc.disable)()


def test_issue_tuples_are_plain_int_pairs_outside_the_collector() -> None:
    import gc

    labels, p, lengths = _data(3000, 4, np.float32, 6)
    cuts = np.cumsum(lengths)[:-1]
    lab = [x.tolist() for x in np.split(labels, cuts)]
    issues = tokenclean.find_label_issues(lab, np.split(p, cuts))
    assert len(issues) > 10
    flat = find_label_issues_flat(labels, p, lengths)
    assert issues == [tuple(row) for row in flat.tolist()]
    assert all(type(i) is tuple and len(i) == 2 for i in issues)
    assert all(type(s) is int and type(t) is int for s, t in issues)
    # No cycle can run through ints, so the collector need never walk these tuples.
    assert gc.is_tracked(issues)
    assert not any(gc.is_tracked(i) for i in issues)
