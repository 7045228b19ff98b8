"""extract / extract_bytes on small handwritten pages (the project's own text, not publishers')."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from crawler.extract.core import (
    Extracted,
    PageHints,
    Rejected,
    clean_author,
    clean_title,
    extract,
    extract_bytes,
)

AR_PARAS = [
    "أعلنت وزارة الصحة اليوم عن إطلاق حملة وطنية جديدة للتلقيح ضد الحصبة تشمل جميع المدن والقرى، "
    "وذلك بعد تسجيل ارتفاع في عدد الإصابات خلال الأسابيع الماضية في عدد من الجهات.",
    "وقال مسؤول في الوزارة إن الحملة ستستمر شهرين كاملين، وإن الفرق الطبية ستزور المدارس "
    "والمراكز الصحية القروية لضمان وصول اللقاح إلى كل الأطفال المعنيين دون استثناء.",
    "ودعت الوزارة الأسر إلى التعاون مع الفرق الطبية وتقديم دفاتر التلقيح، مؤكدة أن اللقاح "
    "مجاني وآمن وأن الهدف هو حماية الأطفال من مضاعفات المرض الخطيرة.",
]
FR_PARAS = [
    "Le gouvernement a présenté mardi un nouveau plan d'investissement dans les infrastructures "
    "ferroviaires, qui prévoit la modernisation de plusieurs lignes régionales d'ici à 2030.",
    "Selon le ministre des Transports, ce programme doit réduire les temps de trajet entre les "
    "grandes villes et améliorer la ponctualité des trains, souvent critiquée par les usagers.",
    "Les syndicats ont salué l'annonce tout en réclamant des garanties sur le recrutement de "
    "personnel et sur le maintien des petites gares dans les zones rurales.",
]

NAV = """<header><nav><ul>
<li><a href="/">الرئيسية</a></li><li><a href="/politique">سياسة</a></li>
<li><a href="/economie">اقتصاد</a></li><li><a href="/sport">رياضة</a></li>
</ul></nav></header>"""
FOOTER = """<footer><p>جميع الحقوق محفوظة</p><a href="/contact">اتصل بنا</a></footer>"""


def article_page(
    *,
    title: str = "إطلاق حملة وطنية للتلقيح ضد الحصبة - هسبريس",
    paras: list[str] = AR_PARAS,
    lang: str = "ar",
    head: str = "",
    byline: str = "",
    extra_body: str = "",
) -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paras)
    h1 = title.split(" - ")[0].split(" | ")[0]
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:site_name" content="Hespress">{head}</head>
<body>{NAV}
<main><article><h1>{h1}</h1>
<div class="byline">{byline}</div>
<div class="article-body">{body}{extra_body}</div>
</article></main>
{FOOTER}</body></html>"""


def listing_page(title: str = "آخر الأخبار", head: str = "") -> str:
    items = "\n".join(
        f'<li><article><h2><a href="/news/2024/03/{i}/article-slug-number-{i}">'
        f"عنوان خبر رقم {i} حول موضوع مهم في المنطقة</a></h2>"
        f'<a href="/news/2024/03/{i}/article-slug-number-{i}">اقرأ المزيد</a></article></li>'
        for i in range(30)
    )
    return f"""<!DOCTYPE html><html lang="ar"><head><meta charset="utf-8"><title>{title}</title>
{head}</head><body>{NAV}<main><h1>{title}</h1><ul class="list">{items}</ul></main>
{FOOTER}</body></html>"""


URL = "https://www.example.ma/news/2024/03/12/vaccination-campaign"


def ok(result: Extracted | Rejected) -> Extracted:
    assert isinstance(result, Extracted), result
    return result


# ------------------------------------------------------------------ body, title, language


def test_arabic_article() -> None:
    result = ok(extract(article_page(), URL))
    assert result.title == "إطلاق حملة وطنية للتلقيح ضد الحصبة"
    assert result.text.split("\n\n") == AR_PARAS
    assert result.language == "ar"
    assert result.url == URL
    assert "الرئيسية" not in result.text and "جميع الحقوق" not in result.text


