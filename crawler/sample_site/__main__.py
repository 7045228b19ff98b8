"""``python -m crawler.sample_site``: serve the sample site and print the bases until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .server import serve_sample_site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.sample_site", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--write-config",
        type=Path,
        metavar="DIR",
        help="also write DIR/sources.toml pointing at the running site",
    )
    args = parser.parse_args(argv)
    with serve_sample_site(args.host) as site:
        for key, base in site.bases.items():
            print(f"{key:12} {base}/  ({len(site.outlets[key].articles)} articles)")
        if args.write_config:
            print(f"config: {site.write_config(args.write_config)}")
        print("Serving; press Ctrl-C to stop.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
