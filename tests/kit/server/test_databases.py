"""Throwaway databases on a real server: create, template, clone, drop, and the refusals."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest

from convguard._errors import DatabaseError, QueryFailed
from convguard.kit.server.databases import (
    MARK,
    ThrowawayDatabase,
    _query_failed,
    create_database,
    create_template,
    drop_created_databases,
    drop_database,
    new_database_name,
)
from convguard.kit.server import Server, start_server

SCHEMA = """
create table lead (id text primary key, booked timestamp(3));
create table message (id text primary key, lead_id text not null references lead(id));
insert into lead values ('l1', '2026-01-20 00:00:00');
"""


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with start_server("embedded") as started:
        yield started


@pytest.fixture(scope="module")
def template(server: Server) -> Iterator[ThrowawayDatabase]:
    with create_template(server, SCHEMA) as made:
        yield made


@pytest.fixture()
def foreign(server: Server) -> Iterator[str]:
    """A database someone else made on the same server."""
    server.admin().execute("CREATE DATABASE someone_elses")
    yield "someone_elses"
    server.admin().execute("DROP DATABASE IF EXISTS someone_elses WITH (FORCE)")


def exists(server: Server, name: str) -> bool:
    row = server.admin().execute("select 1 from pg_database where datname = %s", [name]).fetchone()
    return row is not None


def comment(server: Server, name: str) -> str | None:
    return server.admin().execute("select shobj_description(oid, 'pg_database') from pg_database"
                                  " where datname = %s", [name]).fetchone()[0]


def test_a_new_database_is_named_marked_and_remembered(server: Server) -> None:
    with create_database(server, prefix="scenario") as db:
        assert re.fullmatch(r"scenario_\d+_[0-9a-f]{8}_t[0-9a-z]+_\d+", db.name)
        assert server.run_id.replace("-", "_") in db.name
        assert db.conninfo == server.conninfo(db.name)
        assert comment(server, db.name) == MARK + server.run_id
        assert db.name in server.created_databases
        with db.connect() as conn:
            conn.execute("create table t (x int)")
            conn.execute("insert into t values (1)")
    assert not exists(server, db.name)
    assert db.name not in server.created_databases


def test_drop_is_idempotent(server: Server) -> None:
    db = create_database(server)
    db.drop()
    db.drop()
    assert not exists(server, db.name)


def test_names_are_unique(server: Server) -> None:
    assert len({new_database_name("convguard") for _ in range(1000)}) == 1000


@pytest.mark.parametrize("prefix", ["", "Upper", "1x", "a-b", "a" * 31, 'x"; drop'])
def test_a_bad_prefix_is_refused(prefix: str, server: Server) -> None:
    with pytest.raises(DatabaseError, match="invalid database prefix"):
        create_database(server, prefix=prefix)


def test_template_is_frozen_and_clones_carry_its_schema(server: Server,
                                                       template: ThrowawayDatabase) -> None:
    assert template.is_template and template.name.startswith("convguard_tpl_")
    flags = server.admin().execute("select datistemplate, datallowconn from pg_database"
                                   " where datname = %s", [template.name]).fetchone()
    assert flags == (True, False)
    with template.clone() as first, template.clone() as second:
        assert not first.is_template and first.name != second.name
        with first.connect() as conn:
            conn.execute("insert into message values ('m1', 'l1')")
            assert conn.execute("select count(*) from message").fetchone() == (1,)
        with second.connect() as conn:  # clones are independent
            assert conn.execute("select count(*) from message").fetchone() == (0,)
            assert conn.execute("select id from lead").fetchall() == [("l1",)]


def test_create_database_from_a_named_template(server: Server, template: ThrowawayDatabase) -> None:
    with create_database(server, prefix="named", template=template.name) as db, \
            db.connect() as conn:
        assert conn.execute("select count(*) from lead").fetchone() == (1,)


def test_a_template_can_be_dropped(server: Server) -> None:
    made = create_template(server, "create table x (y int)")
    made.drop()
    assert not exists(server, made.name)


def test_failing_setup_sql_is_a_query_error_and_leaves_nothing(server: Server) -> None:
    def databases() -> set[str]:
        return {row[0] for row in server.admin().execute("select datname from pg_database")}

    before, remembered = databases(), set(server.created_databases)
    with pytest.raises(QueryFailed) as caught:
        create_template(server, "create table a (x int); select no_such_column from a")
    assert caught.value.sqlstate == "42703"
    assert "setup SQL failed" in str(caught.value)
    assert databases() == before
    assert set(server.created_databases) == remembered


def test_a_missing_template_is_a_query_error(server: Server) -> None:
    with pytest.raises(QueryFailed) as caught:
        create_database(server, template="no_such_template")
    assert caught.value.sqlstate == "3D000"


def test_query_errors_carry_the_sqlstate_and_a_hint() -> None:
    class Busy(Exception):
        sqlstate = "55006"

    failed = _query_failed(Busy('source database "x" is being accessed by other users\nDETAIL'),
                           "cannot create database y")
    assert failed.sqlstate == "55006"
    assert str(failed).startswith("cannot create database y: source database")
    assert "close it first" in (failed.hint or "")


def test_throwaway_database_is_frozen(server: Server) -> None:
    with create_database(server) as db:
        with pytest.raises(dataclasses.FrozenInstanceError):
            db.name = "postgres"  # type: ignore[misc]
        assert "server" not in repr(db)


# -- never drop what the run did not create -----------------------------------------------------
@pytest.mark.parametrize("name", ["postgres", "template1"])
def test_dropping_a_database_the_run_did_not_create_is_refused(server: Server, name: str) -> None:
    with pytest.raises(DatabaseError, match=f"refusing to drop database '{name}'"):
        drop_database(server, name)
    assert exists(server, name)


def test_a_foreign_database_is_refused_even_by_name(server: Server, foreign: str) -> None:
    with pytest.raises(DatabaseError, match="did not create it"):
        drop_database(server, foreign)
    assert exists(server, foreign)


def test_a_remembered_database_whose_mark_changed_is_refused(server: Server) -> None:
    db = create_database(server)
    server.admin().execute(f'COMMENT ON DATABASE "{db.name}" IS \'created by someone else\'')
    with pytest.raises(DatabaseError, match="it is not marked"):
        db.drop()
    assert exists(server, db.name)
    server.admin().execute(f'COMMENT ON DATABASE "{db.name}" IS \'{MARK}{server.run_id}\'')
    db.drop()
    assert not exists(server, db.name)


def test_another_runs_database_is_refused(server: Server) -> None:
    with start_server("url", dsn=server.conninfo(), allow_superuser=True) as other_run:
        theirs = create_database(other_run)
        with pytest.raises(DatabaseError, match="did not create it"):
            drop_database(server, theirs.name)
        assert exists(server, theirs.name)
    assert not exists(server, theirs.name)  # their run dropped it when it stopped


def test_stopping_a_url_server_drops_only_what_it_created(server: Server, foreign: str) -> None:
    remote = start_server("url", dsn=server.conninfo(), allow_superuser=True)
    plain = create_database(remote)
    made = create_template(remote, SCHEMA)
    clone = made.clone()
    assert set(remote.created_databases) == {plain.name, made.name, clone.name}
    remote.stop()
    for db in (plain, made, clone):
        assert not exists(server, db.name)
        db.drop()  # a no-op after the stop
    assert exists(server, foreign) and exists(server, "postgres")
    assert remote.created_databases == ()


def test_drop_created_databases_reports_what_it_could_not_drop(server: Server) -> None:
    with start_server("url", dsn=server.conninfo(), allow_superuser=True) as remote:
        db = create_database(remote)
        server.admin().execute(f'COMMENT ON DATABASE "{db.name}" IS \'not ours\'')
        with pytest.raises(DatabaseError, match=f"could not drop: {db.name}"):
            drop_created_databases(remote)
        assert exists(server, db.name)
        server.admin().execute(f'COMMENT ON DATABASE "{db.name}" IS \'{MARK}{remote.run_id}\'')


def test_databases_of_a_stopped_local_server_need_no_drop() -> None:
    with start_server() as local:
        db = create_database(local)
    db.drop()  # the cluster went with the server: nothing to do, no error
    assert local.stopped
