"""Titles keep their real segments: only a name that is really the site's is removed, never a
segment that opens the <h1>, with or without URL and source. Headlines of our own writing in
the shapes that used to lose a segment: dotted numbers, domain-like words, colons."""

from __future__ import annotations

import pytest

from crawler.extract.core import Extracted, PageHints, Rejected, extract
from crawler.extract.meta import clean_title

PARAS = "".join(
    f"<p>Paragraphe {i} : le conseil régional a voté un budget supplémentaire pour les écoles "
    "rurales, et les parents d'élèves demandent des transports scolaires plus réguliers.</p>"
    for i in range(5)
)
AR_PARAS = "".join(
    f"<p>الفقرة {i}: صادق المجلس الجماعي على ميزانية إضافية لفائدة المدارس القروية، وطالب "
    "آباء التلاميذ بتوفير النقل المدرسي بشكل منتظم خلال الموسم الدراسي المقبل.</p>"
    for i in range(5)
)


def page(title: str, h1: str | None, head: str = "", lang: str = "fr") -> str:
    paras = AR_PARAS if lang == "ar" else PARAS
    heading = f"<h1>{h1}</h1>" if h1 is not None else ""
    return (
        f"<html lang='{lang}'><head><meta charset='utf-8'><title>{title}</title>{head}</head>"
        f"<body><article>{heading}{paras}</article></body></html>"
    )


def title_of(html: str, url: str | None = None, hints: PageHints | None = None) -> str:
    result: Extracted | Rejected = extract(html, url, hints)
    assert isinstance(result, Extracted), result
    return result.title


SHAPES = [
    # (title, h1): the stored title must be the h1
    ("Maroc : 300.000 élèves sans école - Rivage Info", "Maroc : 300.000 élèves sans école"),
    ("Tanger : 1.200 logements livrés | Rivage Info", "Tanger : 1.200 logements livrés"),
    (
        "Budget : 12.5 milliards pour la santé - Rivage Info",
        "Budget : 12.5 milliards pour la santé",
    ),
    ("Le Maroc dit oui: - Rivage Info", "Le Maroc dit oui:"),
    ("Le Maroc dit oui:", "Le Maroc dit oui:"),
    ("Rivage Info - Agadir : le port s'agrandit", "Agadir : le port s'agrandit"),
    ("Météo : 40°C attendus à Fès ce week-end", "Météo : 40°C attendus à Fès ce week-end"),
]


@pytest.mark.parametrize(("title", "h1"), SHAPES)
@pytest.mark.parametrize("url", [None, "https://www.rivage-info.ma/societe/ecoles-123.html"])
def test_french_titles_come_out_as_the_headline(title: str, h1: str, url: str | None) -> None:
    assert title_of(page(title, h1), url) == h1


AR_SHAPES = [
    # a domain-like site name after a headline whose first word must stay
    ("عاجل فبراير. كوم تكشف تفاصيل الاتفاق", "عاجل فبراير. كوم تكشف تفاصيل الاتفاق"),
    (
        "الرباط - فبراير. كوم: افتتاح المعرض الدولي للكتاب",
        "الرباط - فبراير. كوم: افتتاح المعرض الدولي للكتاب",
    ),
    ("مجلس النواب يصادق على الميزانية - فبراير. كوم", "مجلس النواب يصادق على الميزانية"),
    ("فبراير. كوم | الحكومة تعلن 2.5 مليار درهم للطرق", "الحكومة تعلن 2.5 مليار درهم للطرق"),
]


@pytest.mark.parametrize(("title", "h1"), AR_SHAPES)
@pytest.mark.parametrize("url", [None, "https://www.febrayer.com/123456.html"])
def test_arabic_titles_keep_their_first_word(title: str, h1: str, url: str | None) -> None:
    head = '<meta property="og:site_name" content="فبراير. كوم">'
    assert title_of(page(title, h1, head, lang="ar"), url) == h1


def test_a_site_name_from_og_site_name_is_removed_without_url() -> None:
    head = '<meta property="og:site_name" content="Rivage Info">'
    html = page("Rivage Info - Les pêcheurs d'Essaouira inquiets", None, head)
    assert title_of(html) == "Les pêcheurs d'Essaouira inquiets"


def test_the_sources_configured_name_is_a_site_name() -> None:
    html = page("Les pêcheurs d'Essaouira inquiets | Le Courrier du Sud", None)
    hints = PageHints(source_name="Le Courrier du Sud")
    assert title_of(html, None, hints) == "Les pêcheurs d'Essaouira inquiets"
    # without knowing the site, a segment that may be part of the headline stays
    assert title_of(html) == "Les pêcheurs d'Essaouira inquiets | Le Courrier du Sud"


def test_the_domain_names_the_site() -> None:
    html = page("Les pêcheurs d'Essaouira inquiets - Rivage Info", "Rivage Info")
    url = "https://rivage-info.ma/a/1"
    assert title_of(html, url) == "Les pêcheurs d'Essaouira inquiets"


@pytest.mark.parametrize(
    ("title", "site", "h1", "expected"),
    [
        # a word that is also the site's name stays when it opens the headline
        ("Maroc : la saison touristique record", {"maroc"}, "Maroc : la saison", "Maroc : la saison touristique record"),
        # the site's name is removed from either end
        ("Hespress FR - La CAN à Rabat", {"hespress"}, None, "La CAN à Rabat"),
        ("La CAN à Rabat | Le360 Sport", {"le360"}, None, "La CAN à Rabat"),
        # a trailing colon belongs to the headline
        ("Ils ont dit non: - Le360", {"le360"}, None, "Ils ont dit non:"),
        # nothing known about the site: the title stays whole
        ("Guerre des prix : 2.000 commerces fermés - Info Rapide", set(), None,
         "Guerre des prix : 2.000 commerces fermés - Info Rapide"),
        # quotes are the headline's own
        ("« Nous resterons » - Le360", {"le360"}, None, "« Nous resterons »"),
    ],
)  # fmt: skip
def test_clean_title_shapes(title: str, site: set[str], h1: str | None, expected: str) -> None:
    assert clean_title(title, site, h1) == expected


def test_trafilaturas_whole_title_guess_is_no_site_name() -> None:
    # trafilatura guesses the whole <title> as the site name when it holds «300.000»; that
    # guess removes nothing: with nothing known about the site the title stays whole, and
    # the site's own name (og:site_name) goes
    title = "Maroc : 300.000 élèves sans école - Rivage Info"
    assert title_of(page(title, None)) == title
    head = '<meta property="og:site_name" content="Rivage Info">'
    assert title_of(page(title, None, head)) == "Maroc : 300.000 élèves sans école"
