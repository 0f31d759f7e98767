"""`gnomon.operator` exports exactly its public names."""

from __future__ import annotations

import gnomon.operator


def test_every_exported_name_exists_and_is_public() -> None:
    for name in gnomon.operator.__all__:
        assert hasattr(gnomon.operator, name), name
        assert not name.startswith("_")
    assert sorted(gnomon.operator.__all__) == gnomon.operator.__all__
