"""Container image references, checked when a definition is written.

A job's image is given as Sundial gives it: `image` names the repository, `tag` the tag (default
`latest`). An image the engine cannot parse used to be accepted and stored, and every run of it
then failed at its start with the engine's `invalid reference format`, a minute or a day later;
`busybox:1` as the image, with the tag inside it, was the usual case. The grammar here is the
engine's own (the distribution project's reference grammar), so what passes is what Docker and
Kubernetes accept. Only new writes are checked: a stored definition is read as it was stored.
"""

from __future__ import annotations

import re
from typing import Final

from gnomon.domain.definitions import TAG_CHARS

NAME_CHARS: Final = 255
"""The engine's limit on a repository name (the part before a tag or digest)."""
_LONGEST_BEFORE_DIGEST: Final = NAME_CHARS + 1 + TAG_CHARS
"""Past this, `image` cannot be a name even with a tag inside: it is refused before the grammar,
whose backtracking grows with the square of the length (1.3 ms at 1,024 characters)."""

_ALPHANUMERIC: Final = r"[a-z0-9]+"
_SEPARATOR: Final = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT: Final = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_COMPONENT: Final = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST: Final = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN: Final = rf"{_HOST}(?::[0-9]+)?"
_NAME: Final = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG: Final = rf"[\w][\w.-]{{0,{TAG_CHARS - 1}}}"
_DIGEST: Final = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_IMAGE: Final = re.compile(rf"({_NAME})(?:@{_DIGEST})?", re.ASCII)
_IMAGE_WITH_TAG: Final = re.compile(rf"({_NAME}):{_TAG}(?:@{_DIGEST})?", re.ASCII)
_TAG_ALONE: Final = re.compile(_TAG, re.ASCII)


def image_problem(image: str) -> str | None:
    """Why the engine would refuse `image` as a repository name (with an optional `@digest`),
    or None."""
    before_digest = image.split("@", 1)[0]
    if len(before_digest) > _LONGEST_BEFORE_DIGEST:
        return _name_too_long(before_digest)
    found = _IMAGE.fullmatch(image)
    if found is not None:
        return _name_too_long(found.group(1))
    with_tag = _IMAGE_WITH_TAG.fullmatch(image)
    if with_tag is not None:
        name, tag = with_tag.group(1), image[len(with_tag.group(1)) + 1 :].split("@")[0]
        return f"the image names a tag ({image!r}): give the image as {name!r} and {tag!r} in tag"
    return (
        "not an image name the engine accepts: lowercase letters and digits, "
        "joined by '.', '_', '__' or '-', in '/'-separated parts, after an optional "
        "registry host[:port]/ (for example team/app), optionally followed by @sha256:<digest>"
    )


def tag_problem(tag: str) -> str | None:
    """Why the engine would refuse `tag`, or None."""
    if _TAG_ALONE.fullmatch(tag) is not None:
        return None
    return (
        "not a tag the engine accepts: letters, digits, '_', '.' and '-', "
        "not starting with '.' or '-', at most 128 characters"
    )


def _name_too_long(name: str) -> str | None:
    if len(name) <= NAME_CHARS:
        return None
    return f"the image name is {len(name)} characters long; the engine takes at most {NAME_CHARS}"
