"""The store's own id, written once at first start: it names this Gnomon's jobs on a shared
Docker engine or Kubernetes cluster (the `instance` label), so a second Gnomon with another store
never adopts or removes them, while schedulers sharing one store share it and adopt each other's.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session

from gnomon.storage.callbacks import insert_ignoring_duplicates
from gnomon.storage.tables import StoreIdentityRow

INSTANCE = "instance"


def instance_id(*, session: Session, now: datetime) -> str:
    """This store's instance id; the first caller writes it, concurrent first callers agree."""
    candidate = {"name": INSTANCE, "value": uuid.uuid4().hex, "created_at": now}
    insert_ignoring_duplicates(session, StoreIdentityRow, [candidate])
    row = session.get(StoreIdentityRow, INSTANCE, populate_existing=True)
    if row is None:  # cannot happen after the insert; kept for the type checker
        raise LookupError("the store has no instance id")
    return row.value
