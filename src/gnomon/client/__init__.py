"""Client verbs of the `gnomon` command: they talk to a running Gnomon over its REST API."""

from gnomon.client.http import ApiClient, ApiError
from gnomon.client.manifests import ManifestError, load_definitions

__all__ = ["ApiClient", "ApiError", "ManifestError", "load_definitions"]
