"""The scheduler lease: one row that says which scheduler may act, and until when.

Taking or renewing it is a single compare-and-set UPDATE (holder is me, or the lease expired), so
two schedulers can never both believe they hold it at the same instant of the store's clock. The
epoch grows at every change of holder: it is the fencing token. Every transaction in which the
scheduler writes begins with `fence`, which proves that holder and epoch are still the ones it took,
so a holder that was frozen past its lease cannot commit a single write once another has taken over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlmodel import Session, col

from gnomon.domain.times import as_utc
from gnomon.errors import GnomonError
from gnomon.storage.callbacks import insert_ignoring_duplicates
from gnomon.storage.tables import SchedulerLeaseRow

LEASE_NAME = "scheduler"

_TABLE: sa.Table = SchedulerLeaseRow.__table__  # type: ignore[attr-defined]
_FENCE: Final = (
    sa.update(_TABLE)
    .where(
        _TABLE.c.name == LEASE_NAME,
        _TABLE.c.holder == sa.bindparam("fence_holder"),
        _TABLE.c.epoch == sa.bindparam("fence_epoch"),
    )
    .values(epoch=sa.bindparam("fence_epoch"))
)
"""`fence`'s UPDATE, built once: it runs at every wake-up, and building it through the ORM (a bulk
UPDATE of an entity, which also looks for the row among the session's objects) cost as much CPU as
the UPDATE itself. Core, on the table: the same SQL."""


@dataclass(frozen=True)
class Lease:
    holder: str
    epoch: int
    expires_at: datetime


class LeaseLostError(GnomonError):
    """The lease is no longer the caller's: its transaction must not commit."""

    def __init__(self, lease: Lease) -> None:
        super().__init__(f"{lease.holder} lost the scheduler lease (epoch {lease.epoch})")
        self.lease = lease


def try_acquire(
    *, session: Session, holder: str, now: datetime, duration: timedelta
) -> Lease | None:
    """Take or renew the lease for `holder`; None while another holder's lease is valid."""
    insert_ignoring_duplicates(
        session,
        SchedulerLeaseRow,
        [{"name": LEASE_NAME, "holder": "", "epoch": 0, "acquired_at": now, "expires_at": now}],
    )
    row = session.get(SchedulerLeaseRow, LEASE_NAME, populate_existing=True)
    if row is None:
        return None
    renewing = row.holder == holder
    if not renewing and as_utc(row.expires_at) > now:
        return None
    epoch = row.epoch if renewing else row.epoch + 1
    expires = now + duration
    result = session.execute(
        sa.update(SchedulerLeaseRow)
        .where(
            col(SchedulerLeaseRow.name) == LEASE_NAME,
            col(SchedulerLeaseRow.holder) == row.holder,
            col(SchedulerLeaseRow.epoch) == row.epoch,
        )
        .values(holder=holder, epoch=epoch, expires_at=expires, acquired_at=now)
    )
    if not getattr(result, "rowcount", 0):
        return None
    return Lease(holder, epoch, expires)


def release(*, session: Session, holder: str, now: datetime) -> None:
    """Give the lease up at once (clean shutdown), so a standby need not wait for expiry."""
    session.execute(
        sa.update(SchedulerLeaseRow)
        .where(col(SchedulerLeaseRow.name) == LEASE_NAME, col(SchedulerLeaseRow.holder) == holder)
        .values(expires_at=now)
    )


def fence(
    *, session: Session, lease: Lease, now: datetime, idle_limit: timedelta | None = None
) -> None:
    """Prove, inside the caller's transaction, that `lease` is still the current one.

    A no-op UPDATE that matches only the row still naming this holder and epoch. Being the
    transaction's first write, it takes the row's lock (PostgreSQL) or the database's write lock
    (SQLite) until commit, so a takeover, itself an UPDATE of this row, waits for the transaction
    and then sees everything it wrote: the two are serialised, never interleaved.

    A lease that has run out is not used either, even if nobody has taken it yet: the holder must
    renew it first (the same epoch, so its in-memory state is still the truth). That keeps a
    holder from starting jobs while a standby may be taking over and listing them.

    On PostgreSQL, `idle_limit` bounds how long the transaction may sit idle: a holder frozen in
    the middle of it (its row locks held) is cut off by the server after that long, so the
    standby's takeover waits one lease period at most, not as long as the freeze.

    Raises:
        LeaseLostError: another scheduler took the lease, or it expired at `now`.
    """
    if now >= lease.expires_at:
        raise LeaseLostError(lease)
    if idle_limit is not None and session.get_bind().dialect.name == "postgresql":
        milliseconds = max(1, int(idle_limit.total_seconds() * 1000))
        session.execute(sa.text(f"SET LOCAL idle_in_transaction_session_timeout = {milliseconds}"))
    result = session.execute(_FENCE, {"fence_holder": lease.holder, "fence_epoch": lease.epoch})
    if getattr(result, "rowcount", 0) != 1:
        raise LeaseLostError(lease)
