"""Scrapy settings for Marsad. Our own keys start with MARSAD_.

Each default's type is the type `-s KEY=VALUE` must have (crawler/crawl/preflight.py): a
setting read as a number of seconds is written as a float here, even when it is whole.
"""

BOT_NAME = "marsad"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# A placeholder: crawls of sites off this machine refuse it (crawler/crawl/agent.py); set a
# real contact in MARSAD_USER_AGENT or with -s USER_AGENT=...
USER_AGENT = "Marsad/0.1 (news monitoring; +https://example.org/marsad)"
ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

# Politeness: AutoThrottle adapts to each server; a few parallel requests per site at most.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_DELAY = 0.5
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 4

# Limits: no page may stall or flood a crawl.
DOWNLOAD_TIMEOUT = 30.0
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
DNS_TIMEOUT = 15.0
REDIRECT_MAX_TIMES = 5
RETRY_TIMES = 2
RETRY_GIVE_UP_LOG_LEVEL = "INFO"  # failures are counted and summarised per source
MARSAD_RETRY_BACKOFF_BASE = 1.0
MARSAD_RETRY_BACKOFF_MAX = 60.0
MARSAD_RETRY_AFTER_MAX = 60.0  # the longest Retry-After (of a 429 or 503) waited for, seconds
# Bounded work per source and run; each cut is counted (errors/<name>) and named in a warning.
MARSAD_SITEMAP_MAX_DEPTH = 5  # sitemap index levels below an entry sitemap (sitemap_limit)
MARSAD_SITEMAP_MAX_COUNT = 500  # sitemaps read per source, entry sitemaps included
MARSAD_MAX_PAGES_PER_SOURCE = 5000  # article pages fetched per source (budget_cut)

DEFAULT_DROPITEM_LOG_LEVEL = "DEBUG"  # duplicates and rejections are normal; they are counted
LOG_LEVEL = "INFO"

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.crawl.middlewares.RobotsTxtMiddleware": 100,
    "crawler.crawl.middlewares.SourceScopeMiddleware": 50,
    "crawler.crawl.middlewares.SkipKnownArticlesMiddleware": 60,
    "crawler.crawl.middlewares.PageBudgetMiddleware": 110,  # after the robots.txt check
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.crawl.middlewares.BackoffRetryMiddleware": 550,
    # Scrapy's own, with the responses they drop named (and so counted) by crawler/crawl/failures.py
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.crawl.middlewares.MetaRefreshMiddleware": 580,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.crawl.middlewares.DecompressionMiddleware": 590,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.crawl.middlewares.RedirectMiddleware": 600,
}

ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.normalize.NormalizePipeline": 200,
    "pipelines.dedupe.DedupePipeline": 300,
    "pipelines.tag.TagPipeline": 400,
    "pipelines.stories.StoryFingerprintPipeline": 450,
    "pipelines.store.StorePipeline": 500,
}

EXTENSIONS = {
    "crawler.crawl.extensions.CrawlCounters": 100,
    "crawler.crawl.extensions.ProgressDisplay": 200,
}

MARSAD_DB_URL = None  # filled from --db / MARSAD_DB_URL / the default
MARSAD_CONFIG_DIR = None  # filled from --config / MARSAD_CONFIG / the default
MARSAD_EXTRACT_WORKERS = -1  # -1: one per core; 0: extract in the crawl process
MARSAD_EXTRACT_TIMEOUT = 60.0  # seconds per page; a stuck worker is killed and replaced
MARSAD_MIN_CHARS = 200
MARSAD_RAW_HTML = "gzip"  # "gzip" or "none": keep each article's page for re-extraction
MARSAD_PROGRESS = False
# Story clusters (crawler/stories/): copies of one article are grouped into one story.
MARSAD_STORY_THRESHOLD = 0.3  # LSH similarity threshold; changing it starts a new band index
MARSAD_STORY_WINDOW_DAYS = 14.0  # a copy joins a story whose band keys are younger than this
MARSAD_STORAGE_RETRY_WINDOW = 60.0  # seconds a database outage is retried before the crawl stops