def test_french_article_title_suffix_and_read_also_lines() -> None:
    html = article_page(
        title="Un plan pour le rail régional | Le360",
        paras=[FR_PARAS[0], "Lire aussi : Les grèves continuent à la SNCF", *FR_PARAS[1:]],
        lang="fr",
        byline="Par Karim Benali",
        head='<meta property="og:site_name" content="Le360">',
    )
    result = ok(extract(html, "https://fr.le360.ma/economie/plan-rail-regional-12345/"))
    assert result.title == "Un plan pour le rail régional"
    assert result.text.split("\n\n") == FR_PARAS
    assert result.language == "fr"


def test_wrong_html_lang_is_checked_against_the_script() -> None:
    result = ok(extract(article_page(lang="en"), URL))
    assert result.language == "ar"


def test_language_detected_without_declaration() -> None:
    html = article_page(paras=FR_PARAS, title="Plan rail", lang="").replace(' lang=""', "")
    assert ok(extract(html, URL)).language == "fr"


def test_short_arabic_news_passes() -> None:
    para = (
        "أعلنت السلطات المحلية بمدينة طنجة صباح اليوم عن إغلاق مؤقت للطريق الساحلي بسبب "
        "أشغال الصيانة، ودعت السائقين إلى استعمال الطرق البديلة إلى غاية نهاية الأسبوع الجاري، "
        "مؤكدة أن الأشغال تهدف إلى تحسين السلامة الطرقية وتقليص الحوادث في هذا المقطع "
        "الذي يعرف حركة كثيفة خلال فصل الصيف."
    )
    assert 250 <= len(para) <= 320
    result = ok(extract(article_page(paras=[para]), URL))
    assert result.text == para


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Le Maroc accueille la CAN - Hespress", "Le Maroc accueille la CAN"),
        ("Le Maroc accueille la CAN | Le360", "Le Maroc accueille la CAN"),
        ("Hespress - Le Maroc accueille la CAN", "Le Maroc accueille la CAN"),
        ("حملة تلقيح جديدة | هسبريس", "حملة تلقيح جديدة"),
        (
            "Guerre en Ukraine : le point sur la situation",
            "Guerre en Ukraine : le point sur la situation",
        ),
    ],
)
def test_clean_title(title: str, expected: str) -> None:
    assert clean_title(title, {"hespress", "le360", "هسبريس"}) == expected


# ------------------------------------------------------------------ authors


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("بقلم: محمد العلوي", "محمد العلوي"),
        ("بقلم:محمد العلوي", "محمد العلوي"),
        ("بقلم محمد العلوي", "محمد العلوي"),
        ("كتب - أحمد سالم", "أحمد سالم"),
        ("كتبه: يوسف بنعلي 12 مارس 2024", "يوسف بنعلي"),
        ("إعداد: سارة أحمد", "سارة أحمد"),
        ("حرر: خالد منصور", "خالد منصور"),
        ("تحرير: ليلى حسن | 2024-03-12", "ليلى حسن"),
        ("محمد علي - 12/03/2024 10:30", "محمد علي"),
        ("Par Jean Dupont, le 12 mars 2024", "Jean Dupont"),
        ("By JOHN SMITH", "JOHN SMITH"),
        ("Jane Doe jane.doe@example.com", "Jane Doe"),
        ("Loïc Le Clerc", "Loïc Le Clerc"),
        ("View all posts by Samira Bennani", "Samira Bennani"),
        ("Karim Tazi; Journalist; Nadia Alaoui", "Karim Tazi; Nadia Alaoui"),
        ("Hamid el amrani; Hamid El Amrani", "Hamid el amrani"),
        ("No Author", None),
        ("المحرر", None),
        ("Le Courrier du Sud https; Www Courrierdusud Ma; Omar Idrissi", "Omar Idrissi"),
        ("Attac Maroc", "Attac Maroc"),  # an organisation is a byline too
        ("", None),
        (None, None),
    ],
)
def test_clean_author(raw: str | None, expected: str | None) -> None:
    assert clean_author(raw) == expected


