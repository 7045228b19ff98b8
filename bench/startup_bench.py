"""Start-up time of the `marsad` command: `marsad --version` and `marsad --help`.

    .venv/bin/python bench/startup_bench.py [--runs 15] [--baseline DIR]

Times each command N times in a fresh interpreter (the console script's own code:
``from crawler.cli import main; main()``) and prints the median and the fastest run. With
``--baseline DIR`` the same commands run against another checkout (``PYTHONPATH=DIR``, same
interpreter and libraries), interleaved with ours so that both see the same machine load, and
the ratio baseline / ours is printed. The load average is printed before and after: on a busy
machine compare ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = (("--version",), ("--help",))
ENTRY = "from crawler.cli import main; main()"


def run_once(checkout: Path, args: tuple[str, ...]) -> float:
    """Seconds for one `marsad ARGS` in a fresh interpreter on *checkout*."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        env=env,
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or "marsad" not in proc.stdout:
        raise SystemExit(f"marsad {' '.join(args)} failed on {checkout}:\n{proc.stderr}")
    return elapsed


def which_crawler(checkout: Path) -> str:
    """Where `import crawler` resolves with PYTHONPATH=checkout (guards against the editable
    install of the current tree shadowing a baseline)."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    code = "import crawler, os; print(os.path.dirname(crawler.__file__))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=checkout, capture_output=True, text=True
    )
    return out.stdout.strip()


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min; {os.cpu_count()} cores)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="Runs per command and checkout.")
    parser.add_argument("--baseline", type=Path, help="Another checkout to compare with.")
    args = parser.parse_args()

    checkouts = {"ours": REPO}
    if args.baseline:
        checkouts["baseline"] = args.baseline.resolve()
    for name, checkout in checkouts.items():
        resolved = which_crawler(checkout)
        if Path(resolved) != checkout / "crawler":
            raise SystemExit(f"{name}: `import crawler` resolves to {resolved}, not {checkout}")
        print(f"{name:<9} {checkout}")
    print(f"load average before: {load()}")

    times: dict[tuple[str, tuple[str, ...]], list[float]] = {}
    for command in COMMANDS:
        for checkout in checkouts.values():
            run_once(checkout, command)  # warm the file cache and the bytecode
        for _ in range(args.runs):
            for name, checkout in checkouts.items():  # interleaved: same load for both
                times.setdefault((name, command), []).append(run_once(checkout, command))

    print(f"load average after:  {load()}")
    print(f"\n{'command':<18} {'checkout':<9} {'median':>9} {'fastest':>9}  ({args.runs} runs)")
    for command in COMMANDS:
        label = "marsad " + " ".join(command)
        medians = {}
        for name in checkouts:
            samples = times[(name, command)]
            medians[name] = statistics.median(samples)
            print(f"{label:<18} {name:<9} {medians[name]:>8.3f}s {min(samples):>8.3f}s")
        if "baseline" in medians:
            ratio = medians["baseline"] / medians["ours"]
            print(f"{label:<18} {'ratio':<9} {ratio:>8.1f}x  (baseline median / ours)")


if __name__ == "__main__":
    main()
