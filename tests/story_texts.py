"""Hand-written wire stories and their syndicated copies (Arabic, French, English) for tests.

Each base text is a fictional agency dispatch; ``copies`` builds what outlets do to it: an
agency dateline, a dropped paragraph, their own boilerplate, reordered sentences. The
``OTHER_*`` texts are different stories on the same topic and day: they must stay apart.
"""

from __future__ import annotations

AR_WIRE = [
    "وقع المغرب وإسرائيل، اليوم الثلاثاء بالرباط، اتفاقية للتعاون في مجال تحلية مياه البحر وتدبير الموارد المائية، وذلك على هامش زيارة يقوم بها وفد حكومي إسرائيلي إلى المملكة.",
    "وتنص الاتفاقية، التي وقعها وزير التجهيز والماء ونظيره الإسرائيلي، على إنجاز مشاريع تجريبية لتحلية المياه بالطاقة الشمسية في جهتي سوس ماسة والداخلة وادي الذهب، وتكوين مهندسين وتقنيين مغاربة في مراكز بحث إسرائيلية.",
    "وأكد الوزير المغربي في تصريح للصحافة أن هذه الشراكة تندرج في إطار البرنامج الوطني للتزويد بالماء الشروب ومياه السقي، الذي يهدف إلى مواجهة آثار الجفاف المتتالي الذي تعرفه البلاد منذ ست سنوات.",
    "من جهته، أشار المسؤول الإسرائيلي إلى أن بلاده راكمت خبرة طويلة في إعادة استعمال المياه العادمة المعالجة في الفلاحة، معربا عن استعداد الشركات الإسرائيلية لنقل هذه التكنولوجيا إلى الشركاء المغاربة.",
    "ويرتقب أن تنطلق الأشغال الأولى في محطة نموذجية قرب أكادير خلال الأشهر المقبلة، بكلفة تقديرية تبلغ مائتي مليون درهم، على أن يتم تقييم نتائجها قبل تعميم التجربة على مناطق أخرى.",
    "وكان البلدان قد وقعا منذ استئناف علاقاتهما الدبلوماسية عدة اتفاقيات في مجالات الفلاحة والسياحة والتعليم والابتكار، إلى جانب مذكرة تفاهم في مجال الدفاع.",
]
AR_DATELINE = "الرباط (و م ع) - "
AR_BOILERPLATE = "تابعوا آخر الأخبار عبر تطبيق جريدتنا على الهواتف الذكية، واشتركوا في نشرتنا اليومية لتصلكم أهم المستجدات الوطنية والدولية مباشرة."

# Different story, same topic, same day: Morocco–Israel flights and tourism.
AR_OTHER = [
    "أعلنت شركة الخطوط الملكية المغربية، اليوم الثلاثاء، عن رفع عدد رحلاتها المباشرة بين الدار البيضاء وتل أبيب إلى سبع رحلات أسبوعيا ابتداء من فصل الصيف المقبل، استجابة لارتفاع الطلب.",
    "وأوضح بلاغ للشركة أن عدد المسافرين على هذا الخط تضاعف خلال السنة الماضية، بفضل الإقبال المتزايد للسياح الإسرائيليين من أصول مغربية على زيارة مدن مراكش وفاس والصويرة.",
    "وتوقع المكتب الوطني المغربي للسياحة أن يتجاوز عدد السياح القادمين من إسرائيل مائتي ألف سائح هذه السنة، مشيرا إلى حملة ترويجية جديدة ستطلق في عدد من المدن الإسرائيلية.",
    "ويأتي هذا القرار بعد أيام من اجتماع لجنة مشتركة بين البلدين خصصت لبحث سبل تعزيز المبادلات التجارية والسياحية وتسهيل إجراءات التأشيرة لرجال الأعمال.",
    "وكانت شركة إسرائيلية قد أعلنت بدورها عن إطلاق خط جديد نحو مراكش، في وقت تسعى فيه المملكة إلى استقطاب سبعة عشر مليون سائح في أفق السنوات المقبلة.",
]

FR_WIRE = [
    "Le Maroc et l'Espagne ont signé mardi à Madrid un accord de coopération portant sur la gestion des flux migratoires et la lutte contre les réseaux de passeurs en Méditerranée occidentale.",
    "Le texte, paraphé par les ministres de l'Intérieur des deux pays, prévoit la création d'un centre conjoint de coordination à Tanger ainsi que des patrouilles maritimes communes au large des côtes andalouses.",
    "Selon un communiqué du ministère espagnol, l'accord comprend également un volet de formation destiné aux gardes-côtes marocains et la mise en place d'un système d'échange d'informations en temps réel.",
    "Le ministre marocain a salué « une étape importante dans un partenariat stratégique », soulignant que le royaume avait déjoué plus de soixante-dix mille tentatives de migration irrégulière l'an dernier.",
    "Les deux parties se sont aussi engagées à faciliter la migration légale, notamment à travers des programmes de recrutement saisonnier dans l'agriculture, qui ont concerné plus de quinze mille travailleuses marocaines cette année.",
    "Cette signature intervient quelques semaines avant la réunion de haut niveau prévue à Rabat, au cours de laquelle une vingtaine d'accords sectoriels doivent être conclus.",
]
FR_DATELINE = "MADRID (MAP) - "
FR_BOILERPLATE = "Retrouvez toute l'actualité en continu sur notre application mobile et abonnez-vous gratuitement à notre lettre d'information quotidienne."

