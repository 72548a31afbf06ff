"""Loading a model is silent, and transformers' process-wide settings are put back."""

import pytest
from transformers.utils import logging as hf_logging

from waspada.inference import Classifier
from waspada.inference.hf_quiet import quiet_transformers


@pytest.mark.parametrize("bars_before", [True, False])
def test_settings_are_restored(bars_before):
    level = hf_logging.get_verbosity()
    (hf_logging.enable_progress_bar if bars_before else hf_logging.disable_progress_bar)()
    hf_logging.set_verbosity_info()
    try:
        with quiet_transformers():
            assert not hf_logging.is_progress_bar_enabled()
            assert hf_logging.get_verbosity() == hf_logging.ERROR
        assert hf_logging.is_progress_bar_enabled() is bars_before
        assert hf_logging.get_verbosity() == hf_logging.INFO
    finally:
        hf_logging.set_verbosity(level)
        hf_logging.enable_progress_bar()


def test_loading_a_model_prints_nothing(tiny_model, capfd):
    hf_logging.enable_progress_bar()
    capfd.readouterr()
    Classifier.load(tiny_model).predict(["Patroli malam ditambah menjadi tiga kali."])
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
    assert hf_logging.is_progress_bar_enabled()
