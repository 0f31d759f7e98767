"""`gnomon.storage` exports exactly its public names."""

from __future__ import annotations

import gnomon.storage


def test_every_exported_name_exists_and_is_public() -> None:
    for name in gnomon.storage.__all__:
        assert hasattr(gnomon.storage, name), name
        assert not name.startswith("_")
    assert sorted(gnomon.storage.__all__) == gnomon.storage.__all__
