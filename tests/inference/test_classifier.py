"""The Python API on the tiny model: predict, classify_documents, load errors."""

import numpy as np
import pytest

from waspada import Classifier
from waspada.inference.errors import InputError, ModelFolderError

DOC = ("PALU – Kapolres Palu AKBP Made Suarta memerintahkan patroli skala besar selama masa tenang. "
       "“Tolak politik uang dan jangan terprovokasi hoaks,” ujarnya, Senin (25/11/2024).\n\n"
       "ASN diminta menjaga netralitas. Harga cabai naik.")


def test_predict_returns_labels_and_every_score(tiny_model):
    clf = Classifier.load(tiny_model)
    (prediction,) = clf.predict(["Patroli malam ditambah menjadi tiga kali."])
    assert set(prediction.scores) == set(clf.labels)
    assert all(0.0 <= s <= 1.0 for s in prediction.scores.values())
    assert set(prediction.labels) <= set(clf.labels)
    with pytest.raises(TypeError):
        clf.predict_proba("one string is not a list")
    assert clf.predict_proba([]).shape == (0, 4)


def test_classify_documents_offsets_and_scores_match_predict(tiny_model):
    clf = Classifier.load(tiny_model)
    results = list(clf.classify_documents([{"id": "d1", "text": DOC, "date": "2024-11-25"}, DOC]))
    first = [r for r in results if r.doc_id == "d1"]
    assert [r.index for r in first] == list(range(len(first))) and len(first) == 4
    for r in first:
        assert DOC[r.start:r.end] == r.text
        assert r.fields == {"date": "2024-11-25"}
    second = [r for r in results if r.doc_id == "1"]
    assert [r.text for r in second] == [r.text for r in first]
    direct = clf.predict_proba([r.text for r in first])
    np.testing.assert_allclose(direct, [[r.scores[n] for n in clf.labels] for r in first], atol=1e-6)


def test_window_size_does_not_change_results(tiny_model):
    clf = Classifier.load(tiny_model)
    docs = [{"id": str(i), "text": DOC} for i in range(5)]
    small = list(clf.classify_documents(docs, window=3))
    large = list(clf.classify_documents(docs, window=10_000))
    assert [(r.doc_id, r.index, r.labels) for r in small] == [(r.doc_id, r.index, r.labels) for r in large]
    np.testing.assert_allclose([list(r.scores.values()) for r in small],
                               [list(r.scores.values()) for r in large], atol=1e-6)


def test_units(tiny_model):
    clf = Classifier.load(tiny_model)
    paragraphs = list(clf.classify_documents([DOC], unit="paragraph"))
    assert len(paragraphs) == 2 and DOC[paragraphs[1].start:paragraphs[1].end] == paragraphs[1].text
    (whole,) = list(clf.classify_documents([DOC], unit="document"))
    assert whole.text == DOC.strip()


def test_bad_documents_and_folders(tiny_model, tmp_path):
    clf = Classifier.load(tiny_model)
    with pytest.raises(InputError, match="field 'text'"):
        list(clf.classify_documents([{"id": "x", "body": "no text field"}]))
    with pytest.raises(ModelFolderError, match="does not exist"):
        Classifier.load(tmp_path / "nothing")
    with pytest.raises(ModelFolderError, match="no waspada.json"):
        Classifier.load(tmp_path)
