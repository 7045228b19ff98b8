"""Tests for crawler.tagging with small hand-written topics (not the shipped topics.toml)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from crawler.config import Topic
from crawler.tagging import Evidence, Tagger, TopicTag
from crawler.text.tokens import term_keys

REPO = Path(__file__).resolve().parent.parent


def make_topic(
    key: str,
    ar: tuple[str, ...] = (),
    fr: tuple[str, ...] = (),
    en: tuple[str, ...] = (),
    *,
    exclude_ar: tuple[str, ...] = (),
    exclude_fr: tuple[str, ...] = (),
    exclude_en: tuple[str, ...] = (),
    threshold: float = 1.0,
    title_weight: float = 2.0,
) -> Topic:
    return Topic(
        key=key,
        label=key.title(),
        threshold=threshold,
        title_weight=title_weight,
        terms={"ar": ar, "fr": fr, "en": en},
        exclude={"ar": exclude_ar, "fr": exclude_fr, "en": exclude_en},
    )


DEFENSE = make_topic(
    "defense",
    ar=("الدفاع", "وزارة الدفاع", "الجيش"),
    fr=("défense", "armée", "ministère de la Défense"),
    en=("defense", "army", "missile", "Ministry of Defense"),
    exclude_ar=("خط الدفاع",),
    exclude_fr=("à La Défense",),
    exclude_en=("defense lawyer",),
)
ISRAEL = make_topic(
    "israel",
    ar=("إسرائيل", "تل أبيب"),
    fr=("Israël",),
    en=("Israel",),
    exclude_ar=("بني إسرائيل",),
)
MOROCCO = make_topic(
    "morocco",
    ar=("المغرب", "الرباط"),
    fr=("Maroc",),
    en=("Morocco",),
    exclude_ar=("صلاة المغرب",),
)
TOPICS = (DEFENSE, ISRAEL, MOROCCO)


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(TOPICS)


def scores(tags: list[TopicTag]) -> dict[str, float]:
    return {t.topic: t.score for t in tags}


def body_score(tagger: Tagger, text: str, lang: str | None, topic: str) -> float:
    return scores(tagger.tag("", text, lang)).get(topic, 0.0)


# --------------------------------------------------------------------------- Arabic


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("وإسرائيل", "israel"),  # clitic و
        ("بالمغرب", "morocco"),  # بال
        ("للمغرب", "morocco"),  # لل = ل + ال
        ("والمغرب", "morocco"),
        ("فالمغرب", "morocco"),
        ("مغرب", "morocco"),  # term written with the article matches the bare word
        ("المغربية", "morocco"),  # nisba + ta marbuta
        ("المغاربة المغربيين", "morocco"),  # المغربيين (the broken plural does not match)
        ("الدفاعية", "defense"),  # ال + ية around the stem
        ("دفاعي", "defense"),
        ("الإسرائيليين", "israel"),  # ال + nisba + plural
        ("الإسرائيلية", "israel"),
        ("إسرائيليون", "israel"),
        ("إسرائيل", "israel"),
        ("اسرائيل", "israel"),  # no hamza
        ("إِسْرَائِيلَ", "israel"),  # tashkeel
        ("إسرائـــيل", "israel"),  # tatweel
        ("الـمـغـرب", "morocco"),  # tatweel after the article
        ("وبالرباط", "morocco"),
        ("تل أبيب", "israel"),  # phrase
        ("وتل أبيب", "israel"),  # clitic on the first word of a phrase
        ("لجيشها", "defense"),  # term الجيش: ل + جيش + ها
    ],
)
def test_arabic_forms_match(tagger: Tagger, text: str, topic: str) -> None:
    assert body_score(tagger, text, "ar", topic) == 1.0


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("مغربل", "morocco"),  # no such suffix: not a form of مغرب
        ("غرب", "morocco"),  # a shorter word is not the term
        ("سرائيل", "israel"),
        ("تل", "israel"),  # first word of a phrase alone
        ("أبيب تل", "israel"),  # phrase words in the wrong order
        ("المدافع", "defense"),
    ],
)
def test_arabic_non_matches(tagger: Tagger, text: str, topic: str) -> None:
    assert body_score(tagger, text, "ar", topic) == 0.0


def test_ta_marbuta_words_keep_matching_with_suffixes() -> None:
    topic = make_topic("memo", ar=("مذكرة", "حكومة"))
    tagger = Tagger([topic])
    for text in ("مذكرة", "المذكرة", "مذكرات", "مذكرتين", "بمذكرته", "حكومتها", "الحكومات"):
        assert body_score(tagger, text, "ar", "memo") == 1.0, text


def test_stripped_stems_must_be_terms_of_three_letters_or_more() -> None:
    # «جو» (air) is a two-letter term: only the exact token counts, «الجو» is not split.
    tagger = Tagger([make_topic("air", ar=("جو",))])
    assert body_score(tagger, "جو", "ar", "air") == 1.0
    assert body_score(tagger, "الجو", "ar", "air") == 0.0
    assert body_score(tagger, "وجو", "ar", "air") == 0.0


def test_arabic_indic_digits_match_ascii_term() -> None:
    tagger = Tagger([make_topic("jets", ar=("إف-16",), en=("F-16",))])
    assert body_score(tagger, "طائرات إف-١٦ الأمريكية", "ar", "jets") == 1.0
    assert body_score(tagger, "F-16s were seen", "en", "jets") == 1.0


def test_presentation_forms_match() -> None:
    text = "\ufe8d\ufedf\ufee4\ufed0\ufeae\ufe8f"  # «المغرب» in presentation forms
    assert text != "المغرب"
    assert body_score(Tagger(TOPICS), text, "ar", "morocco") == 1.0


# --------------------------------------------------------------------------- exclusions


@pytest.mark.parametrize(
    ("text", "lang", "topic", "expected"),
    [
        ("سجل لاعب خط الدفاع هدفا", "ar", "defense", 0.0),
        ("لاعب خط الدفاع ووزير الدفاع", "ar", "defense", 1.0),  # only the overlapped match goes
        ("أفطر الصائمون بعد صلاة المغرب", "ar", "morocco", 0.0),
        ("صلاة المغرب في المغرب", "ar", "morocco", 1.0),
        ("وصلاة المغرب", "ar", "morocco", 0.0),  # exclusions get the same clitic handling
        ("قصة بني إسرائيل في القرآن", "ar", "israel", 0.0),
        ("قصة بني إسرائيل ودولة إسرائيل", "ar", "israel", 1.0),
        ("Le siège est installé à La Défense.", "fr", "defense", 0.0),
        ("the defense lawyer said", "en", "defense", 0.0),
        ("the defense lawyers said", "en", "defense", 0.0),
    ],
)
def test_exclusions_cancel_overlapping_matches(
    tagger: Tagger, text: str, lang: str, topic: str, expected: float
) -> None:
    assert body_score(tagger, text, lang, topic) == expected


def test_exclusion_is_a_phrase_not_a_word_ban() -> None:
    # A narrow exclusion leaves the term free elsewhere in the same article.
    topic = make_topic("defense", fr=("défense",), exclude_fr=("quartier de La Défense",))
    tagger = Tagger([topic])
    text = "Réunion au quartier de La Défense avec le ministre de la Défense."
    tags = tagger.tag("", text, "fr")
    assert scores(tags) == {"defense": 1.0}
    assert tags[0].evidence[0].snippet.endswith("ministre de la Défense.")


def test_bare_la_defense_exclusion_also_cancels_the_ministry() -> None:
    # Matching ignores case, so «La Défense» also covers «ministère de la Défense»: analysts
    # should exclude the district with context («à La Défense», «quartier de La Défense»).
    topic = make_topic("defense", fr=("défense",), exclude_fr=("La Défense",))
    tagger = Tagger([topic])
    assert tagger.tag("", "Les tours de La Défense", "fr") == []
    assert tagger.tag("", "le ministère de la Défense", "fr") == []


def test_short_phrase_words_accept_one_letter_clitics_only_inside_the_phrase() -> None:
    tagger = Tagger([make_topic("israel", ar=("تل أبيب",)), make_topic("air", ar=("جو",))])
    assert scores(tagger.tag("", "بين الرباط وتل أبيب", "ar")) == {"israel": 1.0}
    assert tagger.tag("", "وتل", "ar") == []
    assert tagger.tag("", "وجو", "ar") == []


def test_exclusions_only_apply_to_their_topic() -> None:
    military = make_topic("military", ar=("الدفاع",))
    tagger = Tagger([DEFENSE, military])
    assert scores(tagger.tag("", "لاعب خط الدفاع", "ar")) == {"military": 1.0}


# --------------------------------------------------------------------------- French / English


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("l'armée", "defense"),
        ("L’armée", "defense"),  # typographic apostrophe
        ("les armées", "defense"),
        ("ARMÉE", "defense"),
        ("armee", "defense"),
        ("d'Israël", "israel"),
        ("Israël", "israel"),
        ("israel", "israel"),
        ("ISRAËL", "israel"),
        ("Défense", "defense"),
        ("au Maroc", "morocco"),
        ("du ministère de la Défense", "defense"),
    ],
)
def test_french_forms_match(tagger: Tagger, text: str, topic: str) -> None:
    assert body_score(tagger, text, "fr", topic) == 1.0


def test_french_elision_inside_phrases() -> None:
    topic = make_topic("staff", fr=("chef d'état-major", "vente d'armes"))
    tagger = Tagger([topic])
    assert body_score(tagger, "Le chef d’État-major a parlé.", "fr", "staff") == 1.0
    assert body_score(tagger, "la vente d'armes", "fr", "staff") == 1.0
    assert body_score(tagger, "le chef de l'état", "fr", "staff") == 0.0


def test_french_words_with_apostrophes_stay_whole() -> None:
    tagger = Tagger([make_topic("hui", fr=("hui",))])
    assert body_score(tagger, "aujourd'hui", "fr", "hui") == 0.0


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("Missiles", "defense"),
        ("MISSILE", "defense"),
        ("the armies", "defense"),
        ("Army", "defense"),
        ("Israel's army", "israel"),
        ("ISRAEL", "israel"),
        ("the Ministry of Defense", "defense"),
        ("Morocco", "morocco"),
    ],
)
def test_english_forms_match(tagger: Tagger, text: str, topic: str) -> None:
    assert body_score(tagger, text, "en", topic) >= 1.0


def test_english_plural_rules_do_not_invent_words() -> None:
    tagger = Tagger([make_topic("t", en=("clas", "glas"))])
    assert body_score(tagger, "class", "en", "t") == 0.0
    assert body_score(tagger, "glasses", "en", "t") == 0.0


def test_phrase_words_must_be_consecutive(tagger: Tagger) -> None:
    assert body_score(tagger, "Ministry of the Defense", "en", "defense") == 1.0  # "defense"
    tags = tagger.tag("", "Ministry of Defense", "en")
    assert [e.term for e in tags[0].evidence] == ["Ministry of Defense"]


def test_longest_overlapping_match_counts_once(tagger: Tagger) -> None:
    tags = tagger.tag("", "صرحت وزارة الدفاع", "ar")
    assert scores(tags) == {"defense": 1.0}
    assert tags[0].evidence[0].term == "وزارة الدفاع"


# --------------------------------------------------------------------------- scoring


def test_title_weight_and_threshold() -> None:
    topic = make_topic("morocco", ar=("المغرب",), threshold=2.0, title_weight=2.0)
    tagger = Tagger([topic])
    assert tagger.tag("", "زيارة إلى المغرب", "ar") == []  # 1 < 2
    assert scores(tagger.tag("", "المغرب ثم المغرب", "ar")) == {"morocco": 2.0}
    assert scores(tagger.tag("زيارة إلى المغرب", "", "ar")) == {"morocco": 2.0}
    assert scores(tagger.tag("المغرب", "بالمغرب", "ar")) == {"morocco": 3.0}


def test_zero_title_weight_ignores_titles() -> None:
    tagger = Tagger([make_topic("morocco", ar=("المغرب",), title_weight=0.0)])
    assert tagger.tag("المغرب", "", "ar") == []


def test_results_sorted_by_score() -> None:
    tags = Tagger(TOPICS).tag("", "إسرائيل والمغرب والمغرب", "ar")
    assert [t.topic for t in tags] == ["morocco", "israel"]
    assert [t.score for t in tags] == [2.0, 1.0]


def test_evidence_points_at_original_text() -> None:
    tagger = Tagger(TOPICS)
    title = "المغرب وإِسْرَائِيلَ يوقعان مذكرة"
    text = "في خطوة جديدة، وقّعت الرباط وتل أبيب مذكرة تفاهم دفاعية تشمل التعاون بين الجيشين."
    tags = {t.topic: t for t in tagger.tag(title, text, "ar")}
    israel = tags["israel"]
    assert israel.score == 2.0 + 1.0
    first = israel.evidence[0]
    assert first == Evidence(term="إسرائيل", field="title", position=1, snippet=title)
    second = israel.evidence[1]
    assert (second.term, second.field, second.position) == ("تل أبيب", "text", 5)
    assert "وتل أبيب" in second.snippet
    assert second.snippet in text
    morocco = tags["morocco"].evidence
    assert [(e.term, e.field, e.position) for e in morocco] == [
        ("المغرب", "title", 0),
        ("الرباط", "text", 4),
    ]


def test_snippet_is_about_sixty_characters_of_original_text() -> None:
    tagger = Tagger(TOPICS)
    filler = " ".join(["كلمة"] * 40)
    text = f"{filler} أعلنت وزارةُ الدّفاع المغربية {filler}"
    ev = tagger.tag("", text, "ar")[0].evidence[0]
    assert "وزارةُ الدّفاع" in ev.snippet  # tashkeel of the original kept
    assert ev.snippet in text
    assert 40 <= len(ev.snippet) <= 70
    assert not ev.snippet.startswith(" ") and "  " not in ev.snippet


def test_snippet_whitespace_is_collapsed() -> None:
    ev = Tagger(TOPICS).tag("", "خبر\n\n عن   المغرب\tاليوم", "ar")[0].evidence[0]
    assert ev.snippet == "خبر عن المغرب اليوم"


def test_evidence_is_capped_but_score_counts_everything() -> None:
    tagger = Tagger([make_topic("morocco", ar=("المغرب",))])
    tags = tagger.tag("", " ".join(["المغرب"] * 10), "ar")
    assert tags[0].score == 10.0
    assert 1 <= len(tags[0].evidence) < 10


# --------------------------------------------------------------------------- languages


def test_language_selects_terms(tagger: Tagger) -> None:
    assert tagger.tag("", "Israel", "ar") == []  # no English terms for Arabic text
    assert scores(tagger.tag("", "Israel", "en")) == {"israel": 1.0}
    assert scores(tagger.tag("", "Israël", "fr-FR")) == {"israel": 1.0}


def test_unknown_or_missing_language_uses_every_language(tagger: Tagger) -> None:
    text = "Israel Maroc المغرب"
    for lang in (None, "", "es"):
        assert scores(tagger.tag("", text, lang)) == {"israel": 1.0, "morocco": 2.0}


def test_same_term_in_two_languages_counts_once() -> None:
    topic = make_topic("israel", fr=("Israel",), en=("Israel",))
    assert scores(Tagger([topic]).tag("", "Israel", None)) == {"israel": 1.0}


def test_no_topics_and_empty_input() -> None:
    assert Tagger([]).tag("المغرب", "المغرب", "ar") == []
    assert Tagger(TOPICS).tag("", "", "ar") == []


def test_repeated_calls_are_stable(tagger: Tagger) -> None:
    first = tagger.tag("المغرب", "وإسرائيل بالمغرب", "ar")
    assert tagger.tag("المغرب", "وإسرائيل بالمغرب", "ar") == first


def test_term_keys() -> None:
    assert term_keys("المغرب") == ("مغرب",)
    assert term_keys("الله") == ("الله",)  # too short once the article is gone
    assert term_keys("وزارة الدفاع") == ("وزاره", "دفاع")
    assert term_keys("l'Armée de Terre") == ("armee", "de", "terre")
    assert term_keys("F-35") == ("f", "35")


# --------------------------------------------------------------------------- shipped config

MEMO_TITLE = "المغرب وإسرائيل يوقعان مذكرة تفاهم دفاعية غير مسبوقة"
MEMO_TEXT = (
    "وقّع المغرب وإسرائيل، الأربعاء بالرباط، مذكرة تفاهم في مجال الدفاع تؤطر التعاون "
    "الأمني والعسكري بين البلدين، وذلك خلال أول زيارة رسمية يقوم بها وزير الدفاع "
    "الإسرائيلي إلى المملكة. وتتيح المذكرة للمؤسسات الدفاعية في البلدين تبادل الخبرات "
    "والتعاون في مجال الصناعات الدفاعية واقتناء المعدات والتدريب المشترك. وقال الوزير "
    "المنتدب المكلف بإدارة الدفاع الوطني إن الاتفاق يعزز القدرات الدفاعية للمغرب، فيما "
    "اعتبر المسؤول الإسرائيلي أن الخطوة تفتح صفحة جديدة في العلاقات بين الرباط وتل أبيب."
)


def _shipped_topics() -> tuple[Topic, ...]:
    directory = REPO / "config"
    if not (directory / "topics.toml").is_file():
        pytest.skip("config/topics.toml not present")
    from crawler.config import load_config, parse_topics

    if (directory / "sources.toml").is_file():
        return load_config(directory).topics
    with (directory / "topics.toml").open("rb") as fh:
        return parse_topics(tomllib.load(fh))


def test_shipped_topics_tag_morocco_israel_defense_memo() -> None:
    topics = _shipped_topics()
    tags = Tagger(topics).tag("", MEMO_TEXT, "ar")
    assert {"defense", "israel", "morocco"} <= {t.topic for t in tags}
    with_title = Tagger(topics).tag(MEMO_TITLE, MEMO_TEXT, "ar")
    assert {"defense", "israel", "morocco"} <= {t.topic for t in with_title}