def test_byline_on_page_is_cleaned() -> None:
    head = '<meta name="author" content="بقلم: عبد الله الإدريسي">'
    result = ok(extract(article_page(head=head), URL))
    assert result.author == "عبد الله الإدريسي"


# ------------------------------------------------------------------ dates

FEED = datetime(2024, 3, 10, 8, 0, tzinfo=UTC)
SITEMAP = datetime(2024, 3, 9, tzinfo=UTC)
PAGE_DATE_HEAD = '<meta property="article:published_time" content="2024-03-12T10:30:00+01:00">'


def test_page_date_beats_feed_and_sitemap() -> None:
    hints = PageHints(feed_date=FEED, sitemap_date=SITEMAP)
    result = ok(extract(article_page(head=PAGE_DATE_HEAD), URL, hints))
    assert result.published == datetime(2024, 3, 12, 9, 30, tzinfo=UTC)
    assert result.date_source == "page"


def test_json_ld_date_with_time() -> None:
    head = """<script type="application/ld+json">{"@context": "https://schema.org",
      "@type": "NewsArticle", "headline": "x", "datePublished": "2023-11-05T22:15:00Z",
      "author": {"@type": "Person", "name": "كتب: سعيد الناصري"}}</script>"""
    result = ok(extract(article_page(head=head), "https://example.ma/a/b"))
    assert result.published == datetime(2023, 11, 5, 22, 15, tzinfo=UTC)
    assert result.published.tzinfo is not None
    assert result.author == "سعيد الناصري"


def test_feed_date_when_page_has_none() -> None:
    hints = PageHints(feed_date=FEED, sitemap_date=SITEMAP)
    result = ok(extract(article_page(), "https://example.ma/news/vaccination", hints))
    assert (result.published, result.date_source) == (FEED, "feed")


def test_naive_feed_date_becomes_utc() -> None:
    naive = datetime(2024, 3, 10, 8, 0)
    hints = PageHints(feed_date=naive)
    result = ok(extract(article_page(), "https://example.ma/news/vaccination", hints))
    assert result.published == datetime(2024, 3, 10, 8, 0, tzinfo=UTC)


def test_feed_date_in_other_zone_is_converted() -> None:
    hints = PageHints(feed_date=datetime(2024, 3, 10, 9, 0, tzinfo=timezone(timedelta(hours=1))))
    result = ok(extract(article_page(), "https://example.ma/news/vaccination", hints))
    assert result.published == datetime(2024, 3, 10, 8, 0, tzinfo=UTC)


def test_sitemap_date_when_no_page_or_feed_date() -> None:
    hints = PageHints(sitemap_date=SITEMAP)
    result = ok(extract(article_page(), "https://example.ma/news/vaccination", hints))
    assert (result.published, result.date_source) == (SITEMAP, "sitemap")


def test_no_date_at_all_is_none_not_crawl_time() -> None:
    today = datetime.now(UTC)
    header = f"<p class='today'>{today:%d/%m/%Y} - {today:%Y-%m-%d}</p>"
    html = article_page().replace("<main>", f"<div class='topbar'>{header}</div><main>")
    result = ok(extract(html, "https://example.ma/news/vaccination"))
    assert result.published is None and result.date_source is None


def test_future_page_date_is_ignored() -> None:
    future = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = f'<meta property="article:published_time" content="{future}">'
    result = ok(
        extract(article_page(head=head), "https://example.ma/news/x", PageHints(feed_date=FEED))
    )
    assert (result.published, result.date_source) == (FEED, "feed")


def test_date_in_url_is_a_page_date() -> None:
    result = ok(extract(article_page(), URL, PageHints(feed_date=FEED)))
    assert result.date_source == "page"
    assert result.published is not None and result.published.date().isoformat() == "2024-03-12"


