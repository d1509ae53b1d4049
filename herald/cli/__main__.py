"""``python -m herald.cli``: what ``herald up`` runs its worker with."""

import threading

from herald.cli import main

threading.current_thread().name = "herald"
main()
