"""The review web page: officers and linguists review, edit, approve and reject briefings
in a browser, through the same :class:`~briefings.approval.Workflow` as the command line.

Served by ``briefings review-ui`` on 127.0.0.1 only. :func:`create_app` builds the
Starlette application (tests drive it with Starlette's TestClient); :func:`serve`
runs it with uvicorn.
"""

from briefings.web.app import DEFAULT_WEB_MAX_TLP, create_app, serve

__all__ = ["DEFAULT_WEB_MAX_TLP", "create_app", "serve"]
