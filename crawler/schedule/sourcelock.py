"""One run per source at a time, across machines: a PostgreSQL advisory lock per source.

A worker takes its source's lock (``pg_try_advisory_lock``) on a connection of its own before
it records the run, and keeps it until the run's last row is written; the crawl process is
the worker's child and is SIGKILLed when the worker dies (``PR_SET_PDEATHSIG``), so the lock
never outlives the crawl: PostgreSQL drops it with the dead worker's session.

A ``running`` row of a worker whose source lock nobody holds is a run whose worker died: any
worker or the scheduler records it ``crashed`` (:func:`reap_dead_runs`), looking at
``pg_locks`` (it never takes the lock, so it never makes a live job think it is a duplicate).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from crawler.db import CrawlRun
from crawler.schedule import runs

logger = logging.getLogger(__name__)

#: the ``scheduler`` column of a run recorded by a worker starts with this
WORKER_PREFIX = "worker "


def lock_key(schema: str, source: str) -> int:
    """The advisory lock key of *source* in *schema* (signed 64 bits, as PostgreSQL takes)."""
    digest = hashlib.sha1(f"marsad.source:{schema}:{source}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _lock_parts(key: int) -> tuple[int, int]:
    """``pg_locks`` shows a bigint advisory key as classid (high 32 bits), objid (low 32)."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return unsigned >> 32, unsigned & 0xFFFF_FFFF


def is_held(conn: Connection | Session, key: int) -> bool:
    """Whether some session holds advisory lock *key* in this database (never takes it)."""
    classid, objid = _lock_parts(key)
    found = conn.execute(
        text(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid = CAST(:c AS oid) AND objid = CAST(:o AS oid) AND objsubid = 1"
        ),
        {"c": classid, "o": objid},
    ).first()
    return found is not None


#: the server drops a lock holder's session this soon after its machine vanished (no FIN):
#: keepalive probes after 10 s idle, every 5 s, 3 misses; unacknowledged data after 25 s
_SERVER_KEEPALIVE = (
    "SET tcp_keepalives_idle = 10",
    "SET tcp_keepalives_interval = 5",
    "SET tcp_keepalives_count = 3",
    "SET tcp_user_timeout = 25000",
)


def drop_session_with_its_machine(conn: Connection) -> None:
    """Make the server notice within about 25 s that this session's machine is gone.

    A killed process closes its socket and PostgreSQL ends the session (and its advisory
    locks) at once; a machine that vanished sends nothing, and the server would keep its
    locks for the system's keepalive time (2 h by default)."""
    for statement in _SERVER_KEEPALIVE:
        with contextlib.suppress(ProgrammingError):  # tcp_user_timeout: PostgreSQL 12+
            conn.execute(text(statement))


def current_schema(conn: Connection | Session) -> str:
    return str(conn.execute(text("SELECT current_schema()")).scalar())


class SourceLock:
    """The lock of one source, on a dedicated autocommit connection (its session holds it)."""

    def __init__(self, url: str, source: str, application: str = "marsad-worker") -> None:
        self.source = source
        self._engine = create_engine(
            url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={
                "application_name": application,
                "keepalives": 1,
                "keepalives_idle": 10,
                "keepalives_interval": 5,
                "keepalives_count": 3,
            },
        )
        self._conn: Any = None
        self.key: int | None = None

    def try_acquire(self) -> bool:
        """True when this source's lock is ours now; a database error raises."""
        try:
            self._conn = self._engine.connect()
            drop_session_with_its_machine(self._conn)
            self.key = lock_key(current_schema(self._conn), self.source)
            got = self._conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}
            ).scalar()
        except SQLAlchemyError:
            self.release()
            raise
        if not got:
            self.release()
        return bool(got)

    def held(self) -> bool:
        """Whether the lock's session is still alive (a lost connection lost the lock)."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._conn.execute(text("SELECT pg_advisory_unlock_all()"))
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        self._engine.dispose()


def reap_dead_runs(
    engine: Engine, source: str | None = None, *, by: str, holding: bool = False
) -> list[int]:
    """Record ``crashed`` every worker run still ``running`` whose source lock is free.

    With *holding*, the caller holds *source*'s lock itself: every such run of it is dead.

    The rows are locked (``FOR UPDATE``) before the lock is looked at, so a run that finishes
    meanwhile (its worker writes the row, then lets the lock go) is never taken for dead.
    Returns the ids recorded.
    """
    reaped: list[int] = []
    with Session(engine) as session, session.begin():
        query = select(CrawlRun).where(
            CrawlRun.outcome == runs.RUNNING, CrawlRun.scheduler.like(WORKER_PREFIX + "%")
        )
        if source is not None:
            query = query.where(CrawlRun.source == source)
        rows = list(session.scalars(query.with_for_update(skip_locked=True)))
        if not rows:
            return reaped
        schema = current_schema(session)
        for run in rows:
            if not holding and is_held(session, lock_key(schema, run.source)):
                continue
            worker = (run.scheduler or "").removeprefix(WORKER_PREFIX)
            note = (
                f"its worker ({worker}, crawl pid {run.pid} on {run.host}) died during the "
                f"crawl; recorded by {by}"
            )
            runs.finish_run(session, run, runs.RunVerdict(runs.CRASHED, error_summary=note),
                            exit_code=None)  # fmt: skip
            logger.warning("%s: run %d recorded as crashed: %s", run.source, run.id, note)
            reaped.append(run.id)
    return reaped
