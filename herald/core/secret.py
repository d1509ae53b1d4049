"""``Secret``: a string that never shows itself in ``repr``, ``str``, logs or tracebacks."""

from __future__ import annotations

from typing import Final

MASK: Final = "**********"
#: Values shorter than this are not redacted from logs (they would mangle ordinary words).
MIN_REDACT_CHARS: Final = 6

# Every secret value this process has seen, so the log filter can redact it wherever it shows up.
_known: set[str] = set()


def known_secrets() -> frozenset[str]:
    return frozenset(_known)


def known_count() -> int:
    """How many secret values are known: values are only ever added, so a change in the count
    is a change in the set (``herald.core.redaction`` rebuilds its search list only then)."""
    return len(_known)


class Secret:
    """Holds a credential. ``reveal()`` is the only way to read it, so each use is greppable."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        if len(value) >= MIN_REDACT_CHARS:
            _known.add(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> str | tuple[object, ...]:
        # Refuse pickling: a Secret must never travel through Celery or Redis by accident.
        raise TypeError("Secret values are not picklable")