# ------------------------------------------------------------------ urls


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ('<link rel="canonical" href="/news/2024/03/12/canonical-slug">',
         "https://www.example.ma/news/2024/03/12/canonical-slug"),
        ('<link rel="canonical" href="https://example.ma/a?id=1">', "https://example.ma/a?id=1"),
        ('<meta property="og:url" content="//www.example.ma/og-url-slug">',
         "https://www.example.ma/og-url-slug"),
        ('<link rel="canonical" href="javascript:void(0)">', URL),
        ("", URL),
    ],
)  # fmt: skip
def test_canonical_url(head: str, expected: str) -> None:
    assert ok(extract(article_page(head=head), URL)).url == expected


def test_no_url_at_all() -> None:
    assert ok(extract(article_page(), None)).url is None


# ------------------------------------------------------------------ rejections


def test_listing_page_rejected() -> None:
    result = extract(listing_page(), "https://www.example.ma/news")
    assert isinstance(result, Rejected) and result.reason == "listing"


@pytest.mark.parametrize(
    "url",
    [
        "https://www.example.ma/tag/الصحة",
        "https://www.example.ma/category/politique/",
        "https://www.example.ma/author/karim-benali",
        "https://www.example.ma/وسم/التلقيح",
    ],
)
def test_archive_pages_rejected(url: str) -> None:
    result = extract(listing_page(), url)
    assert isinstance(result, Rejected) and result.reason == "tag_page"


def test_collection_page_rejected_by_structure() -> None:
    head = '<script type="application/ld+json">{"@type": "CollectionPage", "name": "x"}</script>'
    result = extract(listing_page(head=head), "https://www.example.ma/sante")
    assert isinstance(result, Rejected) and result.reason in {"tag_page", "listing"}


def test_author_profile_rejected() -> None:
    head = '<meta property="og:type" content="profile">'
    result = extract(article_page(head=head), "https://www.example.ma/karim")
    assert isinstance(result, Rejected) and result.reason == "tag_page"


def test_article_with_related_links_is_not_a_listing() -> None:
    related = (
        "<aside><ul>"
        + "".join(
            f'<li><a href="/news/2024/03/{i}/related-article-slug-{i}">عنوان مقال ذي صلة رقم {i} '
            f"في نفس الموضوع</a></li>"
            for i in range(25)
        )
        + "</ul></aside>"
    )
    html = article_page(head=PAGE_DATE_HEAD).replace("</main>", related + "</main>")
    ok(extract(html, URL))


def test_article_under_category_path_is_kept() -> None:
    html = article_page(head=PAGE_DATE_HEAD + '<meta property="og:type" content="article">')
    ok(extract(html, "https://www.example.ma/category/sante/2024/03/12/vaccination-campaign"))


def test_too_short() -> None:
    result = extract(article_page(paras=["خبر قصير جدا."]), URL)
    assert isinstance(result, Rejected) and result.reason == "too_short"
    assert ok(extract(article_page(paras=["خبر قصير جدا لكنه مقبول هنا."]), URL, min_chars=10))


def test_no_content() -> None:
    html = "<html><head><title>x</title></head><body><div></div></body></html>"
    result = extract(html, URL)
    assert isinstance(result, Rejected) and result.reason == "no_content"


@pytest.mark.parametrize(
    "text",
    ['{"status": "ok", "items": []}', "just some plain text", "", "%PDF-1.4 ...",
     '<?xml version="1.0"?><rss><channel></channel></rss>'],
)  # fmt: skip
def test_not_html(text: str) -> None:
    result = extract(text, URL)
    assert isinstance(result, Rejected) and result.reason == "not_html"


# ------------------------------------------------------------------ bytes


@pytest.mark.parametrize(
    ("codec", "content_type"),
    [
        ("cp1256", "text/html; charset=windows-1256"),
        ("cp1256", "text/html"),
        ("iso8859_6", "text/html; charset=iso-8859-6"),
        ("utf-8", "text/html; charset=iso-8859-1"),
    ],
)
def test_extract_bytes(codec: str, content_type: str) -> None:
    html = article_page().replace('<meta charset="utf-8">', "")
    result = ok(extract_bytes(html.encode(codec), URL, content_type))
    assert result.text.split("\n\n") == AR_PARAS
    assert result.title == "إطلاق حملة وطنية للتلقيح ضد الحصبة"


