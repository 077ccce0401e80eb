"""The bundled demo website that ``make demo`` and the tests crawl over 127.0.0.1.

``site`` generates the pages of three fictional bureaus (TRS, Hanweb and a GBK-encoded generic
site) and the crawl's expected outcome; ``server`` serves them from a background thread;
``pdf`` and ``docx`` write the report attachments without third-party libraries.
"""

from crawler.demo.site import (
    DEMO_SITE_KEYS,
    DemoPage,
    DemoSite,
    ExpectedFailure,
    ExpectedReport,
    build_demo_site,
    demo_sites_toml,
)

__all__ = [
    "DEMO_SITE_KEYS",
    "DemoPage",
    "DemoServer",
    "DemoSite",
    "ExpectedFailure",
    "ExpectedReport",
    "build_demo_site",
    "demo_sites_toml",
]


def __getattr__(name: str):  # DemoServer imports http.server; load it only when asked
    if name == "DemoServer":
        from crawler.demo.server import DemoServer

        return DemoServer
    raise AttributeError(name)
