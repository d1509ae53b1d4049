"""The Redis content queue: keys, Lua scripts, due set, payloads, staged photos, leases."""

from content_queue.keys import Keys
from content_queue.payload import Payload, PhotoRef
from content_queue.queue import DEFAULT_LEASE_SECONDS, ContentQueue

__all__ = ["DEFAULT_LEASE_SECONDS", "ContentQueue", "Keys", "Payload", "PhotoRef"]