def test_extract_bytes_forced_encoding() -> None:
    html = article_page()  # says utf-8, is windows-1256
    result = ok(extract_bytes(html.encode("cp1256"), URL, "text/html; charset=utf-8",
                              forced_encoding="windows-1256"))  # fmt: skip
    assert result.text.split("\n\n") == AR_PARAS


def test_extract_bytes_not_html_content_type() -> None:
    result = extract_bytes(b"%PDF-1.4", URL, "application/pdf")
    assert isinstance(result, Rejected) and result.reason == "not_html"


# ------------------------------------------------------------------ teaser pages on article URLs
# Listings, tag and topic pages whose URLs look like article URLs: no article type or date, and
# a text made of teasers (a headline linking to another article + a snippet cut short).

COOKIE_FR = (
    '<div class="cmp-banner" role="dialog">Nous et nos partenaires utilisons des cookies pour '
    "mesurer l'audience, personnaliser les contenus et les publicités et vous proposer des "
    "fonctionnalités sociales. <button>Tout accepter</button> <button>Personnaliser</button></div>"
)


def teaser(href: str, headline: str, snippet: str, tag: str = "div") -> str:
    return (
        f'<{tag} class="item"><a href="{href}"><img src="/img/t.jpg" alt=""></a>'
        f'<h2><a href="{href}">{headline}</a></h2><p class="summary">{snippet}</p>'
        f'<span class="label">Actualité</span></{tag}>'
    )


def hub_page(
    *, h1: str, items: str, lang: str, head: str = "", body_class: str = "", tail: str = ""
) -> str:
    return f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">
