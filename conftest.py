"""Project-wide pytest set-up: deterministic Hypothesis runs and the slow-test opt-in.

``pytest`` runs the fast default suite; ``pytest --run-slow`` adds the tests marked ``slow``
(the pre-commit ``try-repo`` proof, long property runs).
"""

from __future__ import annotations

import pytest

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis is a test extra; the plugin must not need it
    settings = None

if settings is not None:
    # Derandomised: the same examples on every run, so CI is reproducible and a failure repeats.
    settings.register_profile(
        "convguard", derandomize=True, deadline=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.load_profile("convguard")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run tests marked slow (pre-commit try-repo, long property runs)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)
