"""When things go out: the dispatcher loop (and, later, posting slots, time zones, recurrence)."""

from scheduler.dispatcher import Dispatcher

__all__ = ["Dispatcher"]
