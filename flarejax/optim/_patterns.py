"""Selecting parameters by their dotted key: glob patterns, ``re:`` regexes, or a function.

A *pattern* is one of

* a glob string matched against the whole key with :func:`fnmatch.fnmatchcase`
  (case-sensitive; ``*`` also crosses dots): ``"encoder.*"``, ``"*.bias"``,
  ``"layers.[0-3].kernel"``; a ``glob:`` prefix says so explicitly;
* ``"re:<regex>"``: a regular expression that must match the whole key
  (:func:`re.fullmatch`), e.g. ``"re:.*\\.(bias|scale)"``;
* a function of the key returning a bool, e.g. ``lambda key: key.endswith("bias")``;
* a tuple or list of strings, matching a key that any of them matches.

Any other ``word:`` prefix, an empty string and an invalid regex are errors
(``ValueError`` naming the pattern), raised when the optimizer is built.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["Pattern", "matches", "normalize_patterns"]

Pattern = str | Sequence[str] | Callable[[str], bool]

_PREFIX = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):")


def normalize_patterns(spec: Any, name: str = "patterns") -> tuple[str, ...] | Callable[..., Any]:
    """``spec`` as a tuple of checked strings, or the function itself (both static)."""
    if callable(spec):
        return spec  # type: ignore[no-any-return]
    items = (spec,) if isinstance(spec, str) else spec
    if not isinstance(items, (tuple, list)):
        raise ValueError(
            f"{name} must be a pattern string, a list of them or a function of the key, "
            f"got {spec!r}"
        )
    for item in items:
        _compile(_check(item, name))
    return tuple(items)


def matches(spec: tuple[str, ...] | Callable[..., Any], key: str) -> bool:
    """Whether the dotted ``key`` matches the normalized ``spec``."""
    if callable(spec):
        return bool(spec(key))
    return any(_compile(p)(key) for p in spec)


def _check(pattern: Any, name: str) -> str:
    if not isinstance(pattern, str):
        raise ValueError(
            f"{name}: pattern {pattern!r} must be a string (glob, or 're:' regex), "
            f"got {type(pattern).__name__}"
        )
    if not pattern:
        raise ValueError(f"{name}: the empty pattern '' matches no parameter key")
    prefix = _PREFIX.match(pattern)
    if prefix and prefix.group(1) not in ("re", "glob"):
        raise ValueError(
            f"{name}: unknown pattern syntax {prefix.group(0)!r} in {pattern!r}; use a glob "
            "('encoder.*'), 're:' for a regular expression, or 'glob:' to match a ':' literally"
        )
    return pattern


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str) -> Callable[[str], bool]:
    if pattern.startswith("re:"):
        try:
            regex = re.compile(pattern[3:])
        except re.error as e:
            raise ValueError(f"invalid regular expression in pattern {pattern!r}: {e}") from None
        return lambda key: regex.fullmatch(key) is not None
    glob = pattern[5:] if pattern.startswith("glob:") else pattern
    return lambda key: fnmatch.fnmatchcase(key, glob)
