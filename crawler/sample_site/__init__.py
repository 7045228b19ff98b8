"""Bundled fictional news site (four outlets) served on loopback for ``marsad demo`` and tests."""

from .content import Article, Outlet, Trap, load_outlets
from .server import ExpectedArticle, ExpectedTrap, SampleSite, serve_sample_site

__all__ = [
    "Article",
    "ExpectedArticle",
    "ExpectedTrap",
    "Outlet",
    "SampleSite",
    "Trap",
    "load_outlets",
    "serve_sample_site",
]
