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
(``ValueError`` naming the pattern), raised when the optimizer is built. A
pattern that matches no parameter of the model is an error too, raised by the
first step (when the keys are known: while it is traced, eagerly or under
``jax.jit`` alike). "The model" is the one passed to the outermost call
(``opt(model, grads)``, ``opt.minimize``, ``opt.init``): a member of a
``Chain`` or ``Partition`` sees only some keys, and a pattern of it need only
match some parameter of the whole model. A model without parameters is exempt.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = [
    "Pattern",
    "check_matches_some",
    "key_matches",
    "matches",
    "model_keys",
    "normalize_patterns",
    "require_match",
]

Pattern = str | Sequence[str] | Callable[[str], bool]

_PREFIX = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):")


def normalize_patterns(spec: Any, name: str = "patterns") -> tuple[str, ...] | Callable[..., Any]:
    """``spec`` as a tuple of checked strings, or the function itself (both static)."""
    if callable(spec):
        return _named(spec, name)  # type: ignore[no-any-return]
    items = (spec,) if isinstance(spec, str) else spec
    if not isinstance(items, (tuple, list)):
        raise ValueError(
            f"{name} must be a pattern string, a list of them or a function of the key, "
            f"got {spec!r}"
        )
    for item in items:
        _compile(_check(item, name))
    return _named(tuple(items), name)


def matches(spec: tuple[str, ...] | Callable[..., Any], key: str) -> bool:
    """Whether the dotted ``key`` matches the normalized ``spec``.

    While a step runs (inside :func:`model_keys`), first checks, once per step
    trace, that ``spec`` matches some parameter of the model.
    """
    scope: _Scope | None = getattr(_local, "scope", None)
    if scope is not None:
        scope.check(spec)
    return key_matches(spec, key)


def require_match(spec: tuple[str, ...] | Callable[..., Any]) -> None:
    """Inside a step, check that ``spec`` matches some parameter of the model.

    For patterns that :func:`matches` may never meet (a group of ``Partition``
    shadowed by an earlier one); outside a step, nothing to check against.
    """
    scope: _Scope | None = getattr(_local, "scope", None)
    if scope is not None:
        scope.check(spec)


def check_matches_some(
    spec: tuple[str, ...] | Callable[..., Any], keys: Sequence[str], name: str | None = None
) -> None:
    """Raise ``ValueError`` naming ``spec`` and a few of ``keys`` if it matches none of them.

    A model without parameters has nothing to select, and the step changes nothing:
    no error then.
    """
    if not keys or any(key_matches(spec, k) for k in keys):
        return
    name = name or _name_of(spec)
    prefix = f"{name}: " if name else ""
    if callable(spec):
        shown = f"function {getattr(spec, '__qualname__', spec)!r}"
    else:
        shown = f"pattern {spec[0]!r}" if len(spec) == 1 else f"patterns {list(spec)}"
    found = f"its parameters' keys are e.g. {list(keys[:6])}"
    hint = ""
    if not callable(spec) and any(p.endswith(".value") or ".value." in p for p in spec):
        hint = "; the keys of nnx Variables have no '.value' suffix ('l1.kernel')"
    raise ValueError(
        f"{prefix}{shown} matches no parameter of the model; {found}{hint}. "
        "Fix the pattern, or remove it if this model has no such parameter"
    )


@contextlib.contextmanager
def model_keys(keys: Callable[[], Sequence[str]]) -> Iterator[None]:
    """Within: patterns that :func:`matches` meets must match one of ``keys()``.

    ``keys`` (the parameter keys of the model being stepped) is called only if a
    pattern is matched, i.e. while a step is traced, not on cached eager steps.
    The outermost scope wins: members of combinators see the whole model.
    """
    if getattr(_local, "scope", None) is not None:
        yield
        return
    _local.scope = _Scope(keys)
    try:
        yield
    finally:
        _local.scope = None


_local = threading.local()

# The argument names under which each normalized spec was given, for the
# messages of errors raised later, at the first step (the name is shown only if
# it is the spec's only one). Bounded: specs are few, made when optimizers are built.
_NAMES: dict[Any, set[str]] = {}


def _named(spec: Any, name: str) -> Any:
    with contextlib.suppress(TypeError):
        if spec in _NAMES or len(_NAMES) < 4096:
            _NAMES.setdefault(spec, set()).add(name)
    return spec


def _name_of(spec: Any) -> str | None:
    try:
        names = _NAMES.get(spec, set())
    except TypeError:
        return None
    return next(iter(names)) if len(names) == 1 else None


class _Scope:
    __slots__ = ("_checked", "_keys", "_make")

    def __init__(self, make: Callable[[], Sequence[str]]) -> None:
        self._make = make
        self._keys: Sequence[str] | None = None
        self._checked: set[Any] = set()

    def check(self, spec: Any) -> None:
        try:
            marker = hash(spec), spec
        except TypeError:  # a callable object without __hash__: once per object
            marker = id(spec), None
        if marker in self._checked:
            return
        if self._keys is None:
            self._keys = list(self._make())
        check_matches_some(spec, self._keys)
        self._checked.add(marker)


def key_matches(spec: tuple[str, ...] | Callable[..., Any], key: str) -> bool:
    """:func:`matches` without the check that ``spec`` matches some parameter."""
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
