"""Database plumbing: declarative base, exact decimal type, engine tuning, unit of work."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, MetaData, Numeric, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def minimal(value: Decimal) -> Decimal:
    """The same number without the column's padding zeros (200.0000 -> 200, 0.8000 -> 0.8),
    so stored quantities print as they were entered. Never uses exponent notation."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


@functools.lru_cache(maxsize=65536)
def _unscaled(value: int, scale: int) -> Decimal:
    # Stored quantities repeat (30 capsules, 4.5 mg): decode each distinct one once. A Decimal is
    # immutable, so sharing one between rows is safe.
    return minimal(Decimal(value).scaleb(-scale))


class ExactDecimal(TypeDecorator):
    """A Decimal that round-trips exactly on every backend.

    PostgreSQL stores NUMERIC natively. SQLite's NUMERIC passes values through float, so
    there the value is stored as a scaled 64-bit integer (e.g. scale 4: 1.2345 mg -> 12345),
    which also keeps SUM() and ORDER BY exact. A value with more decimal places than the
    column's scale is refused rather than silently rounded.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, scale: int = 4, precision: int = 18):
        super().__init__()
        self.scale = scale
        self.precision = precision

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def _check(self, value) -> Decimal:
        if isinstance(value, float):
            raise TypeError("ExactDecimal refuses float; pass a Decimal or a string")
        value = Decimal(value)
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite quantity")
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > self.scale:
            raise ValueError(f"{value} has more than {self.scale} decimal places")
        if abs(value) >= Decimal(10) ** (self.precision - self.scale):
            raise ValueError(f"{value} is too large for this column")
        return value

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = self._check(value)
        if dialect.name == "sqlite":
            return int(value.scaleb(self.scale))
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return _unscaled(int(value), self.scale)
        return minimal(Decimal(value))

    def __repr__(self) -> str:
        return f"ExactDecimal(scale={self.scale}, precision={self.precision})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


# SQLite: whether the next transaction starts with BEGIN IMMEDIATE (take the write lock now, so
# concurrent writers queue on the busy timeout instead of failing) or a deferred BEGIN (a reader,
# which in WAL mode never blocks or waits for anyone). Immediate unless a web request has
# declared itself a reader (reads_deferred); unit_of_work always asks for immediate.
_begin_immediate: ContextVar[bool] = ContextVar("sqlite_begin_immediate", default=True)


def reads_deferred(deferred: bool = True) -> None:
    """Called at the start (True) and end (False) of each web request: outside unit_of_work, the
    request's reads run in deferred transactions so that gunicorn workers read in parallel."""
    _begin_immediate.set(not deferred)


