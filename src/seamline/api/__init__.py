"""The HTTP API (DESIGN 13): FastAPI routes per resource, problem+json errors, bearer-token auth."""

from seamline.api.app import create_app

__all__ = ["create_app"]
