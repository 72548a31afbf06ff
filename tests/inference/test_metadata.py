import json

import pytest

from waspada.inference.errors import ModelFolderError
from waspada.inference.metadata import METADATA_FILE, ModelMetadata

LABELS = ["preemptive", "preventive", "neutrality", "threat_awareness"]


def test_round_trip(tmp_path):
    meta = ModelMetadata(labels=LABELS, thresholds=[0.3, 0.4, 0.5, 0.6], text_prefix="query: ",
                         config={"model": {"backbone": "x"}})
    meta.save(tmp_path)
    assert ModelMetadata.load(tmp_path) == meta
    assert meta.threshold_by_label["neutrality"] == 0.5
    assert not [p for p in tmp_path.iterdir() if p.name != METADATA_FILE]  # no temp files left


@pytest.mark.parametrize("change, message", [
    ({"thresholds": [0.5, 0.5]}, "2 thresholds for 4 labels"),
    ({"thresholds": [0.5, 0.5, 1.5, 0.5]}, "threshold of 'neutrality' is 1.5"),
    ({"labels": ["a", "a", "b", "c"]}, "duplicates"),
    ({"format_version": 99}, "newer than this waspada"),
])
def test_invalid_metadata_is_rejected(tmp_path, change, message):
    raw = {"labels": LABELS, "thresholds": [0.5] * 4, **change}
    (tmp_path / METADATA_FILE).write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ModelFolderError, match=message):
        ModelMetadata.load(tmp_path)


def test_missing_and_broken_files_name_the_folder(tmp_path):
    with pytest.raises(ModelFolderError, match="no waspada.json; not a waspada model folder"):
        ModelMetadata.load(tmp_path)
    (tmp_path / METADATA_FILE).write_text('{"labels": [', encoding="utf-8")
    with pytest.raises(ModelFolderError, match=r"waspada.json:1: invalid JSON"):
        ModelMetadata.load(tmp_path)
    (tmp_path / METADATA_FILE).write_text('{"labels": ["a"], "thresholds": [0.5], "colour": 1}')
    with pytest.raises(ModelFolderError, match="unknown fields"):
        ModelMetadata.load(tmp_path)
