"""Herald: a social media campaign scheduler.

This package is the shell (settings, service layer, CLI, logging). Its ``errors`` and
``secret`` modules are leaves that every room may import; nothing else here is imported
by the lower rooms.
"""

__version__ = "0.1.0"
