"""How a `ProcessDefinition` resource maps to a definition in the store, and back.

The store has one flat namespace of definition names while resources are namespaced, so the
definition name is `<namespace>.<name>`: `team-a/nightly` becomes `team-a.nightly`. The mapping is
collision-free because a namespace is a DNS label and can never contain a dot: the first dot always
splits the definition name back into namespace and name, whatever dots `metadata.name` holds.
The operator and `gnomon apply` (through `manifests.body_from_manifest`) both name definitions
here, so a manifest lands on the same definition whichever of the two applies it.

The owner recorded in the store (`ProcessDefinition <namespace>/<name>`) names the resource in
messages such as the REST API's 409, so a user knows which object to edit with kubectl.
"""

from __future__ import annotations

from typing import Final

KIND: Final = "ProcessDefinition"
SEPARATOR: Final = "."


def definition_name(namespace: str, name: str) -> str:
    """The store's name for the resource `namespace/name`."""
    if not namespace or SEPARATOR in namespace:
        raise ValueError(f"not a Kubernetes namespace: {namespace!r}")
    return f"{namespace}{SEPARATOR}{name}"


def resource_key(definition: str) -> tuple[str, str]:
    """The (namespace, name) of the resource a mapped definition name came from."""
    namespace, separator, name = definition.partition(SEPARATOR)
    if not separator or not namespace or not name:
        raise ValueError(f"not a resource's definition name: {definition!r}")
    return namespace, name


def owner(namespace: str, name: str) -> str:
    """The owner recorded with the definition, e.g. `ProcessDefinition team-a/nightly`."""
    return f"{KIND} {namespace}/{name}"


def owning_resource(recorded: str | None) -> tuple[str, str] | None:
    """The (namespace, name) of the resource an `owner` names; None for no owner or another."""
    kind, _, key = (recorded or "").partition(" ")
    namespace, slash, name = key.partition("/")
    if kind != KIND or not slash or not namespace or not name:
        return None
    return namespace, name
