"""The linear SVM beside naive Bayes (`gridops.routing.linear`): trained when the examples are
written, read only when it was trained on the shipped examples, voting beside naive Bayes, quiet
on short texts, and taught the dispatchers' corrections."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gridops.routing import linear
from gridops.routing.learned import Example, UnitModel, corpus_examples
from gridops.routing.ngrams import Vocabulary, pair_keys_of
from gridops.routing.normalise import normalise
from gridops.routing.rules import CompiledRules, Hints, Weights
from gridops.routing.table import demo_rules_path, parse_table

STREET = "430204001"
TOY = [Example(normalise(text), unit) for text, unit in [
    ("燃气管道漏气了", "GAS"), ("闻到煤气味道", "GAS"), ("燃气表坏了", "GAS"),
    ("楼道里停电了", "PWR"), ("家里突然没电", "PWR"), ("电表跳闸停电", "PWR"),
    ("wifi断了光猫红灯", "TEL"), ("宽带断网了", "TEL"), ("电话没信号", "TEL")]]


@pytest.fixture(scope="module")
def toy() -> linear.Linear:
    return linear.fit(TOY)


def test_the_shipped_svm_is_the_one_the_shipped_examples_train_now() -> None:
    shipped = linear.shipped()
    assert shipped is not None, "stale or missing: run bench/routing_examples.py"
    examples = corpus_examples()
    assert shipped.examples == len(examples) > 10_000
    assert shipped.units == tuple(sorted({example.unit for example in examples}))
    again = linear.fit(examples)
    assert again.keys.tolist() == shipped.keys.tolist()
    assert again.longer == shipped.longer
    # Stored as 16-bit floats: equal to a few parts in 10,000 of the largest weight.
    assert np.allclose(shipped.rows, again.rows, rtol=2e-3, atol=2e-3)
    assert np.allclose(shipped.idf, again.idf)
    assert np.allclose(shipped.intercept, again.intercept, atol=1e-6)


def test_it_is_stored_and_read_back_for_its_examples_only(
        tmp_path: Path, toy: linear.Linear, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "linear.npz"
    linear.save(path, "abc", toy)
    read = linear.load(path, "abc")
    assert read is not None
    assert (read.examples, read.units, read.longer) == (9, ("GAS", "PWR", "TEL"), toy.longer)
    assert read.keys.tolist() == toy.keys.tolist()
    assert np.allclose(read.rows, toy.rows, rtol=1e-3, atol=1e-3)
    assert read.intercept.tolist() == toy.intercept.tolist()
    assert linear.load(path, "abd") is None  # trained on other examples
    assert "trained on other examples" in caplog.text
    assert linear.load(tmp_path / "absent.npz", "abc") is None
    assert "is missing" in caplog.text
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    assert linear.load(tmp_path / "broken.npz", "abc") is None
    assert "cannot read" in caplog.text
    original = linear.FORMAT
    try:
        linear.FORMAT = original + 1
        linear.save(tmp_path / "old.npz", "abc", toy)
    finally:
        linear.FORMAT = original
    assert linear.load(tmp_path / "old.npz", "abc") is None


def test_its_grams_are_the_learned_grams_in_key_order(toy: linear.Linear) -> None:
    assert toy.longer == ("wifi",)  # a Latin run is one gram, after the keyed ones
    assert toy.keys.tolist() == sorted(toy.keys.tolist())
    keys, _ = pair_keys_of(["燃气", "停电", "断网"])
    assert set(keys.tolist()) <= set(toy.keys.tolist())
    gas, power = toy.units.index("GAS"), toy.units.index("PWR")
    row = {int(key): toy.rows[i] for i, key in enumerate(toy.keys.tolist())}
    assert row[int(pair_keys_of(["燃气"])[0][0])][gas] > 0
    assert row[int(pair_keys_of(["停电"])[0][0])][power] > 0
    assert row[int(pair_keys_of(["停电"])[0][0])][gas] < 0


def test_aligned_to_another_vocabulary_and_units(toy: linear.Linear) -> None:
    keys, _ = pair_keys_of(["停电", "燃气", "XY"])
    vocabulary = Vocabulary(np.sort(keys), ["wifi"])
    rows, idf_squared, intercept = toy.aligned(vocabulary, ["CAB", "GAS", "PWR"])
    assert rows.shape == (4, 3)
    order = np.sort(keys).tolist()
    at = {gram: order.index(int(pair_keys_of([gram])[0][0])) for gram in ("停电", "燃气", "XY")}
    source = {int(key): i for i, key in enumerate(toy.keys.tolist())}
    for gram in ("停电", "燃气"):
        mine = toy.rows[source[int(pair_keys_of([gram])[0][0])]]
        assert rows[at[gram], 1:].tolist() == [mine[0], mine[1]]  # GAS, PWR; TEL not asked
    assert rows[at["XY"]].tolist() == [0.0, 0.0, 0.0]  # a gram the SVM never saw
    assert idf_squared[at["XY"]] == 0.0
    assert rows[:, 0].tolist() == [0.0] * 4  # CAB: a unit it does not know
    assert intercept[0] == toy.intercept.min()
    assert intercept[1:].tolist() == toy.intercept[:2].tolist()
    assert rows[3].tolist() == [0.0, *toy.rows[-1][:2].tolist()]  # wifi, the longer run
    # Its own units, in its own order: whole rows, for the grams the vocabulary holds.
    same, _, own = toy.aligned(vocabulary, toy.units)
    assert same[at["燃气"]].tolist() == toy.rows[source[int(pair_keys_of(["燃气"])[0][0])]].tolist()
    assert same[at["XY"]].tolist() == [0.0, 0.0, 0.0]
    assert own.tolist() == toy.intercept.tolist()
    every = Vocabulary(toy.keys, list(toy.longer))
    assert np.array_equal(toy.aligned(every, toy.units)[0], toy.rows)


def test_its_decision_values_are_added_to_naive_bayes(toy: linear.Linear) -> None:
    units = ["GAS", "PWR", "TEL"]
    alone = UnitModel(TOY, units)
    both = UnitModel(TOY, units, linear=toy, linear_sharpness=6.0)
    norm = normalise("燃气管道又漏气了，还停电")
    ids = both.ids(norm)
    # naive Bayes' part: its rows (no gram left out beside the SVM), mean over ≥ 30 grams × 8
    bayes = both._logp[ids].sum(axis=0) * both.sharpness / max(len(ids), 30)
    # the SVM's part: its own decision values, as scikit-learn's decision_function gives them
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC
    vectoriser = TfidfVectorizer(analyzer=linear._grams)
    svm = LinearSVC(C=linear.C, dual=True, random_state=0, max_iter=5000).fit(
        vectoriser.fit_transform([e.text for e in TOY]), [e.unit for e in TOY])
    decision = svm.decision_function(vectoriser.transform([norm]))[0]
    damp = min(1.0, len(ids) / 30)
    z = bayes + 6.0 * damp * decision
    expected = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert np.allclose(both.predict(norm).posterior, expected, atol=1e-5)
    assert not np.allclose(alone.predict(norm).posterior, expected, atol=1e-3)


def test_the_router_uses_both_unless_told_not_to() -> None:
    items = parse_table(demo_rules_path()).items
    both = CompiledRules(1, items)
    assert both.model is not None
    assert both.model.linear is linear.shipped()
    assert both.model_weight == Weights().linear_model
    d = both.decide("我家孩子在学校被同学欺负，老师也不管", Hints(street_code=STREET))
    line = next(r for r in d.reasons if r.startswith("learned model consulted"))
    assert "a linear SVM over character n-grams of" in line
    assert "and naive Bayes" in line
    alone = CompiledRules(1, items, Weights(linear=0.0))
    assert alone.model is not None
    assert alone.model.linear is None
    assert alone.model_weight == Weights().model
    line = next(r for r in alone.decide("我家孩子在学校被同学欺负，老师也不管",
                                        Hints(street_code=STREET)).reasons
                if r.startswith("learned model consulted"))
    assert "linear SVM" not in line
    # Folds of cross-validation learn from other complaints: no shipped SVM unless given.
    folded = CompiledRules(1, items, shared=corpus_examples()[:500])
    assert folded.model is not None
    assert folded.model.linear is None


def test_weights_trained_on_other_examples_are_not_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toy: linear.Linear,
        caplog: pytest.LogCaptureFixture) -> None:
    stale = tmp_path / "corpus-linear.npz"
    linear.save(stale, "an older examples file", toy)
    monkeypatch.setattr(linear, "LINEAR", stale)
    rules = CompiledRules(1, parse_table(demo_rules_path()).items)
    assert rules.model is not None
    assert rules.model.linear is None
    assert rules.model_weight == Weights().model
    assert "trained on other examples" in caplog.text


def test_a_text_only_the_model_names_is_routed_no_surer_than_the_model_is() -> None:
    """今天天气不错 says nothing; 天气 leans to GAS. The model's 0.24 × 10 scores like a phrase,
    so without the cap the confidence would read 0.72 and route it."""
    items = parse_table(demo_rules_path()).items
    d = CompiledRules(1, items).decide("今天天气不错", Hints(street_code=STREET))
    assert d.needs_triage
    cap = next(r for r in d.reasons if r.startswith("only the learned model names"))
    assert cap.endswith(f"{d.confidence:.2f}")
    uncapped = CompiledRules(1, items, Weights(model_alone_cap=False))
    routed = uncapped.decide("今天天气不错", Hints(street_code=STREET))
    assert (routed.unit_code, routed.confidence) == ("GAS", 0.719)  # as docs/routing.md says
    assert d.confidence == 0.24  # the model's probability of GAS


def test_a_short_text_speaks_softly() -> None:
    """The SVM's decision values do not grow with the text (they are normalised by its length):
    under 30 known grams they are damped as naive Bayes' mean is."""
    items = parse_table(demo_rules_path()).items
    model = CompiledRules(1, items).model
    assert model is not None
    short = model.predict(normalise("天气不错")).posterior.max()
    longer = model.predict(normalise("燃气管道漏气了，楼道里一股煤气味，燃气公司快来")).best()
    assert short < 0.5
    assert longer[0] == "GAS"
    assert longer[1] > 0.95


