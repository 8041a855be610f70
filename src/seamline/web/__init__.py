"""The operator's dashboard: server-rendered pages (Jinja2) over the service and the integration layer.

``mount_dashboard(app, service, integration)`` puts it on the API's FastAPI application at ``/``.
"""

from seamline.web.dashboard import Dashboard, DriftLog, DriftRecord, mount_dashboard

__all__ = ["Dashboard", "DriftLog", "DriftRecord", "mount_dashboard"]
