"""nianbao's crawler: Scrapy settings, items, pipelines, middlewares, extraction and the CLI."""