FR_OTHER = [
    "Le Maroc et l'Espagne ont inauguré mardi à Algésiras un nouveau terminal destiné aux camions de marchandises, afin de fluidifier le trafic entre les ports de Tanger Med et d'Algésiras.",
    "D'un coût de quarante millions d'euros, l'infrastructure doit permettre de réduire de moitié les délais d'attente des transporteurs, qui dépassent parfois une journée en période de pointe.",
    "Les autorités portuaires des deux pays ont annoncé la numérisation complète des procédures douanières d'ici la fin de l'année, avec un guichet unique accessible aux transitaires.",
    "Les échanges commerciaux entre les deux royaumes ont dépassé vingt milliards d'euros l'an dernier, faisant de l'Espagne le premier partenaire commercial du Maroc.",
    "Les professionnels du transport routier ont salué cette initiative tout en réclamant davantage de places de stationnement sécurisées de part et d'autre du détroit.",
]

EN_WIRE = [
    "Jordan and Egypt agreed on Tuesday to link their electricity grids with a new high-voltage line, energy ministers from both countries said after talks in Amman.",
    "The project, expected to cost around 300 million dollars, will raise the capacity of the existing interconnection to 2,000 megawatts and allow both countries to trade surplus solar power.",
    "Officials said construction would start next year and take about thirty months, with financing from Arab development funds and a European investment bank.",
    "The Jordanian minister told reporters the line would help the kingdom absorb more renewable energy, which already covers more than a quarter of its electricity demand.",
    "His Egyptian counterpart said the link was part of a wider plan to turn Egypt into a regional energy hub connecting Africa, the Gulf and Europe.",
    "The two countries have been connected since the late 1990s through a submarine cable across the Gulf of Aqaba, which has been operating near its limits during summer peaks.",
]
EN_DATELINE = "AMMAN (Reuters) - "
EN_BOILERPLATE = "Sign up for our free morning newsletter and follow us on social media for the latest regional business and energy news."

EN_OTHER = [
    "Jordan and Egypt signed on Tuesday a memorandum on natural gas supplies, under which Egypt will resume pumping gas to Jordanian power plants through the Arab Gas Pipeline.",
    "The deal, announced by the two energy ministers in Amman, sets a volume of 350 million cubic feet per day for the first year, with an option to increase deliveries later.",
    "Jordan imports most of its energy needs and has sought to diversify its suppliers after disruptions to the pipeline a decade ago forced it to burn expensive fuel oil.",
    "Analysts said the agreement reflected Egypt's growing gas output from offshore fields in the Mediterranean, although domestic demand has also risen sharply.",
    "The ministers also discussed cooperation on green hydrogen projects in the Gulf of Aqaba, without announcing any new commitments.",
]

WIRES = {"ar": AR_WIRE, "fr": FR_WIRE, "en": EN_WIRE}
OTHERS = {"ar": AR_OTHER, "fr": FR_OTHER, "en": EN_OTHER}
DATELINES = {"ar": AR_DATELINE, "fr": FR_DATELINE, "en": EN_DATELINE}
BOILERPLATES = {"ar": AR_BOILERPLATE, "fr": FR_BOILERPLATE, "en": EN_BOILERPLATE}


def text(paragraphs: list[str]) -> str:
    return "\n\n".join(paragraphs)


def copies(lang: str) -> dict[str, str]:
    """The original and what outlets make of it, by kind of edit."""
    wire = WIRES[lang]
    dateline, boilerplate = DATELINES[lang], BOILERPLATES[lang]
    reordered = [wire[0], wire[2], wire[1], *wire[3:]]
    sentences = [wire[0], *reversed(wire[1:5]), wire[5]]
    return {
        "original": text(wire),
        "dateline": text([dateline + wire[0], *wire[1:]]),
        "dropped_paragraph": text(wire[:-1]),
        "boilerplate": text([*wire, boilerplate]),
        "reordered": text(reordered),
        "everything": text([dateline + sentences[0], *sentences[1:-1], boilerplate]),
    }


# The lead as another outlet rewrites it: the same facts, other words.
REWRITTEN_LEADS = {
    "ar": "في إطار زيارة وفد حكومي إسرائيلي إلى المملكة، أبرمت الرباط وتل أبيب يوم الثلاثاء اتفاقا يخص تحلية مياه البحر والموارد المائية.",
    "fr": "Rabat et Madrid ont conclu mardi dans la capitale espagnole un texte sur les migrations, qui vise aussi les passeurs actifs en Méditerranée.",
    "en": "Energy ministers of Egypt and Jordan said after meeting in Amman on Tuesday that the two countries would connect their power networks through a new line.",
}


def heavy_copies(lang: str) -> dict[str, str]:
    """What some outlets do: cut the wire short, rewrite its lead, add a local paragraph."""
    wire, other = WIRES[lang], OTHERS[lang]
    return {
        "trimmed": text(wire[:4]),  # about two thirds of the words
        "two_paragraphs_dropped": text([wire[0], wire[1], wire[3], wire[5]]),
        "rewritten_lead": text([REWRITTEN_LEADS[lang], *wire[1:]]),
        "local_paragraph": text([*wire[:3], other[3], *wire[3:]]),
        "trimmed_rewritten": text(
            [DATELINES[lang] + REWRITTEN_LEADS[lang], *wire[1:4], BOILERPLATES[lang]]
        ),
    }


def follow_up(lang: str) -> str:
    """A later, different story (another development) repeating two background paragraphs."""
    wire, other = WIRES[lang], OTHERS[lang]
    return text([*other[:3], wire[4], wire[5]])
