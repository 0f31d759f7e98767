"""The scheduler lease: one row that says which scheduler may act, and until when.

Taking or renewing it is a single compare-and-set UPDATE (holder is me, or the lease expired), so
two schedulers can never both believe they hold it at the same instant of the store's clock. The
epoch grows at every change of holder, which makes takeovers visible in logs and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from gnomon.domain.times import as_utc
from gnomon.storage.callbacks import insert_ignoring_duplicates
from gnomon.storage.tables import SchedulerLeaseRow

LEASE_NAME = "scheduler"


@dataclass(frozen=True)
class Lease:
    holder: str
    epoch: int
    expires_at: datetime


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
