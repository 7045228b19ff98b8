"""One crawl: the Scrapy wiring (middlewares, extensions, items, drops), discovery, reports."""
