"""The CLI through click's runner: exit codes, config errors, extract, documentation."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from crawler.cli import cli

ARTICLE = """<!doctype html><html lang="ar" dir="rtl"><head><meta charset="windows-1256">
<title>القوات المسلحة الملكية تجري مناورات مع الجيش الإسرائيلي - صوت الأطلس</title>
<link rel="canonical" href="https://atlas.example/2024/05/manoeuvres.html">
<meta property="article:published_time" content="2024-05-02T09:15:00+01:00"></head>
<body><nav><a href="/">الرئيسية</a> <a href="/sport">رياضة</a></nav><article>
<h1>القوات المسلحة الملكية تجري مناورات مع الجيش الإسرائيلي</h1><p class="byline">بقلم: سعاد المنصوري</p>
<p>أجرت القوات المسلحة الملكية المغربية، صباح الخميس، مناورات عسكرية مشتركة مع وحدات من الجيش
الإسرائيلي في منطقة قريبة من مدينة أكادير، في إطار اتفاق التعاون الدفاعي الموقع بين البلدين.</p>
<p>وقال مصدر عسكري إن التمرين شمل عمليات إنزال جوي وتدريبات على الدفاع الجوي ومكافحة الطائرات
المسيرة، بمشاركة نحو ألف وخمسمائة جندي من الجانبين، إضافة إلى مراقبين من دول أخرى.</p>
<p>وأضاف المصدر أن وزارة الدفاع تعتزم تنظيم تمارين مماثلة خلال السنة المقبلة، في حين رحبت الرباط
وتل أبيب بما وصفتاه بالمستوى العالي من التنسيق بين الجيشين.</p></article>
<aside><h3>الأكثر قراءة</h3><a href="/x">خبر آخر</a></aside></body></html>"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def all_commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found.extend(all_commands(command, f"{prefix}{name} "))
    return found


@pytest.mark.parametrize("name,command", all_commands(cli))
def test_every_command_is_documented(name: str, command: click.Command) -> None:
    assert command.help and len(command.help.strip()) > 10, f"`marsad {name}` lacks help text"


def test_bad_config_exits_2_naming_file_and_key(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "sources.toml").write_text(
        '[sources.x]\nname = "X"\nlang = "arabic"\ndomains = ["x.ma"]\nfeeds = ["https://x.ma/f"]\n'
    )
    (tmp_path / "topics.toml").write_text("")
    result = runner.invoke(cli, ["--config", str(tmp_path), "sources", "check"])
    assert result.exit_code == 2
    assert "sources.toml" in result.output and "lang" in result.output and "arabic" in result.output


def test_unknown_source_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["--db", f"sqlite:///{tmp_path}/x.db", "crawl", "no-such-source"])
    assert result.exit_code == 2
    assert "no-such-source" in result.output and "marsad sources list" in result.output


def test_sources_list_json(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["sources", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) >= 12 and {"ar", "fr", "en"} <= {row["lang"] for row in rows}


def test_sources_check_offline(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["sources", "check"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_extract_plain_and_gzip_windows_1256(runner: CliRunner, tmp_path: Path) -> None:
    plain = tmp_path / "page.html"
    plain.write_bytes(ARTICLE.encode("cp1256"))
    packed = tmp_path / "page.html.gz"
    packed.write_bytes(gzip.compress(ARTICLE.encode("cp1256")))
    result = runner.invoke(cli, ["extract", str(plain), str(packed)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert len(records) == 2
    for record in records:
        assert record["url"] == "https://atlas.example/2024/05/manoeuvres.html"
        assert record["title"].startswith("القوات المسلحة الملكية")
        assert "صوت الأطلس" not in record["title"]
        assert record["author"] == "سعاد المنصوري"
        assert record["date"].startswith("2024-05-02") and record["date_source"] == "page"
        assert record["language"] == "ar"
        assert "\ufffd" not in record["text"] and "الدفاع الجوي" in record["text"]
        assert {"defense", "israel", "morocco"} <= set(record["topics"])
    for key in (
        "path",
        "url",
        "title",
        "author",
        "date",
        "date_source",
        "language",
        "text",
        "topics",
    ):
        assert key in records[0]


def test_extract_many_files_with_workers_keeps_order(runner: CliRunner, tmp_path: Path) -> None:
    paths = []
    for i in range(6):
        path = tmp_path / f"p{i}.html"
        path.write_text(ARTICLE.replace("manoeuvres", f"m{i}"), encoding="cp1256")
        paths.append(str(path))
    result = runner.invoke(cli, ["extract", "--workers", "2", "--format", "json", *paths])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [r["path"] for r in records] == paths
    assert [r["url"].rsplit("/", 1)[1] for r in records] == [f"m{i}.html" for i in range(6)]


def test_extract_rejects_a_listing_page_with_reason(runner: CliRunner, tmp_path: Path) -> None:
    links = "".join(
        f'<li><a href="/2024/05/a{i}.html">عنوان الخبر رقم {i} عن الاقتصاد</a></li>'
        for i in range(40)
    )
    path = tmp_path / "list.html"
    path.write_text(f"<html><body><h1>سياسة</h1><ul>{links}</ul></body></html>", encoding="utf-8")
    result = runner.invoke(cli, ["extract", str(path)])
    record = json.loads(result.output)
    assert record["rejected"] in ("listing", "too_short", "no_content")
