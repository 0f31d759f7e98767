"""kopf handlers of `ProcessDefinition` resources, and the registry that holds them.

Handlers are thin: they take what kopf passes, call `reconcile` (the store) and `status` (pure
builders) and put the result into kopf's `patch`. They are plain functions, so kopf runs them in
its thread pool, where blocking database calls belong. They are registered on a registry made per
operator (`make_registry`), not on kopf's global one at import time: the status refresh interval is
a setting, and importing this module changes nothing.

`spec.paused` is applied when a resource is created and when that field changes; a pause or resume
through the REST API (allowed for resource-owned definitions) otherwise stays in force.

Failure policy: an invalid spec is reported (`Ready=False`, a Warning Event) and ends with
`kopf.PermanentError`, so kopf records the change as handled and does not retry until the spec
changes again; the last valid version of the definition stays in the store meanwhile. The Warning
is posted once per rejection: when the `Ready` condition already reports the same reason and
message for the same generation (an operator restart resumes every resource), no second one is
added. A store that cannot be reached is a `kopf.TemporaryError`, retried after
`STORE_RETRY_SECONDS`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

import kopf

from gnomon.domain.naming import definition_name
from gnomon.errors import StoreError
from gnomon.logs import about_resource
from gnomon.operator.reconcile import (
    OperatorContext,
    Rejection,
    read_stored_state,
    remove_definition,
    store_spec,
)
from gnomon.operator.status import (
    READY,
    REASON_STORED,
    build_ready_status,
    build_run_status,
    changed_fields,
    spec_rejected,
)

log = logging.getLogger(__name__)
GROUP: Final = "gnomon.dev"
VERSION: Final = "v1alpha1"
PLURAL: Final = "processdefinitions"
STORE_RETRY_SECONDS: Final = 10.0


def processdefinition_change(
    *,
    spec: kopf.Spec,
    meta: kopf.Meta,
    status: kopf.Status,
    namespace: str | None,
    name: str,
    body: kopf.Body,
    patch: kopf.Patch,
    reason: str,
    diff: kopf.Diff,
    memo: Any,
    **_: Any,
) -> None:
    """On create, update and resume: store the spec and report the outcome in status."""
    context, namespace = _context(memo), _namespaced(namespace)
    keep_paused = not _sets_pause(reason, diff)
    with _store_errors():
        rejection = store_spec(
            context, namespace=namespace, name=name, spec=spec, keep_paused=keep_paused
        )
    if rejection is None:
        why, message = REASON_STORED, f"stored as {definition_name(namespace, name)!r}"
    else:
        # Before the store is read: whether to warn depends on the resource alone.
        why, message = rejection.reason, rejection.message
        _report(body, status, meta.get("generation"), rejection, namespace, name)
    with _store_errors():
        # Read after a rejection too: an earlier spec may still be stored, and scheduled.
        stored = read_stored_state(context, namespace=namespace, name=name)
    now = context.clock.now()
    desired = build_run_status(stored, now, spec_rejected=rejection is not None)
    desired |= build_ready_status(
        ready=rejection is None,
        reason=why,
        message=message,
        generation=meta.get("generation"),
        current=status,
        now=now,
    )
    patch.status.update(changed_fields(status, desired))
    if rejection is not None:
        raise kopf.PermanentError(message)


def _report(
    body: kopf.Body,
    status: kopf.Status,
    generation: int | None,
    rejection: Rejection,
    namespace: str,
    name: str,
) -> None:
    """A Warning event for a rejected spec, unless its Ready condition already says the same."""
    if _reported(status, generation, rejection):
        log.info(
            "%s already reported, no new event",
            rejection.reason,
            extra=about_resource(namespace, name),
        )
    else:
        kopf.warn(body, reason=rejection.reason, message=rejection.message)


def processdefinition_delete(
    *, namespace: str | None, name: str, memo: Any, logger: kopf.Logger, **_: Any
) -> None:
    """On deletion (behind kopf's finalizer): delete the definition; its processes stay."""
    namespace = _namespaced(namespace)
    with _store_errors():
        removed = remove_definition(_context(memo), namespace=namespace, name=name)
    if removed:
        logger.info("deleted process definition %r", definition_name(namespace, name))


def processdefinition_timer(
    *,
    namespace: str | None,
    name: str,
    status: kopf.Status,
    patch: kopf.Patch,
    memo: Any,
    **_: Any,
) -> None:
    """Every few seconds: copy the store's state (the paused flag, the next and latest runs)
    into status, if it changed; a pause or resume through the REST API shows up this way."""
    context = _context(memo)
    with _store_errors():
        stored = read_stored_state(context, namespace=_namespaced(namespace), name=name)
    desired = build_run_status(stored, context.clock.now(), spec_rejected=spec_rejected(status))
    patch.status.update(changed_fields(status, desired))


def make_registry(*, status_interval: float) -> kopf.OperatorRegistry:
    """A registry with the handlers above and the usual login (in-cluster, else kubeconfig)."""
    registry = kopf.OperatorRegistry()
    resource = (GROUP, VERSION, PLURAL)
    kopf.on.login(registry=registry)(kopf.login_via_client)
    for on_change in (kopf.on.create, kopf.on.update, kopf.on.resume):
        on_change(*resource, registry=registry)(processdefinition_change)
    kopf.on.delete(*resource, registry=registry)(processdefinition_delete)
    kopf.timer(*resource, interval=status_interval, registry=registry)(processdefinition_timer)
    return registry


def _context(memo: Any) -> OperatorContext:
    if not isinstance(memo, OperatorContext):
        raise TypeError(f"the operator's memo must be an OperatorContext, not {type(memo)}")
    return memo


def _sets_pause(reason: str, diff: kopf.Diff) -> bool:
    """Whether `spec.paused` is news: on creation, or when this change touched it.

    Otherwise (another field changed, or the operator restarted) the stored flag stays, so a pause
    or resume through the REST API outlives edits of the resource and operator restarts.
    """
    if reason == "create":
        return True
    return any(tuple(item.field)[:2] in {("spec", "paused"), ("spec",)} for item in diff)


def _reported(status: Mapping[str, Any], generation: int | None, rejection: Rejection) -> bool:
    """Whether the `Ready` condition already reports this rejection of this generation."""
    conditions = status.get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == READY), None)
    return ready is not None and (
        ready.get("status"),
        ready.get("reason"),
        ready.get("message"),
        ready.get("observedGeneration"),
    ) == ("False", rejection.reason, rejection.message, generation)


def _namespaced(namespace: str | None) -> str:
    # ProcessDefinition is a namespaced kind (see the CRD); kopf types the kwarg for every kind.
    if not namespace:
        raise kopf.PermanentError("a ProcessDefinition must belong to a namespace")
    return namespace


@contextmanager
def _store_errors() -> Iterator[None]:
    """Turn a store error (unreachable, or a write that lost a race) into a retry soon."""
    try:
        yield
    except StoreError as exc:
        raise kopf.TemporaryError(
            f"store error, retrying: {exc}", delay=STORE_RETRY_SECONDS
        ) from exc
