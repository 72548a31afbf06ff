"""Silence transformers' chatter around a load or save, then put its settings back.

Loading a model folder prints a "Loading weights" bar and, for a fresh head, a
"newly initialised" warning. In a command or a user's batch script that is noise, but the
settings are process-wide, so they are restored afterwards: a caller who wants the bars
elsewhere keeps them.
"""

from __future__ import annotations

import contextlib
from typing import Iterator


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Errors only and no progress bars from transformers inside the block."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()
