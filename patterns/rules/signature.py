"""The signature of an incident: its category and the few terms that say what went wrong.

Pure: no Django. Two tickets about the same problem on different machines must share a
signature, so everything that names an *instance* (host names such as ``prod-web-01``, IP
addresses, numbers, UUIDs, hex ids, pod names such as ``web-7d9f8c-x2k4p``, paths, URLs,
e-mail addresses) is dropped before the terms are chosen.

How the terms are chosen, in order:

1. normalize: Unicode NFKC, then lowercase;
2. split on whitespace and light punctuation, keeping ``-``, ``.``, ``_``, ``/``, ``:``
   and ``@`` inside a token so that an instance name is seen whole;
3. drop instance-specific tokens (see ``is_instance_specific``); split what remains on
   ``-``, ``_`` and ``.`` into words;
4. drop stop words, single characters and words longer than ``MAX_TERM_LENGTH``;
5. score each word: ``TITLE_WEIGHT`` per occurrence in the title, 1 per occurrence in the
   description; keep the ``MAX_KEY_TERMS`` best (ties: longer first, then alphabetical);
6. sort the kept terms alphabetically, so word order in the text never changes the hash.

``hash = sha256(f"{category}|{','.join(terms)}")``.

That is the signature of a ticket whose cause is not established. Once the diagnosis
established one, the pattern is keyed on the cause instead (``cause_signature``): the same
cause in other words is one pattern, different causes in the same words are two.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

MAX_KEY_TERMS = 5
# The title says what is wrong in a few words; the description adds noise and detail.
TITLE_WEIGHT = 3
# Longer "words" are log lines, tokens or ids, not vocabulary.
MAX_TERM_LENGTH = 30
MIN_TERM_LENGTH = 2

# Words that say nothing about which problem it is: English function words, ticket
# boilerplate and vague verbs every incident uses.
STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are aren as at be because been
    before being below between both but by can cannot could did didn do does doesn doing don
    during each few for from further had has hasn have haven having he her here hers
    herself him himself his how i if in into is isn it its itself just let me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same
    she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was wasn we were weren what when where which
    while who whom why will with won would you your yours yourself yourselves
    please pls thanks thank hi hello team urgent asap issue issues problem problems ticket
    help need needs needed seems seem seeing see saw getting got get gets still again since
    today yesterday currently anymore already around approx approximately
    """.split()  # noqa: SIM905 - a word list reads better as prose
)

# Tokens with digits that are vocabulary, not instance names.
TERMS_WITH_DIGITS = frozenset(
    {
        "k8s",
        "ipv4",
        "ipv6",
        "s3",
        "ec2",
        "x509",
        "http2",
        "http3",
        "oauth2",
        "l2",
        "l3",
        "l4",
        "l7",
        "4xx",
        "5xx",
        "2fa",
        "md5",
        "sha1",
        "sha256",
        "utf8",
        "p2p",
        "802.1q",
        "e2e",
    }
)

_SPLIT = re.compile(r"[^\w\-./:@]+")
_WORD_SPLIT = re.compile(r"[-_.]+")
_EDGE_PUNCT = "-./:@_"
_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
_HEX_ID = re.compile(r"^(0x)?[0-9a-f]{6,}$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?(:\d+)?$")
# IPv6: hex groups and colons, at least two colons.
_IPV6 = re.compile(r"^[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}(/\d{1,3})?$")
_MAC = re.compile(r"^[0-9a-f]{2}([:-][0-9a-f]{2}){5}$")
_HAS_DIGIT = re.compile(r"\d")
_ALPHA = re.compile(r"^[^\W\d_]+$")


@dataclass(frozen=True)
class Signature:
    category: str
    key_terms: tuple[str, ...]
    text: str
    hash: str


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def normalize_category(category: str) -> str:
    return normalize(category).strip()


def tokenize(text: str) -> list[str]:
    """Split normalized text into raw tokens, instance names kept whole."""
    tokens = []
    for raw in _SPLIT.split(normalize(text)):
        token = raw.strip(_EDGE_PUNCT)
        if token:
            tokens.append(token)
    return tokens


def is_instance_specific(token: str) -> bool:
    """True for a token that names one machine, address, object or number, not a problem."""
    if token in TERMS_WITH_DIGITS:
        return False
    if "@" in token or "/" in token or "://" in token or ":" in token:
        return True  # e-mail addresses, paths, URLs, host:port, IPv6
    if (
        _UUID.match(token)
        or _IPV4.match(token)
        or _IPV6.match(token)
        or _MAC.match(token)
        or _HEX_ID.match(token)
    ):
        return True
    # Anything else with a digit is an instance name (prod-web-01, web-7d9f8c-x2k4p, node3,
    # vlan100, 8080, 2.5gb): the same problem on another machine carries other digits.
    return bool(_HAS_DIGIT.search(token))


def _words(text: str) -> list[str]:
    words: list[str] = []
    for token in tokenize(text):
        if is_instance_specific(token):
            continue
        parts = [token] if token in TERMS_WITH_DIGITS else _WORD_SPLIT.split(token)
        for part in parts:
            if (
                MIN_TERM_LENGTH <= len(part) <= MAX_TERM_LENGTH
                and part not in STOP_WORDS
                and (_ALPHA.match(part) or part in TERMS_WITH_DIGITS)
            ):
                words.append(part)
    return words


def key_terms(title: str, description: str, *, limit: int = MAX_KEY_TERMS) -> tuple[str, ...]:
    """The ``limit`` most informative terms of a ticket's text, alphabetically."""
    scores: Counter[str] = Counter()
    for word in _words(title):
        scores[word] += TITLE_WEIGHT
    for word in _words(description):
        scores[word] += 1
    ranked = sorted(scores.items(), key=lambda item: (-item[1], -len(item[0]), item[0]))
    return tuple(sorted(word for word, _ in ranked[:limit]))


def _signature(category: str, terms: tuple[str, ...]) -> Signature:
    cat = normalize_category(category)
    text = f"{cat}|{','.join(terms)}"
    return Signature(
        category=cat,
        key_terms=terms,
        text=text,
        hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def signature_for(category: str, title: str, description: str) -> Signature:
    return _signature(category, key_terms(title, description))


def cause_signature(category: str, *, cause: str, kind: str, operation: str) -> Signature:
    """The signature of a ticket whose diagnosis established a cause: the category and the
    cause, the object kind and the fixing operation as key terms (``cause:hung``,
    ``kind:vm``, ``operation:restart_vm``). Word terms never hold a ``:`` (such tokens are
    instance names, dropped above), so the two kinds of signature never collide."""
    terms = (f"cause:{cause}", f"kind:{kind or '-'}", f"operation:{operation or 'none'}")
    return _signature(category, terms)


def keyed_on_cause(terms: Iterable[str]) -> bool:
    """Whether a pattern's key terms are those of ``cause_signature``."""
    return any(str(t).startswith("cause:") for t in terms)


def similarity(a_terms: Iterable[str], b_terms: Iterable[str]) -> float:
    """Jaccard index of two term sets, 0.0 to 1.0. Two empty sets share nothing: 0.0."""
    a, b = set(a_terms), set(b_terms)
    union = a | b
    if not union:
        return 0.0
    return len(a & b) / len(union)
