"""Stop words of the three languages, in matching form (``crawler.text.tokens.token_key``): the
words left out of "top words" (function words, reporting verbs, calendar words of news)."""

from __future__ import annotations

from crawler.text.tokens import token_key

__all__ = ["STOP_WORDS", "is_stop_word"]

_AR = """
في من على إلى الى عن مع أن إن ان أو او ثم كما لكن بل قد لقد لم لن لا ما ماذا متى أين كيف هل
هذا هذه ذلك تلك هؤلاء أولئك الذي التي الذين اللذين اللتين اللواتي اللاتي هو هي هم هن أنا نحن أنت
انت أنتم كان كانت كانوا يكون تكون يكونون ليس ليست كل بعض غير بين حول حتى خلال عند عندما منذ بعد
قبل أمام فوق تحت ضد دون مثل أي أى إذا اذا إذ حيث وقد وفي ومن وعلى وإلى وأن وهو وهي ولا وما وكان
فقد فإن وإن بأن لأن كذلك أيضا ايضا فقط جدا هناك هنا الآن اليوم أمس غدا العام الماضي المقبل
قال قالت وقال وقالت يقول تقول أضاف وأضاف أكد وأكد أوضح وأوضح أشار وأشار حسب وفق وفقا نحو عبر
لدى لدي إلا الا سوى عدة عدد أكثر أقل أول ثاني آخر أخرى اخرى الذى التى عليه عليها فيه فيها منه
منها إليه إليها عنه عنها له لها لهم به بها بهم يتم تم وتم ومع أما إما سنة عام يوم شهر
الذي التي ذات خاصة عدد اثنين ثلاثة أربعة خمسة مليون مليار الأحد الاثنين الثلاثاء الأربعاء
الخميس الجمعة السبت صباح مساء الأسبوع أسبوع حاليا أمام وذلك ذلك بينما حين كانت يمكن
"""
_FR = """
le la les l un une des du de d au aux et ou mais donc or ni car que qu qui quoi dont où ce cet
cette ces c se sa son ses leur leurs lui elle elles il ils on nous vous je tu me te moi toi y en
ne pas plus moins très bien aussi ainsi comme avec sans sous sur dans par pour entre vers chez
depuis pendant avant après selon contre est sont était étaient été être a ont avait avaient avoir
fait faire peut peuvent doit dont tout tous toute toutes autre autres même mêmes sera seront
serait cela ça ceci celui celle ceux celles si lors alors encore déjà mardi lundi mercredi jeudi
vendredi samedi dimanche hier aujourd aujourd'hui demain année an ans jour jours selon a-t-il
dit déclaré indiqué ajouté affirmé notamment plusieurs toutefois cependant également chaque
certains certaines quelques deux trois quatre cinq six sept huit neuf dix cent mille premier
première dernier dernière seuil afin ceux lequel laquelle lesquels via car quand comment aussi
mois semaine hier cette leurs tous
"""
_EN = """
the a an and or but if then of to in on at by for with from as into about over after before
between under against during without within is are was were be been being has have had having
do does did doing will would shall should can could may might must it its this that these those
he she they them his her their we us our you your i me my not no nor so than too very just also
only more most other some such any each all both few own same there here when where which who
whom whose what why how said says say told according new one two year years day monday tuesday
wednesday thursday friday saturday sunday yesterday today tomorrow three four five six
seven eight nine ten first last while since because however including several many much week
month mr ms also like well back still even
"""


def _forms(word: str) -> set[str]:
    """The matching form of *word*, and without «ال» (top words drop it: «اليوم» -> «يوم»)."""
    key = token_key(word)
    return {key, key[2:]} if key.startswith("ال") and len(key) - 2 >= 3 else {key}


#: Every stop word of ar, fr and en in matching form.
STOP_WORDS: frozenset[str] = frozenset(
    form for words in (_AR, _FR, _EN) for word in words.split() for form in _forms(word) if form
)


def is_stop_word(key: str) -> bool:
    """Whether the matching form *key* is a stop word (or too short to say anything)."""
    return key in STOP_WORDS or len(key) < 3 or key.isdigit()