<title>{h1}</title><meta property="og:type" content="website">{head}</head>
<body class="{body_class}">{NAV}<main><h1>{h1}</h1><div class="list">{items}</div></main>
{FOOTER}{tail}</body></html>"""


def test_arabic_tag_page_on_article_url_rejected() -> None:
    items = "".join(
        teaser(f"/{slug}-{n}.html", headline, snippet)
        for slug, n, headline, snippet in [
            ("حملة-تلقيح-الحصبة", 5501, "انطلاق حملة وطنية للتلقيح ضد الحصبة في المدارس",
             AR_PARAS[0][:110] + "…"),
            ("مستشفى-جامعي-جديد", 5502, "افتتاح مستشفى جامعي جديد بجهة الشرق",
             AR_PARAS[1][:110] + "…"),
            ("نقص-الأدوية-الصيدليات", 5503, "نقص في بعض الأدوية بالصيدليات يقلق المرضى",
             AR_PARAS[2][:110] + "…"),
        ]
    )  # fmt: skip
    html = hub_page(h1="الوسم: الصحة", items=items, lang="ar", body_class="archive tag tag-42")
    result = extract(html, "https://www.example.ma/الصحة-5500.html")
    assert isinstance(result, Rejected) and result.reason == "tag_page", result


def test_french_news_feed_listing_rejected() -> None:
    # no archive class and no telling heading: the teasers alone make it a listing
    headlines = [
        "Vague de froid sur les reliefs de l'Atlas cette semaine",
        "Le Raja mise sur la solidité de sa défense en championnat",
        "Les syndicats de l'enseignement appellent à une nouvelle grève",
        "La Bourse de Casablanca termine la semaine en nette hausse",
        "Un nouveau musée d'art contemporain ouvre ses portes à Rabat",
        "Les exportations agricoles progressent malgré la sécheresse",
        "Le port de Nador West Med accueille ses premiers navires",
    ]
    items = "".join(
        teaser(f"/actualites/article-numero-{i}_{7000 + i}.html", h,
               FR_PARAS[i % 3][:130] + "…", tag="li")
        for i, h in enumerate(headlines)
    )  # fmt: skip
    html = hub_page(h1="Le fil de l'actualité", items=items, lang="fr", tail=COOKIE_FR)
    result = extract(html, "https://www.example.fr/actualites/le-fil-actualite_7000.html")
    assert isinstance(result, Rejected) and result.reason == "listing", result


def test_english_topic_hub_rejected() -> None:
    card = teaser(
        "/stories/desalination-plant-opens-in-nador-31207",
        "Desalination plant opens in Nador",
        "A desalination plant built to supply drinking water to the province of Nador has "
        "started operating, the regional water authority said, after three years of work…",
    )
    html = hub_page(
        h1="Topic: Water",
        items=card,
        lang="en",
        body_class="topic-page",
        tail='<div class="consent">We use cookies to improve your experience and to measure '
        "our audience. <button>Accept</button></div>",
    )
    result = extract(html, "https://www.example.com/stories/topic-water-31200")
    assert isinstance(result, Rejected) and result.reason == "tag_page", result


def test_video_page_caption_with_cookie_banner_and_reactions_is_too_short() -> None:
    reactions = (
        '<section class="reactions"><h2>Réactions (0)</h2><p>Les réactions sont réservées aux '
        "abonnés. Connectez-vous ou abonnez-vous pour donner votre avis sur cet article et "
        'échanger avec les autres lecteurs. <a href="/abonnement">Je m\'abonne</a></p></section>'
    )
    head = (
        '<meta property="og:type" content="article">'
        '<meta property="article:published_time" content="2024-04-17T18:30:00+01:00">'
    )
    html = (
        article_page(
            title="Vidéo. Le pont de Rabat vu du ciel",
            paras=[
                "Images aériennes du nouveau pont de Rabat au coucher du soleil. Durée : 1 min."
            ],
            lang="fr",
            head=head,
        )
        .replace("</main>", reactions + "</main>")
        .replace("</body>", COOKIE_FR + "</body>")
    )
    result = extract(html, "https://www.example.fr/videos/pont-de-rabat-vu-du-ciel_9100.html")
    assert isinstance(result, Rejected) and result.reason == "too_short", result


def test_cookie_banner_and_reactions_kept_out_of_the_text() -> None:
    html = article_page(paras=FR_PARAS, lang="fr", title="Plan rail").replace(
        "</body>",
        COOKIE_FR + '<div class="reactions">Réactions (3) : soyez le premier</div></body>',
    )
    result = ok(extract(html, URL))
    assert result.text.split("\n\n") == FR_PARAS


def test_article_without_metadata_followed_by_teasers_is_kept() -> None:
    # older sites declare nothing: the article's own prose outweighs a "read next" block
    more = "".join(
        teaser(f"/news/2024/03/1{i}/other-story-slug-{i}", f"عنوان قصة أخرى رقم {i} في القسم",
               AR_PARAS[i % 3][:100] + "…")
        for i in range(4)
    )  # fmt: skip
    html = article_page(paras=AR_PARAS * 2).replace("</article>", f"</article>{more}")
    ok(extract(html, "https://www.example.ma/news/vaccination"))


def test_article_page_with_a_teaser_rail_is_kept() -> None:
    rail = "".join(
        teaser(f"/news/2024/03/1{i}/other-story-slug-{i}", f"Another story number {i} today",
               "A snippet of that other story, cut short by the site as all snippets are, "
               "so that readers click through to read the rest of it…")
        for i in range(8)
    )  # fmt: skip
    html = article_page(head=PAGE_DATE_HEAD).replace("</main>", f"<aside>{rail}</aside></main>")
    assert ok(extract(html, URL)).text.split("\n\n") == AR_PARAS


@pytest.mark.parametrize("ref", ["&#27;", "&#x1b;", "&#X1B;", "&#0001;", "&#127;", "&#x7F;"])
def test_a_control_character_reference_does_not_lose_the_article(ref: str) -> None:
    """lxml drops the rest of a document at a reference to a control character."""
    first, *rest = AR_PARAS
    body = "".join(f"<p>{para}</p>" for para in rest)
    html = (
        "<html lang='ar'><head><title>حملة تلقيح</title></head><body><article>"
        f"<h1>حملة تلقيح</h1><p>{ref} {first}</p>{body}</article></body></html>"
    )
    result = extract(html, "https://atlas.example/a/7", None)
    assert isinstance(result, Extracted), result
    assert rest[-1][:40] in result.text  # the page after the reference is kept
