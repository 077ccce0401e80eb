"""Groups of pages and API endpoints, one module each, included by :func:`web.app.create_app`.

Each module defines ``router = APIRouter()`` and takes its session and templates through
:mod:`web.deps`.
"""
