"""The read-only web app over the archive: server-rendered pages and a JSON API (FastAPI).

``nianbao serve`` runs :func:`web.app.create_app` under uvicorn. Layout: ``settings`` (the
knobs), ``db`` (a read-only engine with a query time limit), ``queries`` (what pages and API
show, as plain data), ``views`` (the charts and small presentation helpers), ``app`` (routes,
security headers, errors), ``templates/`` (Jinja2, autoescaped) and ``static/`` (CSS only).
"""
