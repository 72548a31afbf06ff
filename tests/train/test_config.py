from pathlib import Path

import pytest

from waspada.inference.errors import InputError
from waspada.train.config import WaspadaConfig, load_config

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["tiny", "indobert-base", "indobert-large", "indobert-lite", "e5-small-offline"])
def test_shipped_configs_load(name):
    path = REPO / "configs" / f"{name}.yaml"
    if not path.exists():
        pytest.skip(f"{path.name} not in this checkout")
    config = load_config(path)
    assert config.data.labels == ["preemptive", "preventive", "neutrality", "threat_awareness"]


def test_gpu_config_uses_the_real_hub_backbone():
    config = load_config(REPO / "configs" / "indobert-base.yaml")
    assert config.model.backbone == "indobenchmark/indobert-base-p1"


def test_overrides_are_typed_and_validated(tmp_path):
    config = load_config(REPO / "configs" / "tiny.yaml", ["training.epochs=3", "model.text_prefix=query: "])
    assert config.training.epochs == 3 and config.model.text_prefix == "query: "
    assert load_config(None, ["training.learning_rate=1e-4"]).training.learning_rate == 1e-4
    assert load_config(None, ["model.tokenizer=null"]).model.tokenizer is None
    assert load_config(None, ["data.labels=[a, b]"]).data.labels == ["a", "b"]
    with pytest.raises(InputError, match="field 'training.epochs': must be int, got str 'three'"):
        load_config(None, ["training.epochs=three"])
    with pytest.raises(InputError, match="field 'model.freeze_embeddings': must be bool"):
        load_config(None, ["model.freeze_embeddings=1"])
    with pytest.raises(InputError, match="field 'training': training.epochs must be >= 1"):
        load_config(REPO / "configs" / "tiny.yaml", ["training.epochs=0"])
    with pytest.raises(InputError, match="unknown key"):
        load_config(None, ["training.epoch=3"])
    with pytest.raises(InputError, match="section.key"):
        load_config(None, ["epochs=3"])


def test_yaml_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  backbone: x\n  max_length: [\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_config(bad)
    assert str(info.value).startswith(f"{bad}:")
    typo = tmp_path / "typo.yaml"
    typo.write_text("training:\n  epochs: '3'\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"{typo}: field 'training.epochs': must be int"):
        load_config(typo)
    with pytest.raises(InputError, match="unknown section"):
        (tmp_path / "s.yaml").write_text("modle: {}\n")
        load_config(tmp_path / "s.yaml")


def test_round_trip_through_yaml(tmp_path):
    config = load_config(REPO / "configs" / "tiny.yaml", ["training.seed=7"])
    path = tmp_path / "saved.yaml"
    path.write_text(config.to_yaml(), encoding="utf-8")
    assert load_config(path) == config
    assert isinstance(config, WaspadaConfig)
