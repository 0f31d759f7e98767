"""Image references as the engine parses them: what passes is what Docker accepts, and an image
that carries its tag says how to split it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnomon.domain.images import NAME_CHARS, image_problem, tag_problem

DIGEST = "@sha256:" + "0123456789abcdef" * 4

ACCEPTED = [
    "busybox",
    "gnomon-test/busybox",
    "team/etl_job",
    "a__b/c.d/e---f",
    "localhost:5000/team/app",
    "Registry.Example-1.test:443/team/app",
    "[::1]:5000/app",
    "busybox" + DIGEST,
    "i" * NAME_CHARS,
]
REFUSED = [
    ("Busybox", "not an image name"),
    ("team//app", "not an image name"),
    ("-app", "not an image name"),
    ("app-", "not an image name"),
    ("a b", "not an image name"),
    ("app/", "not an image name"),
    ("ümlaut", "not an image name"),
    ("app@sha256:short", "not an image name"),
    ("busybox:1", "give the image as 'busybox' and '1' in tag"),
    ("localhost:5000/app:1.36", "give the image as 'localhost:5000/app' and '1.36' in tag"),
    ("app:v2" + DIGEST, "give the image as 'app' and 'v2' in tag"),
    ("i" * (NAME_CHARS + 1), f"at most {NAME_CHARS}"),
    ("i" * 1024, f"at most {NAME_CHARS}"),
    ("a-" * 511 + "a!", f"at most {NAME_CHARS}"),
]


@pytest.mark.parametrize("image", ACCEPTED)
def test_names_the_engine_takes_pass(image: str) -> None:
    assert image_problem(image) is None


@pytest.mark.parametrize(("image", "said"), REFUSED)
def test_names_the_engine_refuses_are_explained(image: str, said: str) -> None:
    problem = image_problem(image)
    assert problem is not None
    assert said in problem


@pytest.mark.parametrize("tag", ["latest", "1.36", "v1_2-3", "_x", "A" * 128])
def test_tags_the_engine_takes_pass(tag: str) -> None:
    assert tag_problem(tag) is None


@pytest.mark.parametrize("tag", [".x", "-x", "a:b", "a/b", "ä", "", "A" * 129])
def test_tags_the_engine_refuses_are_explained(tag: str) -> None:
    assert tag_problem(tag) is not None


_names = st.from_regex(r"\A[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,8}){0,2}(?:/[a-z0-9]{1,8}){0,2}\Z")
_tags = st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}\Z")


@given(_names, _tags)
def test_an_image_with_its_tag_inside_is_split_back_into_both(name: str, tag: str) -> None:
    assert image_problem(name) is None
    assert tag_problem(tag) is None
    problem = image_problem(f"{name}:{tag}")
    assert problem is not None
    assert f"give the image as {name!r} and {tag!r} in tag" in problem
