"""Monitoring and alerting: expected reports and deadlines, crawl health, alerts and delivery.

- :mod:`alerts.deadlines` -- pure deadline rules (legal defaults, per-site overrides, grace);
- :mod:`alerts.coverage` -- the grid of report years per site: not yet due, on time, late,
  missing, unknown (:func:`alerts.coverage.coverage_grid`);
- :mod:`alerts.health` -- a site's state from its run history: ok, unreachable, broken;
- :mod:`storage.outbox` -- alerts opened once, repeated after an interval, resolved once, each
  message written to the outbox in the detecting transaction;
- :mod:`alerts.monitor` -- runs the checks above for some sites and syncs the alerts;
- :mod:`alerts.delivery` -- sends outbox messages through apprise, with retries and backoff;
- :mod:`alerts.changes` -- pure: the changed places between two versions' texts, in context;
- :mod:`alerts.messages` -- the words of every alert, in the reader's language (``NIANBAO_LANG``).
"""
