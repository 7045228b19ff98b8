"""`python -m crawler ...` is the `marsad` command (the scheduler starts each crawl this way)."""

from crawler.cli import main

if __name__ == "__main__":
    main()
