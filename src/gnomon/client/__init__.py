"""Client verbs of the `gnomon` command: they talk to a running Gnomon over its REST API."""

from gnomon.client.http import ApiClient, ApiError
from gnomon.client.manifests import load_definitions
from gnomon.client.verbs import positive_seconds
from gnomon.domain import ManifestError

__all__ = ["ApiClient", "ApiError", "ManifestError", "load_definitions", "positive_seconds"]
