"""The built-in cross-validated CRF: folds, determinism, columns, and the one-call API."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest

import tokenclean
from tokenclean.datasets import load_wnut17_sample
from tokenclean.detect import find_issues
from tokenclean.models import (
    class_order,
    cross_val_pred_probs,
    token_features,
)


@pytest.fixture(scope="module")
def sample() -> tuple[list[list[str]], list[list[str]]]:
    """The first 120 sentences of the bundled WNUT-17 sample, tags as strings."""
    s = load_wnut17_sample()
    tags = [[s.class_names[i] for i in labels] for labels in s.labels]
    return s.tokens[:120], tags[:120]


def test_same_bytes_whatever_the_number_of_processes(
    sample: tuple[list[list[str]], list[list[str]]],
) -> None:
    tokens, tags = sample
    one, names_one = cross_val_pred_probs(tokens, tags, n_folds=3, n_jobs=1)
    two, names_two = cross_val_pred_probs(tokens, tags, n_folds=3, n_jobs=2)
    again, _ = cross_val_pred_probs(tokens, tags, n_folds=3, n_jobs=2)
    assert names_one == names_two == class_order(tags)
    for a, b, c in zip(one, two, again, strict=False):
        assert a.dtype == np.float32 and a.shape == (len(b), len(names_one))
        assert a.tobytes() == b.tobytes() == c.tobytes()
    flat = np.concatenate(one)
    np.testing.assert_allclose(flat.sum(axis=1), 1.0, atol=1e-6)
    # The probabilities are views into one array: no copy per sentence.
    assert all(p.base is one[0].base for p in one)
    # The seed changes the folds, and so the probabilities.
    other, _ = cross_val_pred_probs(tokens, tags, n_folds=3, n_jobs=1, seed=1)
    assert not np.array_equal(np.concatenate(other), flat)


def test_a_sentence_is_scored_by_a_model_that_never_saw_it() -> None:
    # "Zyx" occurs once, tagged B-PER in a context where every other word is O. A CRF trained
    # on that sentence learns it; one that never saw it cannot.
    base = [["the", "cat", "sat"], ["a", "dog", "ran"], ["Ann", "saw", "Bob"]]
    base_tags = [["O", "O", "O"], ["O", "O", "O"], ["B-PER", "O", "B-PER"]]
    tokens = [*base * 8, ["the", "Zyx", "sat"], ["a", "Qwv", "ran"]]
    tags = [*base_tags * 8, ["O", "B-PER", "O"], ["O", "B-ART", "O"]]
    pred_probs, names = cross_val_pred_probs(tokens, tags, n_folds=4, n_jobs=1)
    per, art = names.index("B-PER"), names.index("B-ART")
    assert pred_probs[-2][1, per] < 0.5
    # B-ART is missing from the training part of its only sentence's fold: a zero column,
    # and the rows still sum to 1.
    assert pred_probs[-1][1, art] == 0.0
    np.testing.assert_allclose(np.concatenate(pred_probs).sum(axis=1), 1.0, atol=1e-6)

    # The same model in sample is confident: so the check above can fail.
    import pycrfsuite

    trainer = pycrfsuite.Trainer(verbose=False)
    for words, labels in zip(tokens, tags, strict=False):
        trainer.append(token_features(words), labels)
    trainer.set_params({"c1": 0.1, "c2": 0.1, "max_iterations": 100})
    with tempfile.TemporaryDirectory() as tmp:
        trainer.train(f"{tmp}/m")
        tagger = pycrfsuite.Tagger()
        tagger.open(f"{tmp}/m")
        tagger.set(token_features(tokens[-2]))
        assert tagger.marginal("B-PER", 1) > 0.5
        tagger.close()


def test_learned_tags_are_predicted(sample: tuple[list[list[str]], list[list[str]]]) -> None:
    tokens, tags = sample
    pred_probs, names = cross_val_pred_probs(tokens, tags, n_folds=3, n_jobs=2)
    flat = np.concatenate(pred_probs)
    given = np.array([names.index(t) for s in tags for t in s])
    # Mostly O, but far better than chance and than always O on the entity tokens.
    assert (flat.argmax(axis=1) == given).mean() > 0.9
    entity = given != names.index("O")
    assert (flat[entity].argmax(axis=1) == given[entity]).mean() > 0.1


def test_columns_follow_class_names_given() -> None:
    tokens = [["Ann", "runs"], ["Bob", "walks"], ["Cy", "sits"], ["Di", "eats"]]
    tags = [["B-PER", "O"]] * 4
    names = ["B-PER", "O", "B-LOC"]
    pred_probs, got = cross_val_pred_probs(tokens, tags, n_folds=2, n_jobs=1, class_names=names)
    assert got == names
    flat = np.concatenate(pred_probs)
    assert flat.shape == (8, 3) and np.all(flat[:, 2] == 0.0)  # B-LOC never seen
    assert list(flat.argmax(axis=1)) == [0, 1] * 4


def test_class_order_and_features() -> None:
    assert class_order([["I-LOC", "O", "B-LOC", "S-AA", "E-AA", "NN"]]) == [
        "O",
        "E-AA",
        "S-AA",
        "B-LOC",
        "I-LOC",
        "NN",
    ]
    feats = token_features(["New", "York-2", "x"])
    assert "BOS" in feats[0] and "EOS" in feats[2] and "EOS" not in feats[1]
    assert {"w=york-2", "sh=Xx-d", "hy", "hd", "-1w=new", "+1w=x"} <= set(feats[1])
    assert "+2w=x" in feats[0] and "-2w=new" in feats[2]


@pytest.mark.parametrize(
    ("tokens", "tags", "options", "error", "message"),
    [
        ([["a"], ["b"]], [["O"], ["X"]], {"n_folds": 3}, ValueError, "2 non-empty sentences"),
        ([["a"], ["b"]], [["O"], ["O"]], {"n_folds": 2}, ValueError, "single tag"),
        ([["a", "b"]], [["O"]], {}, ValueError, "sentence 0: 2 tokens but 1 tags"),
        ([["a"], ["b"]], [["O"], ["X"]], {"n_folds": 1}, ValueError, "n_folds"),
        ([["a"], [1]], [["O"], ["X"]], {"n_folds": 2}, TypeError, "sentence 1, token 0"),
        ([["a"], ["b"]], [["O"], ["X"]], {"n_folds": 2, "n_jobs": 0}, ValueError, "n_jobs"),
        (
            [["a"], ["b"]],
            [["O"], ["X"]],
            {"n_folds": 2, "class_names": ["O"]},
            ValueError,
            "sentence 1, token 0: tag 'X' is not in class_names",
        ),
    ],
)
def test_bad_input(
    tokens: list[list[object]],
    tags: list[list[str]],
    options: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        cross_val_pred_probs(tokens, tags, **options)  # type: ignore[arg-type]


def test_find_issues_is_find_label_issues_on_the_crf_probabilities(
    sample: tuple[list[list[str]], list[list[str]]],
) -> None:
    tokens, tags = sample
    pred_probs, names = cross_val_pred_probs(tokens, tags, n_folds=3, n_jobs=2)
    labels = [[names.index(t) for t in s] for s in tags]
    want = tokenclean.find_label_issues(labels, pred_probs)
    issues = find_issues(tokens, tags, n_folds=3, n_jobs=2, method="cleanlab")
    assert [(i.sentence, i.token) for i in issues] == want
    assert len(issues) > 0
    for issue in issues:
        row = pred_probs[issue.sentence][issue.token]
        assert issue.word == tokens[issue.sentence][issue.token]
        assert issue.given == tags[issue.sentence][issue.token]
        assert issue.suggested == names[int(row.argmax())]
        assert issue.score == pytest.approx(float(row[names.index(issue.given)]))
    # Given probabilities are used as they are.
    again = find_issues(tokens, tags, pred_probs=pred_probs, class_names=names, method="cleanlab")
    assert again == issues
    with pytest.raises(ValueError, match="needs class_names"):
        find_issues(tokens, tags, pred_probs=pred_probs)


def test_ensembles(sample: tuple[list[list[str]], list[list[str]]]) -> None:
    from tokenclean.detect import ensemble_pred_probs

    tokens, tags = sample
    one, names = cross_val_pred_probs(tokens, tags, n_folds=3, n_jobs=2)
    other, _ = cross_val_pred_probs(tokens, tags, n_folds=3, n_jobs=2, seed=7)
    # An ensemble of one member is that member.
    assert find_issues(tokens, tags, pred_probs=[one], class_names=names) == find_issues(
        tokens, tags, pred_probs=one, class_names=names
    )
    flat = ensemble_pred_probs([np.concatenate(one), np.concatenate(other)])
    np.testing.assert_allclose(flat, (np.concatenate(one) + np.concatenate(other)) / 2)
    mean = np.split(flat, np.cumsum([len(p) for p in one])[:-1])
    both = find_issues(tokens, tags, pred_probs=[one, other], class_names=names)
    assert both == find_issues(tokens, tags, pred_probs=mean, class_names=names)
    assert both != find_issues(tokens, tags, pred_probs=one, class_names=names)
    with pytest.raises(ValueError, match="differ in shape"):
        ensemble_pred_probs([np.zeros((2, 3)), np.zeros((3, 3))])
