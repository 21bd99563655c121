"""Fuzzing what users feed the kit: scenario documents and configuration files.

Whatever a scenario file or a ``convguard.toml``/``pyproject.toml`` holds, ``convguard test`` and
``convguard check`` answer 0, 1 or 2 with a message - never "internal error", never a traceback.
The documents are mutations of the real fixtures (tokens that trip YAML, JSON and TOML readers:
aliases, tags, ``.nan``, year-1 and year-9999 timestamps, deep brackets, bad bytes) and documents
built from the schema's keys with arbitrary values.

The CLI runs in-process with an unreachable ``--dsn``: a document that passes every check stops
at "cannot connect" (exit 2), so the default suite needs no server and stays fast. The ``slow``
variant runs the valid ones on the embedded server. Derandomised by ``conftest.py``'s profile.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convguard._config import clear_config_cache
from convguard.cli import main

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_SQL = (ROOT / "fixtures" / "queries" / "booking_conversion.sql").read_text("utf-8")
SCENARIO_SEEDS = [path.read_text("utf-8") for path in sorted(
    (ROOT / "fixtures" / "scenarios").glob("*.yaml"))[:6]]
CONFIG_SEED = ('driver = "node-postgres"\nscenarios = ["sc"]\nselect = ["CG1", "CG2"]\n'
               'ignore = ["CG104"]\nclient_time_zone = "UTC"\n\n[[query]]\npath = "q.sql"\n'
               'profile = "booking-conversion"\n[query.params]\n'
               '"maturityCutoff" = "maturity_cutoff"\n')
UNREACHABLE = "postgresql://convguard@127.0.0.1:1/convguard"

YAML_TOKENS = ["&a ", "*a", "<<: *a", "!!binary ", "!!timestamp ", "!!set ", "!!python/object ",
               "!!float ", ".nan", ".inf", "-.inf", "1e400", "~", "null", "---\n", "...\n", "? ",
               ": ", "- ", "[", "]", "{", "}", ",", "\t", "\n", "  ", "'", '"', "#", "%YAML 1.1\n",
               "0001-01-01T00:00:00Z", "9999-12-31T23:00:00-05:00", "2026-02-30", "\x00", "\ufeff",
               "[" * 70, "é", "\\u0000", "true", "-1", "99999999999999999999", "\r",
               "1" * 4400, "0b" + "1" * 400, "0x" + "f" * 200]
TOML_TOKENS = ["=", "[", "]", "[[query]]\n", "[query.params]\n", "[tool]\n", "\"", "'", "'''",
               '"""', "\n", "5", "nan", "inf", "1979-05-27T07:32:00Z", "{", "}", ",", "#", "\x00",
               "\ufeff", "\xff", "true", "[" * 60, "CG99", "ALL", "schema = 5\n", "driver = 1\n",
               "provider = \"x\"\n", "client_time_zone = \"Mars/Base\"\n", "query = 5\n",
               "1" * 5000, "0x" + "f" * 3000]
SCENARIO_KEYS = ["name", "description", "params", "tables", "expected"]
PARAM_KEYS = ["to", "from", "client_ids", "attribution_window_days", "maturity_buffer_days",
              "maturity_cutoff", "window"]
TABLES = {"Client": ["id"], "Lead": ["id", "clientId", "appointmentBookedAt", "ghlAppointmentId"],
          "AIDraft": ["id", "leadId", "channel", "responseDisposition"],
          "Message": ["id", "leadId", "aiDraftId", "direction", "body", "sentAt"], "Nope": ["x"]}
CONFIG_KEYS = ["driver", "client_time_zone", "tags", "forbidden_time_columns", "anchor_cte",  # moved: an error
               "schema", "provider", "scenarios", "select", "ignore", "query",
               "equivalent_mutants", "unknown"]

