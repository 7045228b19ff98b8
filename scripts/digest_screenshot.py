"""Render a sample Arabic alert digest to HTML and screenshot it with headless Chromium.

    .venv/bin/python scripts/digest_screenshot.py [--out-dir build/digest-screenshot]

For a person to look at: right-to-left layout, mixed Arabic/French lines, highlights,
escaping of a hostile title. Needs /usr/bin/chromium (`apt-get install -y chromium`).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.config.alerts import parse_alerts
from crawler.digest import build_digest, render_all
from crawler.digest.render import DigestItem, highlight

RULE = {
    "rules": {
        "rabat": {
            "name": "المغرب وإسرائيل: الدفاع",
            "lang": "ar",
            "topics": ["defense", "israel"],
            "schedule": "0 7 * * *",
            "timezone": "Africa/Casablanca",
            "subject": "مرصد · {{ rule }} · {{ count }} · {{ date }}",
            "channels": {"f": {"type": "file", "path": "x.html"}},
        }
    }
}

DEFENSE, ISRAEL = "Defense / الدفاع / Défense", "Israel / إسرائيل / Israël"


def sample_items() -> list[DigestItem]:
    return [
        DigestItem(
            title="المغرب وإسرائيل يوقعان مذكرة تفاهم في مجال الدفاع (AFP)",
            url="https://www.mapexpress.ma/ar/actualite/1",
            outlet="MAP — وكالة المغرب العربي للأنباء",
            published="2026-11-20 09:15",
            lang="ar",
            excerpt=highlight(
                "وقع المغرب وإسرائيل، الأربعاء بالرباط، مذكرة تفاهم في مجال الدفاع تشمل "
                "التعاون العسكري وتبادل الخبرات، بحضور وزير الدفاع الإسرائيلي.",
                ["الدفاع", "إسرائيل"],
            ),
            topics=[DEFENSE, ISRAEL],
            outlets=[
                "MAP — وكالة المغرب العربي للأنباء",
                "Hespress (العربية)",
                "Le360",
                "Barlamane (برلمان.كوم)",
            ],
            article_ids=[1, 2, 3, 4],
            story_id=7,
        ),
        DigestItem(
            title="Défense : Rabat et Tel-Aviv signent un accord de coopération «historique»",
            url="https://fr.hespress.com/2",
            outlet="Hespress FR",
            published="2026-11-20 10:02",
            lang="fr",
            excerpt=highlight(
                "Le ministre délégué chargé de l'Administration de la Défense nationale a "
                "reçu son homologue israélien (وزير الدفاع) à Rabat.",
                ["défense", "israélien"],
            ),
            topics=[DEFENSE, ISRAEL],
            outlets=["Hespress FR"],
            article_ids=[5],
        ),
        DigestItem(
            title='<script>alert("x")</script> صفقة مسيّرات «Heron» بقيمة 500 مليون دولار',
            url="https://www.le360.ma/ar/3",
            outlet="Le360 (العربية)",
            published="2026-11-19 18:40",
            lang="ar",
            excerpt=highlight(
                "كشفت مصادر أن الصفقة تشمل 150 طائرة مسيّرة من طراز Heron تصنعها شركة IAI "
                "الإسرائيلية، في إطار تحديث منظومة الدفاع الجوي.",
                ["الدفاع", "إسرائيل"],
            ),
            topics=[ISRAEL, DEFENSE],
            outlets=["Le360 (العربية)", "Al Yaoum 24 (اليوم 24)"],
            article_ids=[6, 8],
            story_id=9,
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out-dir", default="build/digest-screenshot")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    out = Path(args.out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)

    from crawler.config import load_config

    config = load_config(Path(__file__).resolve().parent.parent / "config")
    _, rules = parse_alerts(RULE)
    rule = rules[0]
    digest = build_digest(config, rule, sample_items(), datetime(2026, 11, 20, 7, 0, tzinfo=UTC))
    rendered = render_all(digest, rule)
    html_path = out / "digest-ar.html"
    html_path.write_text(rendered.html, encoding="utf-8")
    (out / "digest-ar.txt").write_text(rendered.text, encoding="utf-8")
    (out / "digest-ar.md").write_text(rendered.markdown, encoding="utf-8")
    png = out / "digest-ar.png"
    cmd = [
        args.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        f"--screenshot={png}", "--window-size=720,1300", html_path.as_uri(),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    print(f"subject: {rendered.subject}")
    print(f"html:    {html_path}")
    print(f"png:     {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