def configure_sqlite(engine: Engine, busy_timeout_ms: int = 15000) -> None:
    """Foreign keys on, WAL, a busy timeout; BEGIN IMMEDIATE for writers so they queue, not
    fail, and a deferred BEGIN for a web request's reads (see reads_deferred)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()
        # Stop pysqlite from issuing its own deferred BEGIN; we issue ours below.
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        immediate = _begin_immediate.get()
        # On the driver's connection directly: through exec_driver_sql a BEGIN cost as much as
        # the session look-up itself (execution context, events, result) on every request.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        conn.info["sqlite_reader"] = not immediate  # a deferred transaction that has not written
        conn.info["sqlite_wrote"] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _on_execute(conn, _cursor, statement, _params, _context, _executemany):
        if conn.info.get("sqlite_reader") and statement.lstrip()[:6].upper() != "SELECT":
            conn.info["sqlite_wrote"] = True


def ping_when_idle(engine: Engine, idle_seconds: float = 1.0) -> None:
    """Pessimistic disconnect handling without a round trip on every checkout.

    `pool_pre_ping` pings the server each time a connection leaves the pool: one extra round
    trip per request on PostgreSQL. A connection returned less than `idle_seconds` ago was
    working then, so only one that has sat idle longer is pinged; a dead one is replaced (the
    pool retries the checkout) exactly as pre-ping would. Under load connections come back
    within milliseconds and the ping disappears; after a quiet spell the first request pings."""
    import time

    from sqlalchemy import exc

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn, record):
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, record, _proxy):
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_seconds:
            return  # fresh from connect(), or back in the pool a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as err:
            # As pre-ping does: the server went away, so every pooled connection is suspect.
            raise exc.InvalidatePoolError(f"ping on checkout failed: {err}") from err


_LOCKING_SELECT = re.compile(r"\bFOR\s+(UPDATE|SHARE|NO\s+KEY\s+UPDATE|KEY\s+SHARE)\b", re.I)


# Cached by the statement's text: the app runs a few hundred distinct statements, mostly the same
# string object each time (SQLAlchemy's compiled cache), and the case-blind search cost 10 µs on
# the session look-up's text and 50 µs on the queue board's, on every execution.
@functools.lru_cache(maxsize=1024)
def _plain_select(statement: str) -> bool:
    head = statement.lstrip()[:6].upper()
    return head == "SELECT" and not _LOCKING_SELECT.search(statement)


def configure_postgresql(engine: Engine) -> None:
    """A web request's reads without BEGIN and ROLLBACK: two round trips fewer a request.

    Outside unit_of_work a web request only reads (reads_deferred, as on SQLite). Its
    connection runs in autocommit while it only runs plain SELECTs: under READ COMMITTED, the
    only level the app uses, every statement takes its own snapshot inside a transaction
    too, so the rows read are the same; what goes away is psycopg's BEGIN before the first
    query and the ROLLBACK at the end of the request. The first statement that is not a plain
    SELECT (a write, a row lock, a savepoint, a server-side cursor) ends autocommit before it
    runs, so from there on it is one transaction, rolled back at the end of the request as
    before; unit_of_work ends autocommit on its connection before the use case
    (_restart_as_writer)."""

    @event.listens_for(engine, "checkout")
    def _reader(dbapi_conn, record, _proxy):
        if not _begin_immediate.get() and not dbapi_conn.autocommit:
            dbapi_conn.autocommit = True
            record.info["pg_reader"] = True

    @event.listens_for(engine, "checkin")
    def _back(dbapi_conn, record):
        reader = record.info.pop("pg_reader", False)
        if reader and dbapi_conn is not None and dbapi_conn.autocommit and not dbapi_conn.closed:
            dbapi_conn.autocommit = False

    @event.listens_for(engine, "before_cursor_execute")
    def _first_write(conn, cursor, statement, _params, _context, _executemany):
        # A server-side cursor (yield_per, streamed CSVs) is DECLAREd: only in a transaction.
        streamed = getattr(cursor, "name", None) is not None
        if conn.info.get("pg_reader") and (streamed or not _plain_select(statement)):
            _end_autocommit(conn)


def _end_autocommit(conn) -> None:
    """From now on this connection's statements run in one transaction (PostgreSQL reader)."""
    dbapi_conn = conn.connection.driver_connection
    if dbapi_conn.autocommit:
        dbapi_conn.autocommit = False


def _restart_as_writer(session) -> None:
    """SQLite: if the session is in a deferred (reading) transaction that has written nothing,
    end it so that the unit of work starts afresh with BEGIN IMMEDIATE. In WAL mode a deferred
    transaction cannot safely become a writer: if another connection committed since it began,
    its first write fails at once (SQLITE_BUSY_SNAPSHOT) instead of waiting. Objects loaded
    before are expired and reload under the write lock, so the use case sees current data."""
    if not session.in_transaction():
        return
    if session.get_bind().dialect.name == "postgresql":
        conn = session.connection()
        if conn.info.get("pg_reader"):
            _end_autocommit(conn)  # the use case is one transaction from its first statement
        return
    if session.new or session.dirty or session.deleted:
        return
    if session.get_bind().dialect.name != "sqlite":
        return
    info = session.connection().info
    if info.get("sqlite_reader") and not info.get("sqlite_wrote"):
        session.rollback()


@contextmanager
def unit_of_work() -> Iterator:
    """One use case, one transaction: commit on success, roll back on any error. On SQLite the
    transaction holds the write lock from its first statement (BEGIN IMMEDIATE)."""
    from .extensions import db

    session = db.session
    _restart_as_writer(session())  # the scoped session's current Session
    token = _begin_immediate.set(True)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _begin_immediate.reset(token)


@contextmanager
def dry_run() -> Iterator:
    """A use case's rules run for real and then rolled back, nothing kept: lets a form show
    the service's errors next to its own when the service has no separate check."""
    from .extensions import db

    session = db.session
    _restart_as_writer(session())
    token = _begin_immediate.set(True)
    try:
        yield session
        session.flush()
    finally:
        session.rollback()
        _begin_immediate.reset(token)


def lock_row(session, obj):
    """Re-read a row FOR UPDATE inside the unit of work, before deciding on its status.

    Two requests changing the same record then run one after the other: the second waits for
    the first to commit and decides on what it left (typically a 409: "it moved"), so neither
    a transition nor the audit's old values can be based on a stale read. PostgreSQL locks the
    row; on SQLite the unit of work already holds the database's write lock and the refresh
    alone brings the current values. Lock a prescription before its orders, everywhere.
    """
    session.flush()  # our own pending changes first: refresh would otherwise drop them
    session.refresh(obj, with_for_update=True)
    return obj
