"""The CLI through click's runner: exit codes, config errors, extract, documentation."""

from __future__ import annotations

import ast
import gzip
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from crawler import db
from crawler.cli import COMMANDS as COMMANDS_TABLE
from crawler.cli import cli, load_command
from crawler.cli.common import State, UsageError, parse_settings, select_sources

REPO = Path(__file__).resolve().parents[1]

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
    """Every command and sub-command, loading the lazily registered ones."""
    ctx = click.Context(group)
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"`marsad {prefix}{name}` is listed but cannot be loaded"
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found.extend(all_commands(command, f"{prefix}{name} "))
    return found


COMMANDS = all_commands(cli)


def test_every_command_and_sub_command_is_listed() -> None:
    names = {name for name, _ in COMMANDS}
    assert {"crawl", "search", "db upgrade", "db reindex", "sources check", "topics test"} <= names
    assert {"digest run", "digest preview", "digest history", "runs", "status"} <= names
    assert len(names) == 29  # 26 + web, worker, workers


@pytest.mark.parametrize("name,command", COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_command_is_documented(name: str, command: click.Command) -> None:
    assert command.help and len(command.help.strip()) > 10, f"`marsad {name}` lacks help text"
    for param in command.params:
        if isinstance(param, click.Option) and param.name != "help":
            documented = param.help or param.show_default or param.is_flag
            assert documented, f"`marsad {name}` option {param.opts[0]} lacks help or default"


def test_a_missing_help_text_is_caught() -> None:
    @click.group()
    def group() -> None:
        """A group with a documented and an undocumented command."""

    @group.command()
    def documented() -> None:
        """This one says what it does."""

    @group.command()
    def silent() -> None:
        pass

    undocumented = [name for name, command in all_commands(group) if not command.help]
    assert undocumented == ["silent"]


@pytest.mark.parametrize("name", sorted(COMMANDS_TABLE))
def test_the_lazy_table_agrees_with_each_command(name: str) -> None:
    """`marsad --help` lists each command from the table without importing it: the table's
    one-line help must be the command's own."""
    entry = COMMANDS_TABLE[name]
    command = load_command(entry.target)
    assert command.name == name
    wide = 10_000
    table_line = click.Command(name, help=entry.short_help).get_short_help_str(wide)
    assert table_line == command.get_short_help_str(wide)


def test_top_level_help_lists_every_command_with_its_help(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS_TABLE:
        assert f"  {name} " in result.output
    assert "Full-text search of stored articles" in result.output
    assert f"(default: {db.DEFAULT_DB_URL})" in " ".join(result.output.split())


def test_command_modules_never_import_from_the_group_module() -> None:
    """The group imports its command modules lazily; they take what they share from
    crawler.cli.common, never from crawler/cli/__init__.py (that was an import cycle)."""
    offenders = []
    for path in sorted((REPO / "crawler" / "cli").glob("*.py")):
        if path.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if "crawler.cli" in names:
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, offenders


def test_an_unknown_command_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["serach", "x"])
    assert result.exit_code == 2 and "No such command" in result.output


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


# --------------------------------------------------------------------------- shared options


@pytest.mark.parametrize(
    "args",
    [
        ["search", "crise", "--since", "yesterday"],
        ["search", "crise", "--until", "2024-13-01"],
        ["export", "--since", "last week"],
        ["stats", "--since", "7 days"],
        ["stories", "--since", "soon"],
        ["retag", "--since", "lastweek"],
        ["topics", "test", "morocco", "--since", "7dd"],
        ["digest", "--dry-run", "--since", "2 days"],
        ["digest", "preview", "desk", "--out", "x.html", "--since", "eventually"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_a_since_typo_is_a_usage_error_naming_the_option(
    runner: CliRunner, tmp_path: Path, args: list[str]
) -> None:
    result = runner.invoke(cli, ["--db", f"sqlite:///{tmp_path}/x.db", *args])
    assert result.exit_code == 2, result.output
    option = "--until" if "--until" in args else "--since"
    assert f"Invalid value for '{option}'" in result.output
    assert "expected a date (2024-05-01)" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.db").exists()  # refused before touching the database


# every --format value each command accepted before the shared option; the human format had
# two names ("text" for some commands, "table" for others) and now both work everywhere
FORMATS_BEFORE = {
    "crawl": {"text", "json"},
    "demo": {"text", "json"},
    "extract": {"jsonl", "json"},
    "sources list": {"text", "json"},
    "tag": {"jsonl"},
    "retag": {"text", "json"},
    "topics test": {"text", "json"},
    "stories": {"table", "json"},
    "search": {"table", "json", "jsonl", "csv"},
    "show": {"text", "json"},
    "export": {"csv", "jsonl"},
    "stats": {"text", "json"},
    "runs": {"table", "json"},
    "status": {"table", "json"},
    "digest run": {"text", "json"},
    "workers": {"table", "json"},
}


def _format_choices(command: click.Command) -> set[str]:
    option = next(p for p in command.params if p.name == "fmt")
    assert isinstance(option.type, click.Choice)
    return {str(choice) for choice in option.type.choices}


def test_every_format_accepted_before_is_still_accepted() -> None:
    commands = dict(COMMANDS)
    with_format = {
        name for name, command in COMMANDS if any(p.name == "fmt" for p in command.params)
    }
    assert with_format == set(FORMATS_BEFORE)
    for name, before in FORMATS_BEFORE.items():
        choices = _format_choices(commands[name])
        human = before & {"text", "table"}
        expected = before | ({"text", "table"} if human else set())
        assert choices == expected, name


@pytest.fixture
def seeded_db(tmp_path: Path) -> str:
    from datetime import UTC, datetime

    from sqlalchemy.orm import Session

    url = f"sqlite:///{tmp_path / 'formats.db'}"
    engine = db.make_engine(url)
    with Session(engine) as session:
        for i, title in enumerate(["القوات المسلحة الملكية تجري مناورات", "Le Maroc et Israël"]):
            session.add(
                db.Article(
                    source="atlas-ar" if i == 0 else "ledger",
                    url=f"https://example.com/{i}",
                    url_key=f"example.com/{i}",
                    url_hash=db.url_hash(f"example.com/{i}"),
                    title=title,
                    text=title,
                    title_norm=title,
                    text_norm=title,
                    language="ar" if i == 0 else "fr",
                    content_hash=f"{i:040d}",
                    published_at=datetime.now(UTC),
                )
            )
        session.commit()
    engine.dispose()
    return url


@pytest.mark.parametrize(
    ("args", "marker"),
    [
        (["sources", "list"], "Sources in"),
        (["stats"], "Per topic:"),
        (["stories"], "since"),
        (["search", "Maroc"], "Le Maroc et Israël"),
        (["show", "1"], "raw HTML: not stored"),
        (["runs"], "run(s)"),
        (["status"], "Source health"),
        (["retag"], "articles retagged"),
        (["topics", "test", "morocco"], "articles would be tagged"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_format_text_and_table_both_give_the_human_output(
    runner: CliRunner, seeded_db: str, args: list[str], marker: str
) -> None:
    runner.invoke(cli, ["--db", seeded_db, *args])  # retag's counts change after its first run
    outputs = []
    for fmt in ([], ["--format", "text"], ["--format", "table"]):
        result = runner.invoke(cli, ["--db", seeded_db, *args, *fmt])
        assert result.exit_code == 0, result.output
        assert marker in result.output
        outputs.append(result.output)
    assert outputs[0] == outputs[1] == outputs[2]


def test_human_output_isolates_arabic_titles_last_on_their_line(
    runner: CliRunner, seeded_db: str
) -> None:
    result = runner.invoke(cli, ["--db", seeded_db, "search", "القوات"])
    assert result.exit_code == 0, result.output
    row = result.output.splitlines()[1]
    assert row.endswith("\u2068القوات المسلحة الملكية تجري مناورات\u2069")
    shown = runner.invoke(cli, ["--db", seeded_db, "show", "1"]).output
    assert shown.splitlines()[0] == "\u2068القوات المسلحة الملكية تجري مناورات\u2069"


def test_a_set_without_equals_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    for command in (["crawl"], ["schedule"]):
        result = runner.invoke(
            cli, ["--db", f"sqlite:///{tmp_path}/x.db", *command, "-s", "DOWNLOAD_DELAY"]
        )
        assert result.exit_code == 2
        assert "--set expects KEY=VALUE, got 'DOWNLOAD_DELAY'" in result.output


def test_parse_settings() -> None:
    assert parse_settings(["A=1", " B =x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    with pytest.raises(UsageError):
        parse_settings(["=1"])


def test_state_engine_is_disposed_even_when_the_command_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Engine:
        disposed = False

        def dispose(self) -> None:
            self.disposed = True

    for mode, patched in ((True, "make_engine"), (False, "open_existing")):
        opened = Engine()
        monkeypatch.setattr(db, patched, lambda url, _opened=opened, **kwargs: _opened)
        with pytest.raises(RuntimeError), State(db_option="sqlite://").engine(create=mode) as e:
            assert e is opened and not opened.disposed
            raise RuntimeError("the command failed")
        assert opened.disposed


def test_state_db_url_defaults_like_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MARSAD_DB_URL", raising=False)
    assert State().db_url == db.DEFAULT_DB_URL
    assert State(db_option="sqlite:///x.db").db_url == "sqlite:///x.db"


def test_select_sources() -> None:
    config = State().config()
    enabled = select_sources(config, ())
    assert enabled and all(source.enabled for source in enabled)
    first = config.sources[0].key
    assert [s.key for s in select_sources(config, (first,))] == [first]
    with pytest.raises(UsageError, match="unknown source"):
        select_sources(config, ("nope",))
