"""The Kubernetes backend: each attempt is one batch/v1 Job."""

from gnomon.runner.kubernetes.runner import KubernetesRunner

__all__ = ["KubernetesRunner"]
