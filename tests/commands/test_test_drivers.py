"""``convguard test`` binds each query as its source's stack does and says which driver did."""

from __future__ import annotations

import argparse
import io
import shutil
from pathlib import Path


from convguard._config import clear_config_cache
from convguard.commands.test import run_test_command

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "fixtures" / "app" / "actions" / "ai-draft-response-analytics-actions.ts"
SQL = ROOT / "fixtures" / "queries" / "booking_conversion.sql"
SCENARIO = ROOT / "fixtures" / "scenarios" / "worked-example-1-booked-and-same-millisecond.yaml"
QUERIES = """
[[query]]
path = "action.ts"
function = "getAiDraftBookingConversionStats"
profile = "booking-conversion"
{action_driver}
[query.params]
"Prisma.join(scope.clientIds)" = "client_ids"
"maturityCutoff" = "maturity_cutoff"

[[query]]
path = "query.sql"
profile = "booking-conversion"
"""



def _run(tmp_path: Path, top: str, action_driver: str, dsn: str, **options: object) -> str:
    shutil.copy(ACTION, tmp_path / "action.ts")
    shutil.copy(SQL, tmp_path / "query.sql")
    (tmp_path / "convguard.toml").write_text(
        top + QUERIES.format(action_driver=action_driver))
    clear_config_cache()
    args = argparse.Namespace(paths=[], config=str(tmp_path / "convguard.toml"),
                              scenarios=[str(SCENARIO)], dsn=dsn,
                              allow_superuser=True, **options)
    out = io.StringIO()
    assert run_test_command(args, out) == 0, out.getvalue()
    return out.getvalue()


def _bound(out: str) -> dict[str, str]:
    block = out.split("bound by:\n", 1)[1].split("\n\n", 1)[0]
    return {line.split()[0].split("/")[-1].split(":")[0]: line.split()[1]
            for line in block.splitlines()}


def test_auto_binds_the_prisma_action_as_prisma_and_sql_as_node_postgres(tmp_path, dsn) -> None:
    out = _run(tmp_path, "", "", dsn)
    assert _bound(out) == {"action.ts": "prisma", "query.sql": "node-postgres"}
    assert "Prisma 7 with @prisma/adapter-pg" in out


def test_configured_drivers_win(tmp_path, dsn) -> None:
    out = _run(tmp_path, 'driver = "typed"\n', 'driver = "node-postgres"', dsn)
    assert _bound(out) == {"action.ts": "node-postgres", "query.sql": "typed"}
    out = _run(tmp_path, 'driver = "typed"\n', "", dsn, driver="prisma")
    assert _bound(out) == {"action.ts": "prisma", "query.sql": "prisma"}
