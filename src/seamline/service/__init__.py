"""Command handlers and wiring. ``bootstrap()`` builds the application; nothing connects at import time."""

from seamline.service.app import Seamline
from seamline.service.bootstrap import bootstrap
from seamline.service.principal import Principal
from seamline.service.settings import Settings
from seamline.service.unit_of_work import UnitOfWork

__all__ = ["Principal", "Seamline", "Settings", "UnitOfWork", "bootstrap"]
