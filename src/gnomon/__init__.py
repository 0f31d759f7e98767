"""Gnomon: schedules and runs Docker-based batch jobs behind a Sundial-compatible REST API."""

__version__ = "0.1.0"

__all__ = ["__version__"]
