from tests.crawler.harness import demo  # noqa: F401  (fixture)
