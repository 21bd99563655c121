"""The conformance kit's CLI commands, imported by :mod:`convguard.cli` on first use:
``convguard test`` (:mod:`.test`), ``convguard mutate`` (:mod:`.mutate`) and ``convguard bench``
(:mod:`.bench`)."""
