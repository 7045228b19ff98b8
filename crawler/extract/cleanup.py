"""Body cleanup around trafilatura: banners pruned from the tree, boilerplate lines dropped."""

from __future__ import annotations

import re

from lxml import etree
from lxml import html as lxml_html

_BOILERPLATE_LINE = re.compile(
    r"^\s*(?:"
    r"اقرأ أيضا|اقرأ أيضاً|إقرأ أيضا|إقرأ أيضاً|اقرأ ايضا|اقرا ايضا|اقرأ المزيد|إقرأ المزيد|"
    r"شارك|شارك المقال|شارك الخبر|تابعونا|تابعوا|تابعنا|للمزيد|المزيد من الأخبار|مواضيع ذات صلة|"
    r"أخبار ذات صلة|اخبار ذات صلة|ذات صلة|"
    r"lire aussi|à lire aussi|a lire aussi|lire également|à lire également|voir aussi|"
    r"partager|partagez|abonnez-vous|suivez-nous|"
    r"read more|read also|related|share this|share on|follow us|sign up|subscribe"
    r")\b.{0,120}$",
    re.I,
)
_SHARE_ONLY = re.compile(
    r"^\s*(?:facebook|twitter|x|whatsapp|linkedin|telegram|email|e-mail|print|imprimer|"
    r"فيسبوك|تويتر|واتساب|طباعة|[\W_]*)\s*$",
    re.I,
)


_BOILERPLATE_TOKEN = re.compile(
    r"(?:^|[\s_-])(?:cookies?|cookiebanner|consent|gdpr|didomi|onetrust|cmp|reactions?|"
    r"alertdialog|dialog)(?:$|[\s_-])",
    re.I,
)
_BOILERPLATE_MAX = 1500  # characters: a wrapper this long is not a banner
_BOILERPLATE_DEPTH = 5  # banners sit near the top of the tree: look no deeper (cost)


def prune_boilerplate(tree: lxml_html.HtmlElement) -> None:
    """Drop consent banners, dialogs and reaction boxes before extraction: their text is not
    the article's and must not carry a near-empty page over the minimum length."""
    body = tree.find(".//body")
    if body is None or not _BOILERPLATE_TOKEN.search(" ".join(_marks_in_reach(body))):
        return
    stack = [(body, 0)]
    while stack:
        parent, depth = stack.pop()
        for el in list(parent):
            if not isinstance(el.tag, str):
                continue
            marks = f"{el.get('class', '')} {el.get('id', '')} {el.get('role', '')}"
            if (
                el.tag not in {"main", "article"}
                and len(marks) > 2
                and _BOILERPLATE_TOKEN.search(marks)
                and len(el.text_content()) <= _BOILERPLATE_MAX
            ):
                el.drop_tree()
            elif depth < _BOILERPLATE_DEPTH:
                stack.append((el, depth + 1))


# the class, id and role values of the elements prune_boilerplate looks at, level by level
_MARKS_AT = [
    etree.XPath("/".join(["*"] * level) + f"/@{name}", smart_strings=False)
    for level in range(1, _BOILERPLATE_DEPTH + 2)
    for name in ("class", "id", "role")
]


def _marks_in_reach(body: lxml_html.HtmlElement) -> list[str]:
    """Read in C, without making each element a Python object: a token matching within one
    element's "class id role" matches within one of these values (no token holds a space),
    so when none matches there is nothing to drop, which is most pages."""
    return [value for query in _MARKS_AT for value in query(body)]


def clean_body(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.replace("\r", "").split("\n")]
    kept: list[str] = []
    for line in lines:
        if not line:
            continue
        if len(line) < 200 and _BOILERPLATE_LINE.match(line):
            continue
        if _SHARE_ONLY.match(line):
            continue
        kept.append(line)
    return "\n\n".join(kept)
