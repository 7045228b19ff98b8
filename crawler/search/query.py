"""The analysts' search language: parse it into an AST, expand words, compile per backend.

Syntax (keywords are upper case; lower-case ``and``/``or``/``not`` are ordinary words)::

    إسرائيل غزة             both words (implicit AND)
    مصر OR الأردن           either
    NOT word, -word         exclude (only next to something positive: ``a -b``)
    "وزير الخارجية"          exact phrase (in one field: title or text)
    word*                   prefix
    (a OR b) c              grouping

Matching happens on the Arabic-normalised form (``crawler.text.normalize.normalize_text``: hamza,
alef, ta marbuta, tashkeel, tatweel, case, Latin accents), the same form the index holds. The
index keeps whole words, so Arabic clitics are handled here, when a word is *expanded* into the
forms it may take in text:

* a bare Arabic word loses a leading «ال» and becomes a prefix match on itself behind every clitic
  prefix (و ف ب ل ك ال وال بال لل ...): «اسرائيل» finds «إسرائيل», «وإسرائيل», «بإسرائيل» and,
  through the prefix, suffixed forms such as the nisba «الإسرائيلية». A stem ending in ta marbuta
  also reaches its construct and plural forms (حكومة -> حكومتها, مذكرة -> مذكرات).
* inside quotes the words are exact, except that the first one may carry a conjunction or
  preposition clitic («"وزير الخارجية"» also finds «ووزير الخارجية»).
* a bare Latin word also matches its plural (armée -> armées, crisis ..., policy -> policies).

Both compilers emit a single string that is passed to the database as a BOUND parameter (FTS5
MATCH / PostgreSQL ``CAST(:q AS tsquery)``); every lexeme in it is made of letters and digits
only, so user input never reaches SQL as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from crawler.text.normalize import normalize_text
from crawler.text.tokens import AR_PREFIXES, is_arabic, latin_any, token_key

__all__ = [
    "BIGRAM_MARK",
    "BIGRAM_MAX",
    "MIN_STRIPPED",
    "STRIPPED_MARK",
    "And",
    "Not",
    "Or",
    "Phrase",
    "QuerySyntaxError",
    "Term",
    "compile_fts5",
    "compile_pg_match",
    "compile_tsquery",
    "expand",
    "indexed_tokens",
    "parse_query",
    "search_tokens",
]

# ------------------------------------------------------------------ marked lexemes
# The PostgreSQL index (``crawler.search.index``) adds marked lexemes to the words of each
# article; the compiler below relies on them, so their format is defined here.
#: Marker of a clitic-stripped form: «والحكومة» (normalised «والحكومه») is also indexed as
#: ``~الحكومه`` (after «و») and ``~حكومه`` (after «وال»), so a bare Arabic word compiles to
#: ``'حكومه':* | '~حكومه':*`` instead of one prefix per clitic (``compile_pg_match``).
STRIPPED_MARK = "~"
#: Marker of two adjacent words of one field: ``+وزير الخارجيه``. A two-word phrase is one exact
#: lexeme (no positions to re-check); a longer one needs all its pairs before the positions are
#: checked. Pairs longer than BIGRAM_MAX characters are stored cut to that length (lexemes are at
#: most 2047 bytes); the query compiler falls back to positions for such pairs.
BIGRAM_MARK = "+"
BIGRAM_MAX = 500
MIN_STRIPPED = 3  # letters a clitic-stripped form keeps (the index strips no more)

MIN_STEM = 3  # an Arabic stem shorter than this is matched exactly (no clitic expansion)
assert MIN_STEM >= MIN_STRIPPED  # the index strips clitics off words of MIN_STRIPPED+ letters
MIN_PREFIX = 2  # letters before an explicit `*`
MAX_TERMS = 64  # words and phrases in one query
MAX_DEPTH = 32  # nested parentheses and NOT/- (the parser and compilers recurse)
MAX_QUERY_CHARS = 2000  # keeps the expanded tsquery far below PostgreSQL's 1 MB
#: UTF-8 bytes of one normalised word (1,000 Arabic letters): behind the longest clitic
#: (8 bytes), with a mark (~) and a plural ending (ه -> ات) it stays under PostgreSQL's lexeme
#: limit of 2047 bytes; pairs of long words are not lexemes (BIGRAM_MAX).
MAX_WORD_BYTES = 2000
_LONGEST_EXPANSION = max(len(p.encode()) for p in AR_PREFIXES) + len(STRIPPED_MARK) + 2
assert MAX_WORD_BYTES + _LONGEST_EXPANSION <= 2047

# Letters and digits: the same runs the FTS5 unicode61 tokenizer and the PostgreSQL index
# function keep as words (everything else separates words).
_WORD_RE = re.compile(r"[^\W_]+")
_ARTICLE = "ال"
_PHRASE_PREFIXES = tuple(sorted(p for p in AR_PREFIXES if "ال" not in p and p != "لل"))
_ARTICLE_PREFIXES = tuple(sorted(p for p in AR_PREFIXES if "ال" in p or p == "لل"))
_WORD_PREFIXES = ("", *sorted(AR_PREFIXES))
PRETTY_CONTEXT = 40  # characters of the query shown on each side of an error


class QuerySyntaxError(ValueError):
    """A malformed query: ``position`` is the 0-based character offset of the problem."""

    def __init__(self, message: str, position: int, query: str) -> None:
        self.message = message
        self.position = position
        self.query = query
        super().__init__(f"{message} (at character {position + 1})")

    def pretty(self) -> str:
        """The message with the query (around the problem, if long) and a caret under it."""
        start = max(0, self.position - PRETTY_CONTEXT)
        shown = self.query[start : self.position + PRETTY_CONTEXT]
        before = "…" if start else ""
        after = "…" if self.position + PRETTY_CONTEXT < len(self.query) else ""
        caret = " " * (len(before) + self.position - start)
        return f"{self}\n  {before}{shown}{after}\n  {caret}^"


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Term:
    text: str  # as typed (without the `*`)
    prefix: bool
    position: int


@dataclass(frozen=True)
class Phrase:
    text: str
    prefix: bool  # `"a b"*`: the last word is a prefix
    position: int


@dataclass(frozen=True)
class Not:
    child: Node
    position: int


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Phrase | Not | And | Or


# --------------------------------------------------------------------------- lexer

_KEYWORDS = {"AND", "OR", "NOT"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # "(", ")", "AND", "OR", "NOT", "-", "WORD", "PHRASE", "END"
    text: str
    position: int
    prefix: bool = False


def _lex(query: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Tok(char, char, i))
            i += 1
        elif char in '"«“”»':
            close = {"«": "»", "“": "”"}.get(char, char if char == '"' else '"')
            end = query.find(close, i + 1)
            if end < 0 and close != '"':
                end = query.find('"', i + 1)
            if end < 0:
                raise QuerySyntaxError('unclosed quote: expected a closing "', i, query)
            prefix = end + 1 < n and query[end + 1] == "*"
            tokens.append(_Tok("PHRASE", query[i + 1 : end], i, prefix))
            i = end + 1 + prefix
        elif char == "-" and (i + 1 < n and not query[i + 1].isspace() and query[i + 1] != ")"):
            tokens.append(_Tok("-", char, i))
            i += 1
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in '()"«»“”':
                j += 1
            word = query[i:j]
            if word in _KEYWORDS:
                tokens.append(_Tok(word, word, i))
            else:
                prefix = word.endswith("*")
                tokens.append(_Tok("WORD", word.rstrip("*"), i, prefix))
            i = j
    tokens.append(_Tok("END", "", n))
    return tokens


# --------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent: or := and (OR and)*; and := unary ([AND] unary)*;
    unary := (NOT | -) unary | primary; primary := ( or ) | PHRASE | WORD."""

    def __init__(self, query: str) -> None:
        if len(query) > MAX_QUERY_CHARS:
            raise QuerySyntaxError(
                f"query too long: at most {MAX_QUERY_CHARS} characters", MAX_QUERY_CHARS, query
            )
        self.query = query
        self.tokens = _lex(query)
        self.i = 0
        self.terms = 0
        self.depth = 0

    def nested(self, tok: _Tok) -> None:
        """Enter one more level of parentheses or NOT under *tok*."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested too deep: at most {MAX_DEPTH} levels of ( and NOT", tok)

    def peek(self) -> _Tok:
        return self.tokens[self.i]

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: _Tok) -> QuerySyntaxError:
        return QuerySyntaxError(message, tok.position, self.query)

    def parse(self) -> Node:
        if self.peek().kind == "END":
            raise self.error('empty query: expected a word or a "phrase"', self.peek())
        node = self.or_expr()
        tok = self.peek()
        if tok.kind == ")":
            raise self.error("unmatched ')': no '(' opened it", tok)
        if tok.kind != "END":  # pragma: no cover - every other token starts an operand
            raise self.error(f"unexpected {tok.text!r}", tok)
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.peek().kind == "OR":
            self.take()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.unary()]
        while True:
            kind = self.peek().kind
            if kind == "AND":
                self.take()
            elif kind not in ("NOT", "-", "(", "WORD", "PHRASE"):
                break
            children.append(self.unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self) -> Node:
        tok = self.peek()
        if tok.kind in ("NOT", "-"):
            self.take()
            self.nested(tok)
            node = Not(self.unary(), tok.position)
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "(":
            if self.peek().kind == ")":
                raise self.error('empty parentheses: expected a word or a "phrase"', self.peek())
            self.nested(tok)
            node = self.or_expr()
            self.depth -= 1
            close = self.peek()
            if close.kind != ")":
                raise self.error(
                    f"expected ')' to close the '(' at character {tok.position + 1}", close
                )
            self.take()
            return node
        if tok.kind in ("WORD", "PHRASE"):
            self.terms += 1
            if self.terms > MAX_TERMS:
                raise self.error(f"too many words: at most {MAX_TERMS} per query", tok)
            tokens = search_tokens(tok.text)
            if not tokens:
                what = "phrase" if tok.kind == "PHRASE" else "word"
                raise self.error(f"nothing searchable in the {what} {tok.text!r}", tok)
            if any(len(t.encode()) > MAX_WORD_BYTES for t in tokens):
                raise self.error(
                    f"word too long: at most {MAX_WORD_BYTES} bytes (about "
                    f"{MAX_WORD_BYTES // 2} Arabic or {MAX_WORD_BYTES} Latin letters)",
                    tok,
                )
            if tok.prefix and len(tokens[-1]) < MIN_PREFIX:
                raise self.error(
                    f"prefix {tokens[-1]!r}* is too short: give at least {MIN_PREFIX} letters",
                    tok,
                )
            cls = Phrase if tok.kind == "PHRASE" else Term
            return cls(tok.text, tok.prefix, tok.position)
        if tok.kind == "END":
            raise self.error('unexpected end of query: expected a word or a "phrase"', tok)
        if tok.kind == ")":
            raise self.error("unexpected ')': expected a word or a \"phrase\"", tok)
        raise self.error(f'unexpected {tok.text}: expected a word or a "phrase" before it', tok)


def parse_query(query: str) -> Node:
    """Parse and validate *query*; raises QuerySyntaxError with a position."""
    node = _Parser(query).parse()
    _check_negation(node, query)
    return node


def _check_negation(node: Node, query: str, *, top: bool = True) -> None:
    """FTS5 can only subtract: NOT needs a positive sibling in an AND."""
    if isinstance(node, Not):
        raise QuerySyntaxError(
            "a query cannot only exclude: NOT/- needs something to exclude from, as in `a -b`",
            node.position,
            query,
        )
    if isinstance(node, And):
        positives = [c for c in node.children if not isinstance(c, Not)]
        if not positives:
            first = node.children[0]
            raise QuerySyntaxError(
                "every part of this AND is excluded: add a word to search for",
                first.position if isinstance(first, Not) else 0,
                query,
            )
        for child in node.children:
            _check_negation(child.child if isinstance(child, Not) else child, query, top=False)
    elif isinstance(node, Or):
        for child in node.children:
            if isinstance(child, Not):
                raise QuerySyntaxError(
                    "NOT/- cannot be an alternative of OR: write `(a OR b) -c`",
                    child.position,
                    query,
                )
            _check_negation(child, query, top=False)


# --------------------------------------------------------------------------- expansion


def search_tokens(text: str) -> list[str]:
    """The words of *text* as search reads them: normalised, French elision removed, split on
    non-letters (what the highlighter compares; unquoted words reach the index this way)."""
    out: list[str] = []
    for raw in text.split():
        out.extend(_WORD_RE.findall(token_key(raw)))
    return out


def indexed_tokens(text: str) -> list[str]:
    """The words of phrase *text* as the index holds them: the index splits normalised text on
    every non-letter, so an elision or ``'s`` inside a phrase is a word of its own
    («protocole d'accord» is indexed as ``protocole d accord``); only an elision in front of the
    first word is dropped («"l'armée marocaine"» also finds «une armée marocaine»)."""
    out: list[str] = []
    for raw in text.split():
        words = _WORD_RE.findall(normalize_text(raw))
        if not out and len(words) > 1 and token_key(f"{words[0]}'{words[1]}") == words[1]:
            words = words[1:]  # l'armée -> armée (token_key knows the elisions)
        out.extend(words)
    return out


Lexeme = tuple[str, bool]  # (word, prefix)
Alternative = tuple[Lexeme, ...]  # one phrase (a single lexeme for a word)


def _arabic_stems(token: str) -> list[str]:
    base = token[2:] if token.startswith(_ARTICLE) and len(token) - 2 >= MIN_STEM else token
    stems = [base]
    if base.endswith("ه") and len(base) > MIN_STEM:
        stems += [base[:-1] + "ت", base[:-1] + "ات"]  # حكومه -> حكومتها, مذكره -> مذكرات
    return stems


def _latin_forms(token: str) -> list[str]:
    stems = [token]
    if len(token) >= 5:
        stems += [s for s in latin_any(token) if len(s) >= 3]
    forms: dict[str, None] = {}
    for stem in stems:
        forms.update(dict.fromkeys((stem, stem + "s")))
        if stem.endswith(("au", "eu", "ou")):
            forms[stem + "x"] = None  # bateau -> bateaux
        if stem.endswith(("s", "x", "z", "ch", "sh")):
            forms[stem + "es"] = None  # crisis ... church -> churches
        if stem.endswith("y") and stem[-2:-1] not in "aeiou":
            forms[stem[:-1] + "ies"] = None
        if stem.endswith("al"):
            forms[stem[:-2] + "aux"] = None
    return list(forms)


def _clitic_stems(node: Term | Phrase) -> list[str] | None:
    """The stems a bare Arabic word is expanded from (behind every clitic, as prefixes), or None
    when *node* is not such a word."""
    if not isinstance(node, Term):
        return None
    tokens = search_tokens(node.text)
    if len(tokens) != 1 or tokens[0].isdigit() or not is_arabic(tokens[0][0]):
        return None
    stems = _arabic_stems(tokens[0])
    return stems if len(stems[0]) >= MIN_STEM else None


def expand(node: Term | Phrase, *, indexed: bool = False) -> list[Alternative]:
    """The alternatives (phrases of lexemes) a word or phrase matches; with *indexed*, a
    phrase's words as the index holds them (``indexed_tokens``: what the compilers match),
    otherwise as ``search_tokens`` reads text (what the highlighter compares)."""
    phrase = indexed and isinstance(node, Phrase)
    tokens = indexed_tokens(node.text) if phrase else search_tokens(node.text)
    last = len(tokens) - 1
    if isinstance(node, Term) and len(tokens) == 1:
        token = tokens[0]
        if token.isdigit():
            return [((token, node.prefix),)]
        if is_arabic(token[0]):
            stems = _clitic_stems(node)
            if stems is None:
                return [((token, node.prefix),)]
            return [((p + s, True),) for s in stems for p in _WORD_PREFIXES]
        if node.prefix:
            return [((token, True),)]
        return [((form, False),) for form in _latin_forms(token)]
    # A phrase (or a word that splits into several: al-Quds, 1.5): exact words, the first one
    # may carry a clitic.
    rest = tuple((t, node.prefix and i == last) for i, t in enumerate(tokens) if i > 0)
    first = tokens[0]
    firsts = [first]
    if is_arabic(first[0]) and len(first) >= MIN_STEM:
        if first.startswith(_ARTICLE) and len(first) - 2 >= MIN_STEM:
            firsts = [p + first[2:] for p in _ARTICLE_PREFIXES]
        else:
            firsts += [p + first for p in _PHRASE_PREFIXES]
    return [((f, node.prefix and last == 0), *rest) for f in firsts]


# --------------------------------------------------------------------------- compilers


def _split_not(node: And) -> tuple[list[Node], list[Node]]:
    positives: list[Node] = [c for c in node.children if not isinstance(c, Not)]
    negatives = [c.child for c in node.children if isinstance(c, Not)]
    return positives, negatives


def _fts5_alt(alt: Alternative) -> str:
    words = " ".join(word for word, _ in alt)
    return f'"{words}"' + ("*" if alt[-1][1] else "")


def compile_fts5(node: Node) -> str:
    """An SQLite FTS5 MATCH expression for a parsed query."""
    if isinstance(node, Term | Phrase):
        alts = [_fts5_alt(alt) for alt in expand(node, indexed=True)]
        return alts[0] if len(alts) == 1 else "(" + " OR ".join(alts) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(compile_fts5(c) for c in node.children) + ")"
    if isinstance(node, And):
        positives, negatives = _split_not(node)
        expr = " AND ".join(compile_fts5(c) for c in positives)
        if len(positives) > 1:
            expr = f"({expr})"
        for negative in negatives:
            expr = f"({expr} NOT {compile_fts5(negative)})"
        return expr
    raise TypeError(f"cannot compile a bare {type(node).__name__}")  # parse_query refuses it


def _ts_lexeme(word: str, prefix: bool, weight: str = "") -> str:
    escaped = word.replace("\\", "\\\\").replace("'", "''")
    flags = ("*" if prefix else "") + weight
    return f"'{escaped}'" + (f":{flags}" if flags else "")


def _ts_alt(alt: Alternative) -> str:
    if len(alt) == 1:
        return _ts_lexeme(*alt[0])
    # A phrase stays inside one field: title words carry weight A, text words weight B.
    per_field = [
        "(" + " <-> ".join(_ts_lexeme(w, p, weight) for w, p in alt) + ")" for weight in "AB"
    ]
    return "(" + " | ".join(per_field) + ")"


def compile_tsquery(node: Node) -> str:
    """A PostgreSQL tsquery (text form, to be CAST) for a parsed query: the form ``ts_rank``
    scores with (matching uses ``compile_pg_match``, which selects the same rows faster)."""
    if isinstance(node, Term | Phrase):
        alts = [_ts_alt(alt) for alt in expand(node, indexed=True)]
        return alts[0] if len(alts) == 1 else "(" + " | ".join(alts) + ")"
    if isinstance(node, Or):
        return "(" + " | ".join(compile_tsquery(c) for c in node.children) + ")"
    if isinstance(node, And):
        positives, negatives = _split_not(node)
        parts = [compile_tsquery(c) for c in positives]
        parts += [f"!{compile_tsquery(c)}" for c in negatives]
        return "(" + " & ".join(parts) + ")"
    raise TypeError(f"cannot compile a bare {type(node).__name__}")


#: A match condition over the two PostgreSQL index columns: ("marks" | "document", tsquery
#: text), ("and" | "or", [conditions]) or ("not", condition).
PgMatch = tuple


def _any(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"


def _pg_leaf(node: Term | Phrase) -> PgMatch:
    stems = _clitic_stems(node)
    if stems is not None:
        # 'stem':* on the words, '~stem':* on the clitic-stripped forms: not 24..72 prefixes
        return (
            "marks",
            _any([_ts_lexeme(m + s, True) for s in stems for m in ("", STRIPPED_MARK)]),
        )
    marks: list[str] = []  # words, and two-word phrases as their one adjacent pair: exact
    needs: list[str] = []  # longer phrases: all their pairs (or words) ...
    positions: list[str] = []  # ... then their positions
    for alt in expand(node, indexed=True):
        if len(alt) == 1:
            marks.append(_ts_lexeme(*alt[0]))
            continue
        pairs = [
            (f"{BIGRAM_MARK}{first} {second}", prefix)
            for (first, _), (second, prefix) in pairwise(alt)
        ]
        if len(pairs) == 1 and len(pairs[0][0]) < BIGRAM_MAX:
            marks.append(_ts_lexeme(*pairs[0]))
            continue
        if any(len(pair) >= BIGRAM_MAX for pair, _ in pairs):  # stored cut: the words only
            pairs = list(alt)
        needs.append("(" + " & ".join(_ts_lexeme(*x) for x in pairs) + ")")
        positions.append(_ts_alt(alt))
    out: list[PgMatch] = []
    if marks:
        out.append(("marks", _any(marks)))
    if needs:  # (some alternative has all its pairs) AND (some has its positions): exact
        out.append(("and", [("marks", _any(needs)), ("document", _any(positions))]))
    return out[0] if len(out) == 1 else ("or", out)


def compile_pg_match(node: Node) -> PgMatch:
    """The rows *node* selects, as a condition over ``article_search.marks`` (words without
    positions, clitic-stripped words ``~stem`` and adjacent pairs ``+a b``, GIN-indexed, see
    ``crawler.search.index``) and, for phrases of three words or more, ``document`` (positions):
    the very rows ``document @@ compile_tsquery(node)`` selects, with a handful of index terms
    and no position re-check for words and two-word phrases. Parts over ``marks`` alone are
    merged into one tsquery (GIN then evaluates NOT, too)."""
    if isinstance(node, Term | Phrase):
        return _pg_leaf(node)
    if isinstance(node, Or):
        parts = [compile_pg_match(c) for c in node.children]
        if all(kind == "marks" for kind, _ in parts):
            return ("marks", "(" + " | ".join(q for _, q in parts) + ")")
        return ("or", parts)
    if isinstance(node, And):
        positives, negatives = _split_not(node)
        parts = [compile_pg_match(c) for c in positives]
        excluded = [compile_pg_match(c) for c in negatives]
        if all(kind == "marks" for kind, _ in parts + excluded):
            terms = [q for _, q in parts] + [f"!{q}" for _, q in excluded]
            return ("marks", "(" + " & ".join(terms) + ")")
        return ("and", parts + [("not", c) for c in excluded])
    raise TypeError(f"cannot compile a bare {type(node).__name__}")
