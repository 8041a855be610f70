"""The ASGI entry point for `seamline serve --workers N`: each worker process wires its own application."""

from __future__ import annotations

from fastapi import FastAPI

from seamline.api.app import create_app
from seamline.service import bootstrap


def create() -> FastAPI:
    """Called once per worker process by uvicorn (``factory=True``): nothing connects at import time."""
    return create_app(bootstrap(), background=True)
