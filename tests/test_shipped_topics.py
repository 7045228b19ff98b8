"""The shipped config/topics.toml on confusers the sample site and real outlets are full of."""

from __future__ import annotations

import pytest

from crawler.config import load_config
from crawler.tagging import Tagger


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(load_config().topics)


@pytest.mark.parametrize(
    "lang,title,text",
    [
        (
            "fr",
            "Botola : le Wydad soigne sa défense",
            "L'entraîneur a remanié sa défense avant le match de samedi ; les défenseurs centraux "
            "ont encaissé deux buts la saison dernière.",
        ),
        (
            "fr",
            "Procès : la défense demande un report",
            "Devant la cour d'appel, la défense de l'ancien élu a plaidé la nullité de la procédure.",
        ),
        (
            "en",
            "Fraud trial adjourned",
            "The defence argued that the witnesses had not been heard, and the judge agreed.",
        ),
        (
            "ar",
            "تأجيل جلسة المحاكمة",
            "وقال أحد المحامين إن الدفاع لم يتسلم نسخة من الملف، فقررت المحكمة تأجيل الجلسة.",
        ),
        (
            "ar",
            "الوداد يتعاقد مع مدافع جديد",
            "عزز الفريق خط الدفاع بلاعب دولي قبل انطلاق الدوري، وقال المدرب إن الدفاع كان نقطة ضعف.",
        ),
    ],
)
def test_legal_and_sports_defence_is_not_defense(
    tagger: Tagger, lang: str, title: str, text: str
) -> None:
    assert "defense" not in {tag.topic for tag in tagger.tag(title, text, lang)}


def test_military_defense_still_tags(tagger: Tagger) -> None:
    tags = tagger.tag(
        "Rabat renforce sa défense aérienne",
        "Les Forces armées royales ont reçu de nouveaux systèmes de défense antiaérienne.",
        "fr",
    )
    assert "defense" in {tag.topic for tag in tags}
