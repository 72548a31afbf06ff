"""Sub-commands of the ``waspada`` CLI, one module each (see :mod:`waspada.cli`)."""
