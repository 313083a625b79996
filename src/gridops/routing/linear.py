"""The learned model's second part: a linear support vector machine over the same character
1–2-grams as naive Bayes (`gridops.routing.learned.grams`), trained when the examples are
written, not at run time.

Naive Bayes counts how often each gram comes with each unit; the SVM learns how much each gram
must weigh for the complaints to be told apart, so a gram that every unit's complaints share
weighs nothing and a rare gram that always means one unit weighs much. Over the same n-grams it
ranks 95.9 % of unseen authors' complaints right first against naive Bayes' 95.0 %
(`bench/routing_model_compare.py`), and beside naive Bayes in the router it cut the
leave-one-author-out cost by 23 % (`bench/routing_cv.py --by-author`; docs/routing.md, step 5b
and § Current figures).

It is scikit-learn's LinearSVC (one versus the rest, squared hinge loss, C = 0.5, liblinear's
dual coordinate descent with a fixed seed) over tf-idf of each complaint's distinct grams
(normalised to length 1). Training takes seconds, so it is done when the shipped examples are
written (`bench/routing_examples.py`), which needs scikit-learn; the router only reads what
training left: per gram its weight per unit times its idf, the idf, and the per-unit intercepts.
For a text with grams G, the SVM's decision value for unit u is
    Σ_{g∈G} w_u(g)·idf(g) / √(Σ_{g∈G} idf(g)²) + b_u,
the same sum over a text's gram rows that naive Bayes does (`UnitModel.predict_ids`).

The file (`examples/corpus-linear.npz`) names the digest of the examples it was trained on; a
process reads it only when that is the shipped examples' digest, and otherwise logs a warning
and routes with naive Bayes alone (as before the SVM shipped), so an edited examples file is
never read with stale weights. Plain arrays only (no pickles): numpy reads it without running
code. The SVM learns from the shipped complaints only: the items' wording and the dispatchers'
corrections of a version are learned by naive Bayes when the version is compiled.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from gridops.routing.learned import Example, corpus_digest, grams
from gridops.routing.ngrams import LONG, Vocabulary, key_of

__all__ = ["FORMAT", "LINEAR", "C", "Linear", "fit", "load", "save", "shipped"]

LINEAR = Path(__file__).parent / "examples" / "corpus-linear.npz"
C = 0.5  # LinearSVC's C, as bench/routing_model_compare.py measured the pair (its --c)
# Bump when what is stored changes: an old file is then ignored.
FORMAT = 1
_log = logging.getLogger(__name__)

Floats = npt.NDArray[np.float64]


class Linear(NamedTuple):
    """A trained SVM, its grams in key order (as `gridops.routing.ngrams.Vocabulary`)."""

    examples: int  # how many complaints it learned from
    units: tuple[str, ...]  # its columns, sorted
    keys: npt.NDArray[np.int64]  # the one- and two-character grams' keys, ascending
    longer: tuple[str, ...]  # then the longer Latin runs, in (length, text) order
    rows: npt.NDArray[np.float32]  # per gram (keys, then longer), weight × idf per unit
    idf: npt.NDArray[np.float32]  # per gram
    intercept: Floats  # per unit

    def aligned(self, vocabulary: Vocabulary,
                units: Sequence[str]) -> tuple[npt.NDArray[np.float32], Floats, Floats]:
        """The rows, squared idfs and intercepts in a model's vocabulary and unit order. A gram
        the vocabulary lacks is left out; a unit the SVM does not know gets no weight and the
        lowest intercept (it is never the SVM's choice)."""
        found = np.concatenate((self.keys, LONG + np.arange(len(self.longer), dtype=np.int64)))
        at = vocabulary.positions(found, list(self.longer))
        known = at >= 0
        columns = [self.units.index(unit) if unit in self.units else -1 for unit in units]
        present = np.array([j for j, column in enumerate(columns) if column >= 0],
                           dtype=np.intp)
        rows = np.zeros((len(vocabulary), len(units)), dtype=np.float32)
        if tuple(units) == self.units:  # the usual case: whole rows, no column shuffle
            if known.all():  # the vocabulary holds every gram: no copy of the rows kept
                rows[at] = self.rows
            else:
                rows[at[known]] = self.rows[known]
        else:
            rows[np.ix_(at[known], present)] = self.rows[known][:, np.array(columns)[present]]
        idf_squared = np.zeros(len(vocabulary))
        idf_squared[at[known]] = self.idf[known].astype(np.float64) ** 2
        intercept = np.full(len(units), float(self.intercept.min()) if len(self.intercept)
                            else 0.0)
        intercept[present] = self.intercept[np.array(columns)[present]]
        return rows, idf_squared, intercept


def _grams(text: str) -> list[str]:
    return sorted(grams(text))


def fit(examples: Sequence[Example], c: float = C) -> Linear:
    """Train the SVM on labelled complaints (needs scikit-learn, a development dependency: the
    service only reads what this returns)."""
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC
    except ImportError as error:  # pragma: no cover - a dev install has it
        raise RuntimeError("training the linear model needs scikit-learn: "
                           "pip install -e '.[dev]'") from error
    vectoriser = TfidfVectorizer(analyzer=_grams)
    features = vectoriser.fit_transform([example.text for example in examples])
    svm = LinearSVC(C=c, dual=True, random_state=0, max_iter=5000)
    svm.fit(features, [example.unit for example in examples])
    # Keyed grams by key, then the longer Latin runs by (length, text): a Vocabulary's order.
    short = sorted((key, column) for gram, column in vectoriser.vocabulary_.items()
                   if (key := key_of(gram)) is not None)
    runs = sorted((len(gram), gram, column) for gram, column in vectoriser.vocabulary_.items()
                  if len(gram) > 2)
    columns = [column for _, column in short] + [column for _, _, column in runs]
    idf = np.asarray(vectoriser.idf_, dtype=np.float64)[columns]
    weights = np.asarray(svm.coef_, dtype=np.float64)[:, columns].T
    return Linear(len(examples), tuple(str(unit) for unit in svm.classes_),
                  np.array([key for key, _ in short], dtype=np.int64),
                  tuple(gram for _, gram, _ in runs), (weights * idf[:, None]).astype(np.float32),
                  idf.astype(np.float32), np.asarray(svm.intercept_, dtype=np.float64))


def save(path: Path, digest: str, linear: Linear) -> None:
    """Write `linear` for the examples whose digest is `digest`, its weights as 16-bit floats:
    half the size of 32-bit ones (8.6 MB for 187,277 grams × 23 units). Cross-validation routes
    alike with either (`bench/routing_cv.py --by-author --config linear=6`, whose folds' SVMs
    are 32-bit, and the same with --svm-cache, 16-bit: cost 3,644 both). Four in ten weights are
    non-zero, too many for a sparse file to be smaller."""
    with path.open("wb") as out:
        np.savez(out, format=np.int64(FORMAT), digest=np.array(digest),
                 examples=np.int64(linear.examples), units=np.array(linear.units),
                 keys=linear.keys, longer=np.array(linear.longer, dtype=np.str_),
                 rows=linear.rows.astype(np.float16), idf=linear.idf,
                 intercept=linear.intercept)


@lru_cache(maxsize=2)
def load(path: Path, digest: str) -> Linear | None:
    """The SVM in `path` if it was trained on the examples whose digest is `digest` (in this
    file format); None otherwise, or if there is no such file or it cannot be read. A file that
    is there but not read is logged: the router then uses naive Bayes alone."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            if int(stored["format"]) != FORMAT or str(stored["digest"]) != digest:
                _log.warning("%s was trained on other examples or is of another format: the "
                             "router uses naive Bayes alone (run bench/routing_examples.py)",
                             path)
                return None
            return Linear(int(stored["examples"]),
                          tuple(str(unit) for unit in stored["units"].tolist()),
                          stored["keys"].astype(np.int64),
                          tuple(str(run) for run in stored["longer"].tolist()),
                          stored["rows"].astype(np.float32), stored["idf"].astype(np.float32),
                          stored["intercept"].astype(np.float64))
    except FileNotFoundError:
        _log.warning("%s is missing: the router uses naive Bayes alone", path)
        return None
    except (OSError, KeyError, ValueError) as error:
        _log.warning("cannot read %s (%s): the router uses naive Bayes alone", path, error)
        return None


def shipped() -> Linear | None:
    """The SVM trained on the shipped examples, if its file is theirs."""
    return load(LINEAR, corpus_digest())
