"""What a route needs from the app it runs in: the archive session and the page templates.

``create_app`` keeps both on ``app.state``; route modules (``web/routes/``) reach them through
these dependencies instead of a closure, so each group of pages can live in its own module.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

__all__ = ["Db", "Templates", "db_session", "page_templates"]


def db_session(request: Request) -> Iterator[Session]:
    """A read-only archive session for one request (closed after the response)."""
    with request.app.state.sessions() as session:
        yield session


def page_templates(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


Db = Annotated[Session, Depends(db_session)]
Templates = Annotated[Jinja2Templates, Depends(page_templates)]