FUZZ = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    st.sampled_from(["2026-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                     "2026-01-01T00:00:00.0001Z", "c1", "l1", "d1", "sms", "EDITED", "outbound",
                     "sms-EDITED", "booked", "CG1", "CG104", "ALL", "UTC", "embedded"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12)


def _mutate(draw: st.DrawFn, text: str, tokens: list[str]) -> str:
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = min(len(text), start + draw(st.integers(0, 30)))
        action = draw(st.sampled_from(["cut", "insert", "duplicate"]))
        if action == "cut":
            text = text[:start] + text[end:]
        elif action == "insert":
            text = text[:start] + draw(st.sampled_from(tokens)) + text[start:]
        else:
            text = text[:end] + text[start:end] + text[end:]
    return text


@st.composite
def mutated_scenarios(draw: st.DrawFn) -> tuple[str, str]:
    return "s.yaml", _mutate(draw, draw(st.sampled_from(SCENARIO_SEEDS)), YAML_TOKENS)


@st.composite
def built_scenarios(draw: st.DrawFn) -> tuple[str, str]:
    """A document shaped like a scenario, with arbitrary values where scenarios hold values."""
    row = st.dictionaries(st.sampled_from([column for columns in TABLES.values() for column in columns]), values, max_size=5)
    # Mostly well-formed around the one value under test, so the fuzz reaches the deep checks.
    document: dict[str, object] = {"name": draw(st.one_of(st.just("fuzz"), st.just("fuzz"),
                                                          st.text(max_size=8), values))}
    if draw(st.integers(0, 3)):
        params = draw(st.dictionaries(st.sampled_from(PARAM_KEYS), values, max_size=3))
        if draw(st.booleans()):
            params["to"] = "2026-02-01T00:00:00Z"
        document["params"] = params if draw(st.integers(0, 5)) else draw(values)
    tables = draw(st.dictionaries(st.sampled_from(sorted(TABLES)), st.lists(row, max_size=3),
                                  max_size=4))
    if draw(st.booleans()):
        tables["Client"] = [{"id": "c1"}]
    document["tables"] = tables if draw(st.integers(0, 5)) else draw(values)
    if draw(st.booleans()):
        document["expected"] = draw(st.one_of(st.dictionaries(
            st.sampled_from(["sms-EDITED", "email-AUTO_SENT", "nope"]),
            st.dictionaries(st.sampled_from(["booked", "pending", "eligible"]), values,
                            max_size=3), max_size=3), values))
    if draw(st.booleans()):
        document[draw(st.sampled_from([*SCENARIO_KEYS, "extra"]))] = draw(values)
    if draw(st.booleans()):
        return "s.json", json.dumps(document, default=str, ensure_ascii=draw(st.booleans()))  # NaN/Infinity as JSON extensions
    import yaml

    return "s.yaml", yaml.safe_dump(document, default_flow_style=draw(st.booleans()))


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if abs(value) < 2**63 else json.dumps(str(value))
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") \
            if math.isinf(value) else repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value if item is not None) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {_toml_value(v)}" for k, v in value.items()
                               if v is not None) + "}"
    return json.dumps(str(value), ensure_ascii=False)


@st.composite
def built_configs(draw: st.DrawFn) -> tuple[str, str]:
    lines = [f"{key} = {_toml_value(draw(values.filter(lambda v: v is not None)))}"
             for key in draw(st.lists(st.sampled_from(CONFIG_KEYS), unique=True, max_size=4))
             if key != "query"]
    for _ in range(draw(st.integers(0, 2))):
        lines.append("[[query]]")
        entry = draw(st.dictionaries(st.sampled_from(
            ["path", "function", "profile", "params", "scenarios", "driver", "other"]),
            values.filter(lambda v: v is not None), max_size=4))
        entry.setdefault("path", draw(st.sampled_from(["q.sql", "nope.sql", "", "sc"])))
        lines += [f"{key} = {_toml_value(value)}" for key, value in entry.items()]
    text = "\n".join(lines) + "\n"
    if draw(st.booleans()):
        return "pyproject.toml", "[tool.convguard]\n" + text
    return "convguard.toml", text


