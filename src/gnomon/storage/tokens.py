"""Per-task callback tokens are stored only as hashes, so the store never holds a usable token."""

from __future__ import annotations

import hashlib


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
