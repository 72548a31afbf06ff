import pytest

from conftest import REPO
from waspada.inference import Classifier, ModelMetadata
from waspada.train.baseline import train_baseline
from waspada.train.config import load_config
from waspada.train.evaluate import evaluate


def test_baseline_is_saved_and_evaluated_like_any_model(small_corpus, tmp_path):
    config = load_config(REPO / "configs" / "tiny.yaml", [
        f"data.train={small_corpus['train']}", f"data.dev={small_corpus['dev']}",
        f"data.test={small_corpus['test']}"])
    result = train_baseline(config, tmp_path / "tfidf")
    meta = ModelMetadata.load(tmp_path / "tfidf")
    assert meta.kind == "tfidf" and len(meta.thresholds) == 4
    clf = Classifier.load(tmp_path / "tfidf")
    assert clf.backend.name == "tfidf"
    scores = clf.predict_proba(["Bhabinkamtibmas menyambangi warga untuk sosialisasi pemilu damai."])
    assert scores.shape == (1, 4) and ((scores >= 0) & (scores <= 1)).all()
    evaluation = evaluate(tmp_path / "tfidf", small_corpus["test"])
    assert evaluation.metrics["macro_f1"] == pytest.approx(result.test_metrics["macro_f1"])
    with pytest.raises(Exception, match="tfidf"):
        Classifier.load(tmp_path / "tfidf", backend="torch")