@st.composite
def mutated_configs(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(["convguard.toml", "pyproject.toml"]))
    text = CONFIG_SEED if name == "convguard.toml" else "[tool.convguard]\n" + CONFIG_SEED.replace(
        "[[query]]", "[[tool.convguard.query]]").replace("[query.params]",
                                                         "[tool.convguard.query.params]")
    return name, _mutate(draw, text, TOML_TOKENS)


@pytest.fixture
def project(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """One scratch project per test; each example rewrites its files (Hypothesis reruns the
    test body many times inside one fixture)."""
    folder = Path(tempfile.mkdtemp(prefix="convguard-fuzz-"))
    monkeypatch.chdir(folder)
    monkeypatch.delenv("CONVGUARD_DATABASE_URL", raising=False)
    yield folder
    clear_config_cache()
    shutil.rmtree(folder, ignore_errors=True)


def _reset(folder: Path, config: tuple[str, str] | None = None) -> None:
    for entry in folder.iterdir():
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    (folder / "q.sql").write_text(REFERENCE_SQL, encoding="utf-8")
    (folder / "sc").mkdir()
    name, text = config or ("convguard.toml", 'scenarios = ["sc"]\n[[query]]\npath = "q.sql"\n'
                                              'profile = "booking-conversion"\n')
    (folder / name).write_bytes(text.encode("utf-8", "surrogatepass"))
    clear_config_cache()


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> int:
    code = main(argv)
    captured = capsys.readouterr()
    assert code in (0, 1, 2), captured
    assert "internal error" not in captured.err, captured.err
    assert "Traceback" not in captured.err + captured.out, captured.err
    return code


@FUZZ
@given(document=st.one_of(mutated_scenarios(), built_scenarios()))
def test_any_scenario_document_gets_0_1_or_2(document: tuple[str, str], project: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    _reset(project)
    name, text = document
    (project / "sc" / name).write_bytes(text.encode("utf-8", "surrogatepass"))
    _run(["test", "--examples", "0", "--dsn", UNREACHABLE], capsys)


@FUZZ
@given(config=st.one_of(mutated_configs(), built_configs()))
def test_any_configuration_gets_0_1_or_2(config: tuple[str, str], project: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    _reset(project, config)
    (project / "sc" / "good.yaml").write_text(SCENARIO_SEEDS[0], encoding="utf-8")
    _run(["check", "q.sql"], capsys)
    _run(["test", "--examples", "0", "--dsn", UNREACHABLE], capsys)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(document=st.one_of(mutated_scenarios(), built_scenarios()))
def test_any_scenario_document_on_a_real_server(document: tuple[str, str], project: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The same documents, the valid ones seeded and run on the embedded server (the generated
    datasets are Hypothesis's own, which cannot nest in a Hypothesis test: ``--examples 0``)."""
    _reset(project)
    name, text = document
    (project / "sc" / name).write_bytes(text.encode("utf-8", "surrogatepass"))
    _run(["test", "--examples", "0"], capsys)


REVENUE_APP = ROOT / "fixtures" / "revenue_app"
REVENUE_SEEDS = [path.read_text("utf-8") for path in sorted(
    (REVENUE_APP / "scenarios").iterdir())]


@st.composite
def mutated_generic_scenarios(draw: st.DrawFn) -> tuple[str, str]:
    """A scenario of a query without a profile (expected rows), mutated."""
    text = draw(st.sampled_from(REVENUE_SEEDS))
    name = "s.json" if text.lstrip().startswith("{") else "s.yaml"
    return name, _mutate(draw, text, YAML_TOKENS)


@FUZZ
@given(document=mutated_generic_scenarios())
def test_any_generic_scenario_document_gets_0_1_or_2(document: tuple[str, str], project: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The same promise for the kit's generic mode (parameters by name, expected rows)."""
    for entry in project.iterdir():
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    shutil.copytree(REVENUE_APP, project, dirs_exist_ok=True)
    for old in (project / "scenarios").iterdir():
        old.unlink()
    name, text = document
    (project / "scenarios" / name).write_bytes(text.encode("utf-8", "surrogatepass"))
    clear_config_cache()
    _run(["test", "--examples", "0", "--dsn", UNREACHABLE], capsys)
