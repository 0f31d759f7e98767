"""The kopf operator: `ProcessDefinition` resources in, definitions in the store out.

`run_operator(settings)` is what `gnomon operator` runs; `operate` is the same as a coroutine, for
embedding and tests. See `gnomon.domain.naming` for how resources map to definition names.
"""

from __future__ import annotations

from gnomon.domain.naming import definition_name, owner, resource_key
from gnomon.operator.handlers import GROUP, PLURAL, VERSION, make_registry
from gnomon.operator.reconcile import OperatorContext, Rejection
from gnomon.operator.startup import FINALIZER, make_kopf_settings, operate, run_operator

__all__ = [
    "FINALIZER",
    "GROUP",
    "PLURAL",
    "VERSION",
    "OperatorContext",
    "Rejection",
    "definition_name",
    "make_kopf_settings",
    "make_registry",
    "operate",
    "owner",
    "resource_key",
    "run_operator",
]
