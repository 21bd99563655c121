"""The example third-party profile (``examples/order-status-profile``), installed and run for real.

The session installs the example with pip (``pip install --no-deps --target DIR``: a real build
of its ``pyproject.toml``, entry point and all) into a folder cached by the hash of its files, and
every test runs ``convguard`` in a subprocess with that folder on ``PYTHONPATH``, so the profile is
found the way an installed plugin is found (``importlib.metadata`` entry points), and the suite's
own environment is never changed. The install costs a few seconds once; later runs reuse it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "order-status-profile"
APP = EXAMPLE / "app"
QUERY = APP / "queries" / "order_status.sql"


def _example_hash() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for path in sorted(EXAMPLE.rglob("*")):
        if path.is_file() and not {"__pycache__", "build"} & set(path.parts) \
                and ".egg-info" not in str(path):
            digest.update(str(path.relative_to(EXAMPLE)).encode() + path.read_bytes())
    return digest.hexdigest()[:16]


_BUILD_LEFTOVERS = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")


def _pip_install(target: Path) -> None:
    # From a copy: a build writes build/ and *.egg-info next to the sources it builds.
    source = target.with_name(target.name + ".src")
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(EXAMPLE, source, ignore=_BUILD_LEFTOVERS)
    base = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
            str(target), str(source)]
    completed = subprocess.run(base, capture_output=True, text=True, timeout=300)
    if completed.returncode != 0:  # no index for an isolated build: use this environment's
        completed = subprocess.run([*base, "--no-build-isolation"], capture_output=True,
                                   text=True, timeout=300)
    shutil.rmtree(source, ignore_errors=True)
    assert completed.returncode == 0, completed.stderr[-3000:]


@pytest.fixture(scope="session")
def example_site() -> Iterator[Path]:
    """A folder holding the installed example profile (dist-info with its entry point)."""
    cache = Path(os.environ.get("CONVGUARD_CACHE_DIR") or Path.home() / ".cache" / "convguard")
    target = cache / f"example-profile-{_example_hash()}"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / "example-profile.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers install it once between them
        if not (target / "order_status_profile" / "__init__.py").is_file():
            partial = target.with_name(target.name + f".{os.getpid()}")
            shutil.rmtree(partial, ignore_errors=True)
            _pip_install(partial)
            partial.rename(target)
    yield target


def convguard(site: Path, *args: str, cwd: Path = APP) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT / "src")]))
    return subprocess.run([sys.executable, "-m", "convguard", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_both_profiles_load_through_the_entry_point(example_site: Path) -> None:
    code = ("from convguard.profiles import available_profiles\n"
            "print(sorted(available_profiles()))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(example_site), str(ROOT / "src")]))
    completed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                               text=True, timeout=120, check=True)
    assert completed.stdout.strip() == "['booking-conversion', 'order-status']"


def test_its_rules_show_in_convguard_rule(example_site: Path) -> None:
    listing = convguard(example_site, "rule")
    assert listing.returncode == 0, listing.stderr
    codes = [line.split()[0] for line in listing.stdout.splitlines()[1:]]
    assert {"ORD101", "ORD102", "CG201", "CG001"} <= set(codes)
    doc = convguard(example_site, "rule", "ORD101")
    assert doc.returncode == 0, doc.stderr
    assert "## Why is this bad?" in doc.stdout
    assert "Profile: order-status; semantics: " in doc.stdout
    assert doc.stdout.rstrip().endswith("order_status_profile/SEMANTICS.md")


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the example app whose query has ``old`` replaced by ``new``."""
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    query = app / "queries" / "order_status.sql"
    text = query.read_text()
    assert text.count(old) == 1, old
    query.write_text(text.replace(old, new))
    return app


def test_its_rules_run_under_convguard_check(example_site: Path, tmp_path: Path) -> None:
    clean = convguard(example_site, "check")
    assert (clean.returncode, clean.stderr) == (0, ""), clean.stdout
    inclusive = _variant(tmp_path / "a", 'o."createdAt" < :to', 'o."createdAt" <= :to')
    found = convguard(example_site, "check", cwd=inclusive)
    assert found.returncode == 1, found.stdout + found.stderr
    assert "ORD101" in found.stdout and "range-end-inclusive" in found.stdout
    unfiltered = _variant(tmp_path / "b", 'o."tenantId" = :tenant_id', ":tenant_id IS NOT NULL")
    found = convguard(example_site, "check", cwd=unfiltered)
    assert found.returncode == 1 and "ORD102" in found.stdout, found.stdout + found.stderr


def test_its_scenarios_and_oracle_run_under_convguard_test(example_site: Path,
                                                           tmp_path: Path) -> None:
    passed = convguard(example_site, "test", "--examples", "0")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "3 passed, 0 failed (1 query x 3 scenarios" in passed.stdout
    inclusive = _variant(tmp_path, 'o."createdAt" < :to', 'o."createdAt" <= :to')
    failed = convguard(example_site, "test", "--examples", "0", cwd=inclusive)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "end-is-exclusive" in failed.stdout
    assert "2 passed, 1 failed" in failed.stdout


def test_bench_seeds_it_with_its_own_generator_in_its_own_units(example_site: Path) -> None:
    """The profile's data generator (``order_status_profile.synthetic``) names the unit, orders,
    and what it seeded: bench says neither leads nor drafts for it."""
    import json

    completed = convguard(example_site, "bench", "--sizes", "300,1200", "--no-advise", "--format",
                          "json")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = json.loads(completed.stdout)
    assert (document["unit"], document["size"], document["orders"], document["tenants"]) \
        == ("orders", 1_200, 1_200, 10)
    assert [size["size"] for size in document["sizes"]] == [300, 1_200]
    assert document["rows_seeded"] == 1_210 and "leads" not in document
    assert sorted(row[0] for row in document["result"]) == ["PAID", "PENDING", "REFUNDED"]
    text = convguard(example_site, "bench", "--size", "300", "--no-advise")
    assert text.returncode == 0, text.stdout + text.stderr
    assert "data: 300 orders, 10 tenants (tenant t1 queried)" in text.stdout
    assert "costliest plan nodes at 300 orders" in text.stdout
    assert "lead" not in text.stdout and "draft" not in text.stdout
