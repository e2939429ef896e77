"""Entity-level issues (tokenclean.spans): grouping against a pure-Python reading of the
schemes, the constrained decode against brute force, the properties of issues, hand-made
cases of every kind in IOB1, IOB2 and BIOES, and bad input."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenclean import _core
from tokenclean.spans import (
    KINDS,
    SCHEMES,
    detect_scheme,
    find_span_issues,
    find_spans,
    parse_class_names,
)

# ---------------------------------------------------------------- a reference reading


def _parse(tag: str) -> tuple[str, str, bool]:
    """(prefix, type, bare) with L/U read as E/S and a bare tag as I."""
    if tag == "O":
        return "O", "", False
    if len(tag) > 2 and tag[1] == "-" and tag[0] in "BIELSU":
        return {"L": "E", "U": "S"}.get(tag[0], tag[0]), tag[2:], False
    return "I", tag, True


def _in_scheme(tag: str, scheme: str) -> bool:
    prefix, _, bare = _parse(tag)
    if scheme == "IO":
        return prefix in "OI"
    if bare:
        return False
    return scheme == "BIOES" or prefix in "OBI"


def ref_group(
    sentences: list[list[str]], scheme: str
) -> tuple[list[tuple[int, int, int, str]], list[tuple[int, int]]]:
    """Spans as conlleval reads tags, and the positions the scheme forbids."""
    spans = []
    bad = []
    for s, tags in enumerate(sentences):
        parsed = [_parse(t) for t in tags]
        edge = ("O", "", False)
        start = None
        for i, (p, t, _) in enumerate(parsed):
            pp, pt, _ = parsed[i - 1] if i else edge
            np_, nt, _ = parsed[i + 1] if i + 1 < len(parsed) else edge
            prev_open = pp in "BI"
            # where the previous chunk ends and a new one starts
            ends = pp != "O" and (pp in "ES" or p in "BSO" or pt != t)
            begins = p != "O" and (p in "BS" or pp in "OES" or pt != t)
            if ends and start is not None:
                spans.append((s, start, i, parsed[start][1]))
                start = None
            if begins:
                start = i
            continues = prev_open and pt == t
            wrong = not _in_scheme(tags[i], scheme)
            if scheme == "IOB2" and p == "I" and not continues:
                wrong = True
            if scheme == "IOB1" and p == "B" and not continues:
                wrong = True
            if scheme == "BIOES":
                if p in "IE" and not continues:
                    wrong = True
                if p in "BI" and not (np_ in "IE" and nt == t):
                    wrong = True
            if wrong:
                bad.append((s, i))
        if start is not None:
            spans.append((s, start, len(tags), parsed[start][1]))
    return spans, bad


ALL_TAGS = [f"{p}-{t}" for t in ("PER", "LOC") for p in "BIESLU"] + ["PER", "LOC"]


@st.composite
def tagged(draw: Any, max_sentences: int = 6, max_len: int = 8) -> tuple[list[str], list[Any]]:
    extra = draw(st.lists(st.sampled_from(ALL_TAGS), min_size=1, max_size=6, unique=True))
    names = ["O", *extra]
    sentences = draw(
        st.lists(
            st.lists(st.integers(0, len(names) - 1), max_size=max_len),
            min_size=1,
            max_size=max_sentences,
        )
    )
    return names, sentences


@settings(max_examples=300, deadline=None)
@given(data=tagged(), scheme=st.sampled_from(SCHEMES))
def test_grouping_equals_the_reference(data: Any, scheme: str) -> None:
    names, sentences = data
    spans, bad = find_spans(sentences, names, scheme=scheme)
    ref_spans, ref_bad = ref_group([[names[c] for c in s] for s in sentences], scheme)
    assert spans == ref_spans
    assert bad == ref_bad


def test_grouping_over_flat_labels_with_lengths() -> None:
    names = ["O", "B-PER", "I-PER"]
    per_sentence = find_spans([[1, 2], [], [2, 0, 1]], names, scheme="IOB2")
    flat = find_spans(np.array([1, 2, 2, 0, 1]), names, scheme="IOB2", lengths=[2, 0, 3])
    spans = [(0, 0, 2, "PER"), (2, 0, 1, "PER"), (2, 2, 3, "PER")]
    assert per_sentence == flat == (spans, [(2, 0)])


# ---------------------------------------------------------------- the constrained decode


def _log_score(path: tuple[int, ...], probs: np.ndarray) -> float:
    return sum(math.log(max(float(probs[i, c]), 1e-12)) for i, c in enumerate(path))


@settings(max_examples=150, deadline=None)
@given(
    data=tagged(max_sentences=1, max_len=4),
    scheme=st.sampled_from(SCHEMES),
    seed=st.integers(0, 2**32 - 1),
)
def test_viterbi_finds_the_best_valid_sequence(data: Any, scheme: str, seed: int) -> None:
    names, sentences = data
    n = len(sentences[0])
    if n == 0 or len(names) > 6:
        return
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(len(names)), size=n)
    codes, types, _ = parse_class_names(names)
    weight = 1.0 + seed % 3  # entity classes weigh 1, 2 or 3 times their probability
    path = _core.spans_decode(probs, np.array([n]), codes, types, scheme, weight)
    probs[:, codes != 0] *= weight
    valid = [
        seq
        for seq in itertools.product(range(len(names)), repeat=n)
        if not ref_group([[names[c] for c in seq]], scheme)[1]
    ]
    if not valid:
        assert path.tolist() == probs.argmax(axis=1).tolist()
        return
    assert not ref_group([[names[c] for c in path.tolist()]], scheme)[1]
    best = max(_log_score(seq, probs) for seq in valid)
    assert _log_score(tuple(path.tolist()), probs) == pytest.approx(best, abs=1e-9)


def test_viterbi_is_the_same_with_any_number_of_threads() -> None:
    rng = np.random.default_rng(1)
    lengths = rng.integers(0, 30, size=6000)
    n = int(lengths.sum())
    probs = rng.dirichlet(np.ones(5), size=n).astype(np.float32)
    codes, types, _ = parse_class_names(["O", "B-A", "I-A", "B-B", "I-B"])
    one = _core.spans_decode(probs, lengths, codes, types, "IOB2", n_jobs=1)
    three = _core.spans_decode(probs, lengths, codes, types, "IOB2", n_jobs=3)
    assert one.tolist() == three.tolist()
    assert not find_spans(one, ["O", "B-A", "I-A", "B-B", "I-B"], scheme="IOB2", lengths=lengths)[1]


# ---------------------------------------------------------------- properties of issues


@settings(max_examples=200, deadline=None)
@given(
    data=tagged(),
    scheme=st.sampled_from(SCHEMES),
    seed=st.integers(0, 2**32 - 1),
    decode=st.sampled_from(["viterbi", "argmax"]),
    aggregate=st.sampled_from(["mean", "min", "changed"]),
)
def test_issue_properties(data: Any, scheme: str, seed: int, decode: str, aggregate: str) -> None:
    names, sentences = data
    rng = np.random.default_rng(seed)
    probs = [rng.dirichlet(np.ones(len(names)) * 0.3, size=len(s)) for s in sentences]
    issues = find_span_issues(
        sentences, probs, names, scheme=scheme, decode=decode, aggregate=aggregate
    )
    taken: set[tuple[int, int]] = set()
    scores = [i["score"] for i in issues]
    assert scores == sorted(scores)
    for issue in issues:
        s, a, e = issue["sentence"], issue["start"], issue["end"]
        assert issue["kind"] in KINDS
        assert 0 <= a < e <= len(sentences[s])  # never across a sentence end
        assert all(a <= t < e for t in issue["tokens"])
        assert issue["tokens"] == sorted(set(issue["tokens"]))
        for span in issue["given_spans"] + issue["suggested_spans"]:
            assert a <= span[0] < span[1] <= e
        cover = {(s, t) for t in range(a, e)}
        assert not cover & taken  # no token in two issues
        taken |= cover
        assert issue["given_tags"] == [names[c] for c in sentences[s][a:e]]
        assert len(issue["suggested_tags"]) == e - a
        assert (issue["given"] is None) == (issue["kind"] == "missing")
        assert (issue["suggested"] is None) == (issue["kind"] == "spurious")
        assert 0.0 <= issue["score"] <= 1.0
        if issue["kind"] == "malformed":
            assert issue["malformed"] and issue["tokens"]
        assert issue["words"] is None
    # every given span either agrees with the prediction or lies in an issue
    spans, _ = find_spans(sentences, names, scheme=scheme)
    for s, a, e, _t in spans:
        inside = {(s, t) for t in range(a, e)}
        assert inside <= taken or not inside & taken


def _random_dataset(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat IOB2 labels (5 classes, often malformed), probabilities and lengths."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 12, size=40)
    labels = rng.integers(0, 5, size=int(lengths.sum()))
    probs = rng.dirichlet(np.ones(5) * 0.5, size=labels.size)
    return labels, probs, lengths


def test_flat_input_equals_per_sentence_input() -> None:
    names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    labels, probs, lengths = _random_dataset(3)
    cuts = np.cumsum(lengths)[:-1]
    flat = find_span_issues(labels, probs, names, lengths=lengths)
    nested = find_span_issues(
        [x.tolist() for x in np.split(labels, cuts)], np.split(probs, cuts), names
    )
    assert flat == nested and flat


def test_token_scores_reorder_but_keep_the_issues() -> None:
    names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    labels, probs, lengths = _random_dataset(4)
    rng = np.random.default_rng(5)
    base = find_span_issues(labels, probs, names, lengths=lengths)
    scores = rng.random(labels.size)
    other = find_span_issues(labels, probs, names, lengths=lengths, token_scores=scores)
    key = lambda i: (i["sentence"], i["start"])  # noqa: E731
    assert sorted(map(key, base)) == sorted(map(key, other))
    assert [key(i) for i in base] != [key(i) for i in other]
    first = np.concatenate([[0], np.cumsum(lengths)])
    for issue in other:
        changed = [int(first[issue["sentence"]]) + t for t in issue["tokens"]]
        assert issue["score"] == pytest.approx(scores[changed].mean())


# ---------------------------------------------------------------- hand-made cases


def _probs_for(tags: list[int], k: int, low: float = 0.02) -> np.ndarray:
    """Confident probabilities for the tag sequence the model should see."""
    p = np.full((len(tags), k), low)
    p[np.arange(len(tags)), tags] = 1.0 - low * (k - 1)
    return p


def _kinds(
    given: list[int], seen: list[int], names: list[str], scheme: str
) -> list[tuple[str, int, int, Any, Any]]:
    issues = find_span_issues([given], [_probs_for(seen, len(names))], names, scheme=scheme)
    return sorted((i["kind"], i["start"], i["end"], i["given"], i["suggested"]) for i in issues)


IOB2 = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
BIOES = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]


def test_iob2_every_kind() -> None:
    #        0  1  2  3  4  5  6  7  8  9 10 11
    given = [3, 4, 0, 1, 2, 0, 3, 0, 0, 0, 0, 2]
    seen_ = [1, 2, 0, 1, 0, 0, 0, 0, 3, 4, 0, 1]
    assert _kinds(given, seen_, IOB2, "IOB2") == [
        ("malformed", 11, 12, "PER", "PER"),  # I- without B-: read as a span, flagged
        ("missing", 8, 10, None, "LOC"),
        ("spurious", 6, 7, "LOC", None),
        ("wrong_span", 3, 5, "PER", "PER"),
        ("wrong_type", 0, 2, "LOC", "PER"),
    ]


def test_iob1_every_kind() -> None:
    #        0  1  2  3  4  5  6  7  8  9 10
    given = [4, 4, 0, 2, 2, 0, 4, 0, 0, 0, 1]
    seen_ = [2, 2, 0, 2, 0, 0, 0, 0, 4, 0, 2]
    assert _kinds(given, seen_, IOB2, "IOB1") == [
        ("malformed", 10, 11, "PER", "PER"),  # B- after O is not IOB1
        ("missing", 8, 9, None, "LOC"),
        ("spurious", 6, 7, "LOC", None),
        ("wrong_span", 3, 5, "PER", "PER"),
        ("wrong_type", 0, 2, "LOC", "PER"),
    ]


def test_iob1_malformed_b_after_o() -> None:
    #          O  B-PER I-PER: IOB1 wants I-PER at the start
    assert _kinds([0, 1, 2], [0, 2, 2], IOB2, "IOB1") == [("malformed", 1, 3, "PER", "PER")]


def test_bioes_every_kind() -> None:
    #        0  1  2  3  4  5  6  7  8  9 10
    given = [5, 7, 0, 1, 3, 0, 8, 0, 0, 0, 1]
    seen_ = [1, 3, 0, 4, 0, 0, 0, 0, 8, 0, 4]
    assert _kinds(given, seen_, BIOES, "BIOES") == [
        ("malformed", 10, 11, "PER", "PER"),  # B- never closed: read as a one-token span
        ("missing", 8, 9, None, "LOC"),
        ("spurious", 6, 7, "LOC", None),
        ("wrong_span", 3, 5, "PER", "PER"),
        ("wrong_type", 0, 2, "LOC", "PER"),
    ]


def test_a_split_is_one_wrong_span_issue() -> None:
    # given one PER of three tokens; the model sees two PER spans
    issues = find_span_issues([[1, 2, 2]], [_probs_for([1, 1, 2], 5)], IOB2, scheme="IOB2")
    assert len(issues) == 1
    issue = issues[0]
    assert issue["kind"] == "wrong_span"
    assert issue["given_spans"] == [[0, 3, "PER"]]
    assert issue["suggested_spans"] == [[0, 1, "PER"], [1, 3, "PER"]]
    assert issue["tokens"] == [1]
    assert issue["given_tags"] == ["B-PER", "I-PER", "I-PER"]
    assert issue["suggested_tags"] == ["B-PER", "B-PER", "I-PER"]


def test_scores_rank_the_clearer_error_first() -> None:
    names = IOB2
    weak = _probs_for([3, 0], 5, low=0.15)  # the model is unsure
    strong = _probs_for([3, 0], 5, low=0.01)
    issues = find_span_issues(
        [[1, 0], [1, 0]], [weak, strong], names, scheme="IOB2", entity_weight=1
    )
    assert [i["sentence"] for i in issues] == [1, 0]
    assert issues[0]["score"] == pytest.approx(0.01)


# ---------------------------------------------------------------- scheme detection


def test_detect_scheme() -> None:
    assert detect_scheme(IOB2) == "IOB2"
    assert detect_scheme(BIOES) == "BIOES"
    assert detect_scheme(["O", "B-X", "I-X", "L-X", "U-X"]) == "BIOES"
    assert detect_scheme(["O", "PER", "LOC"]) == "IO"
    assert detect_scheme(["O", "I-PER", "I-LOC"]) == "IOB1"
    assert detect_scheme(IOB2, [[2, 2, 0, 4], [1, 2]]) == "IOB1"
    assert detect_scheme(IOB2, [[1, 2, 0, 3], [2]]) == "IOB2"
    assert detect_scheme(IOB2, np.array([2, 2, 2]), lengths=[1, 1, 1]) == "IOB1"
    assert detect_scheme(IOB2, np.array([1, 2, 2]), lengths=[3]) == "IOB2"


def test_detected_scheme_is_used() -> None:
    # IOB1 labels: an I- start is fine, so nothing is malformed
    probs = _probs_for([2, 2, 0], 5)
    assert find_span_issues([[2, 2, 0]], [probs], IOB2) == []
    assert find_span_issues([[2, 2, 0]], [probs], IOB2, scheme="IOB2") != []


# ---------------------------------------------------------------- bad input


def test_unknown_scheme_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown tagging scheme 'IOBX'"):
        find_span_issues([[0]], [np.ones((1, 5)) / 5], IOB2, scheme="IOBX")
    with pytest.raises(ValueError, match="unknown tagging scheme"):
        find_spans([[0]], IOB2, scheme="")
    with pytest.raises(TypeError, match="scheme must be a string"):
        find_spans([[0]], IOB2, scheme=2)  # type: ignore[arg-type]


def test_tags_outside_the_scheme_are_reported_not_fatal() -> None:
    names = ["O", "B-PER", "I-PER", "S-PER", "LOC"]
    labels = [[3, 0, 4, 4]]
    spans, bad = find_spans(labels, names, scheme="IOB2")
    assert spans == [(0, 0, 1, "PER"), (0, 2, 4, "LOC")]
    assert bad == [(0, 0), (0, 2), (0, 3)]
    probs = _probs_for([3, 0, 4, 4], 5)
    issues = find_span_issues(labels, [probs], names, scheme="IOB2", entity_weight=1)
    # the decode cannot use S-PER or LOC in IOB2: it offers O instead
    assert {i["kind"] for i in issues} == {"spurious"}
    assert all(i["malformed"] for i in issues)


def test_bad_labels_name_the_sentence_and_token() -> None:
    with pytest.raises(ValueError, match="sentence 1, token 2"):
        find_span_issues([[0], [0, 1, 7]], [np.ones((1, 5)) / 5, np.ones((3, 5)) / 5], IOB2)
    with pytest.raises(ValueError, match="sentence 0, token 0"):
        find_spans([[-1]], IOB2, scheme="IOB2")


def test_shape_mismatches_are_value_errors() -> None:
    with pytest.raises(ValueError, match="columns but 5 class names"):
        find_span_issues([[0]], [np.ones((1, 4)) / 4], IOB2)
    with pytest.raises(ValueError, match="one row per token"):
        find_span_issues([0, 1], np.ones((3, 5)) / 5, IOB2, lengths=[2])
    with pytest.raises(ValueError, match="lengths add up to"):
        find_span_issues([0, 1], np.ones((2, 5)) / 5, IOB2, lengths=[3])
    with pytest.raises(ValueError, match="not finite"):
        find_span_issues([[0]], [np.full((1, 5), np.nan)], IOB2)
    with pytest.raises(ValueError, match="decode="):
        find_span_issues([[0]], [np.ones((1, 5)) / 5], IOB2, decode="beam")
    with pytest.raises(ValueError, match="aggregate="):
        find_span_issues([[0]], [np.ones((1, 5)) / 5], IOB2, aggregate="max")
    with pytest.raises(ValueError, match="token_scores holds a value that is not finite"):
        find_span_issues([[0]], [np.ones((1, 5)) / 5], IOB2, token_scores=[[np.nan]])
    with pytest.raises(ValueError, match="token_scores has 2 values"):
        find_span_issues([[0]], [np.ones((1, 5)) / 5], IOB2, token_scores=[[0.5, 0.5]])


def test_empty_sentences_and_datasets() -> None:
    assert find_span_issues([[], []], [np.zeros((0, 5)), np.zeros((0, 5))], IOB2) == []
    assert find_spans([[]], IOB2) == ([], [])


def test_entity_weight_finds_entities_the_probabilities_doubt() -> None:
    # the model gives the LOC 0.3 against 0.6 for O: found only when entities weigh more
    p = np.array([[0.6, 0.05, 0.05, 0.3, 0.0]])
    assert find_span_issues([[0]], [p], IOB2, scheme="IOB2", entity_weight=1) == []
    for decode in ("viterbi", "argmax"):
        issues = find_span_issues([[0]], [p], IOB2, scheme="IOB2", decode=decode)
        assert [(i["kind"], i["suggested"]) for i in issues] == [("missing", "LOC")]
        assert issues[0]["score"] == pytest.approx(0.6)  # scored on the probabilities as given
    for bad in (0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="entity_weight"):
            find_span_issues([[0]], [p], IOB2, entity_weight=bad)
