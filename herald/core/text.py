"""Text a person typed, before it is stored: control characters refused by name.

A NUL can be stored by SQLite but not by PostgreSQL (which fails the whole transaction), and
the other C0 controls (but tab and line breaks) are never what a person meant: a post, a name or
an alt text with one is refused with a message saying which field, whichever door it came in by
(the CLI, a CSV import, a form, the API).
"""

from __future__ import annotations

import re

from herald.core.errors import InputError
from herald.core.i18n import _

#: C0 controls and DEL, but tab, line feed and carriage return (a post may have lines).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: The same, line breaks and tabs included: for names, which are one line.
CONTROL_IN_NAME = re.compile(r"[\x00-\x1f\x7f]")


def refuse_controls(field: str, value: str | None, *, name: bool = False) -> None:
    """Raise InputError naming ``field`` if ``value`` holds a control character."""
    if value and (CONTROL_IN_NAME if name else CONTROL).search(value):
        if name:
            said = _("%(field)s contains a control character or line break; remove it")
        else:
            said = _("%(field)s contains a control character (such as NUL); remove it")
        raise InputError(field, said % {"field": field})