def test_a_correction_teaches_the_svm_too(toy: linear.Linear) -> None:
    units = ["GAS", "PWR", "TEL"]
    text = normalise("燃气表旁边的电表跳闸了")
    model = UnitModel(TOY, units, linear=toy)
    ids = model.ids(text)

    def margin() -> float:
        norm = np.sqrt(model._idf_squared[ids].sum())
        decision = model._linear_rows[ids].sum(axis=0) / norm + model._intercept
        return float(decision[units.index("TEL")] - np.delete(decision, 2).max())

    assert margin() < 0  # the SVM does not think it telecom
    before = model.predict(text).posterior[2]
    assert model.learn([Example(text, "TEL", 3.0)]) == 1
    assert margin() == pytest.approx(1.0, abs=1e-4)  # just enough, over every other unit
    assert model.predict(text).posterior[2] > 5 * before  # 0.011 → 0.074 beside naive Bayes
    assert model.learn([Example(text, "TEL", 3.0)]) == 0  # already right by 1: left alone
    capped = UnitModel(TOY, units, linear=toy)
    capped.learn([Example(text, "TEL", 0.01)])  # steps of at most 0.01 in all
    untaught = UnitModel(TOY, units, linear=toy)
    moved = np.abs(capped._linear_rows - untaught._linear_rows).max()
    # a step τ moves a row by τ·idf² / norm ≤ τ·idf (the norm is at least the gram's idf)
    assert 0 < moved <= 0.01 * np.sqrt(untaught._idf_squared.max()) + 1e-6
    assert UnitModel(TOY, units).learn([Example(text, "TEL", 3.0)]) == 0  # no SVM: nothing
