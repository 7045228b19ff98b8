"""Story clusters: shingles, MinHash signatures, LSH band keys and match verification (pure).

A *story* groups every copy of one article: the same wire on several outlets, with a new
headline, an agency dateline, a trimmed paragraph, the outlet's boilerplate or reordered
sentences. Matching works on the Arabic-normalised text (``crawler.text.normalize.normalize_text``):

* ``shingles``: overlapping word 3-grams of the matching form (punctuation dropped);
* ``fingerprint``: a MinHash signature (datasketch) cut into LSH bands; each band becomes a
  signed 64-bit *band key*. Two texts share at least one band key with a probability that
  rises steeply around ``StoryParams.threshold`` (estimated Jaccard similarity);
* ``verify``: band keys only propose candidates; a candidate joins the story when the actual
  shingle sets agree (Jaccard, or containment for a copy that dropped paragraphs). That keeps
  precision high whatever the LSH parameters.

The database side (band keys stored per story, assignment inside the article's transaction)
lives in ``crawler/store.py``; nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from datasketch import MinHash
from datasketch.lsh import _optimal_param

__all__ = [
    "Fingerprint",
    "StoryParams",
    "containment",
    "exact_key",
    "fingerprint",
    "jaccard",
    "shingles",
    "verify",
]

_WORD_RE = re.compile(r"\w+")
_SCHEME = "affine32"  # fixed: band keys stored in the database must not change with defaults


@dataclass(frozen=True)
class StoryParams:
    """How copies are matched; validated when built.

    threshold: Jaccard similarity around which LSH starts proposing a candidate.
    min_jaccard / min_containment: a candidate is the same story when its shingle sets reach
    either (containment = shared / smaller set, for copies that dropped paragraphs).
    min_shingles: texts with fewer shingles only match exactly (same content hash).
    window_days: stories whose band keys are older than this are not joined any more.

    The defaults come from ``bench/stories_bench.py``: a copy cut to 60-70% of the wire with a
    rewritten lead keeps >= 0.6 of its shingles in the wire, while a follow-up repeating two
    background sentences or another story on the same topic stays <= 0.4. Such a copy's
    Jaccard similarity is only ~0.3 (0.6 x 0.7 shared over the union), so LSH must propose
    pairs from 0.3 on, or verification never sees them.
    """

    threshold: float = 0.3
    num_perm: int = 128
    shingle_size: int = 3
    min_jaccard: float = 0.4
    min_containment: float = 0.6
    min_shingles: int = 12
    window_days: float = 14.0
    max_candidates: int = 8

    def __post_init__(self) -> None:
        if not 0.05 <= self.threshold <= 0.95:
            raise ValueError(f"story threshold must be in [0.05, 0.95], not {self.threshold}")
        if not 16 <= self.num_perm <= 1024:
            raise ValueError(f"num_perm must be in [16, 1024], not {self.num_perm}")
        if self.shingle_size < 1:
            raise ValueError("shingle_size must be >= 1")
        if self.window_days <= 0:
            raise ValueError(f"the story window must be positive, not {self.window_days} days")

    @property
    def bands(self) -> tuple[int, int]:
        """(number of bands, rows per band) for this threshold (datasketch's optimum)."""
        return _bands(self.threshold, self.num_perm)


@lru_cache(maxsize=16)
def _bands(threshold: float, num_perm: int) -> tuple[int, int]:
    b, r = _optimal_param(threshold, num_perm, 0.5, 0.5)
    return int(b), int(r)


@dataclass(frozen=True)
class Fingerprint:
    """What matching needs from one text: its shingles and LSH band keys."""

    shingles: frozenset[str]
    band_keys: tuple[int, ...]  # sorted, signed 64-bit; the exact-text key, then LSH bands


def shingles(text_norm: str, size: int = 3) -> frozenset[str]:
    """Word *size*-grams of an already normalised text; a shorter text gives one shingle."""
    words = _WORD_RE.findall(text_norm)
    if len(words) <= size:
        return frozenset({" ".join(words)}) if words else frozenset()
    return frozenset(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))


def _band_key(band: int, b: int, r: int, values: bytes) -> int:
    digest = hashlib.blake2b(values, digest_size=8, person=f"mb{b}r{r}i{band}".encode()).digest()
    return int.from_bytes(digest, "big", signed=True)


def exact_key(text_norm: str) -> int:
    """Band key shared by texts equal up to whitespace (the ``content_hash`` identity)."""
    digest = hashlib.blake2b("".join(text_norm.split()).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@lru_cache(maxsize=4)
def _template(num_perm: int) -> MinHash:
    return MinHash(num_perm=num_perm, seed=1, scheme=_SCHEME)


def fingerprint(text_norm: str, params: StoryParams | None = None) -> Fingerprint:
    """Shingles and band keys of a normalised text (``normalize_text`` output)."""
    params = params or StoryParams()
    grams = shingles(text_norm, params.shingle_size)
    exact = exact_key(text_norm)
    if len(grams) < params.min_shingles:
        return Fingerprint(grams, (exact,))
    minhash = _template(params.num_perm).copy()
    minhash.update_batch([gram.encode("utf-8") for gram in grams])
    values = minhash.hashvalues.astype("<u4")
    b, r = params.bands
    keys = {_band_key(i, b, r, values[i * r : (i + 1) * r].tobytes()) for i in range(b)}
    keys.add(exact)
    return Fingerprint(grams, tuple(sorted(keys)))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def containment(a: frozenset[str], b: frozenset[str]) -> float:
    """Shared shingles over the smaller set: 1.0 when one text is a trimmed copy of the other."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def verify(a: frozenset[str], b: frozenset[str], params: StoryParams | None = None) -> bool:
    """Whether two shingle sets are copies of one story (high precision by design)."""
    params = params or StoryParams()
    if min(len(a), len(b)) < params.min_shingles:
        return False
    shared = len(a & b)
    if shared == 0:
        return False
    if shared / (len(a) + len(b) - shared) >= params.min_jaccard:
        return True
    return shared / min(len(a), len(b)) >= params.min_containment
