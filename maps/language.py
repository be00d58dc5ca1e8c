"""Appropriate language about child exploitation, as code: victim-blaming terms, alternatives and a checker.

Based on *Appropriate Language in Relation to Child Exploitation* (The Children's Society, Victim Support
and the NPCC, 2017/2022) and its 2024 update for the CSE Taskforce (*Child exploitation and abuse: an
appropriate language guide*, The Children's Society and NAPAC). Victim-blaming language implies that a
child is responsible for the abuse they experience; a child cannot consent to their own abuse. A child is
"exploited", "abused" or "at risk"; the adult is the "exploiter", "abuser" or "perpetrator".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from ctxrisk.pipelines.errors import ValidationError

__all__ = ["TERMS", "Term", "TermHit", "assert_appropriate", "find_terms"]


@dataclass(frozen=True)
class Term:
    """One term to avoid.

    Attributes
    ----------
    phrase : str
        The term as usually written.
    pattern : str
        Case-insensitive regular expression for its word forms; a space inside matches any run of
        whitespace or hyphens (so line breaks and "drug-mule" do not hide a phrase). Word boundaries are added
        by ``find_terms``.
    alternative : str
        Preferred wording.
    reason : str
        Why the term is harmful.
    contextual : bool
        ``True`` when the word is only wrong in some uses (e.g. "boyfriend" for an exploiter): a hit needs
        a reader's judgement in partner-supplied text, but product text of ctxrisk never uses it.
    """

    phrase: str
    pattern: str
    alternative: str
    reason: str
    contextual: bool = False


_SEX = "A child cannot consent to their own abuse; this hides the abuser and blames the child."
_CRIM = "Hides that an adult is criminally exploiting the child and frames the child as an offender."
_CHOICE = "Implies the child chose or caused the harm; exploitation involves coercion and control."

TERMS: tuple[Term, ...] = (
    Term(
        "child prostitute",
        r"child prostitut(?:e|es|ion)",
        "child who is being sexually exploited; child sexual exploitation",
        _SEX,
    ),
    Term("prostitute", r"prostitut(?:e|es|ed|ing|ion)", "being sexually exploited; child sexual exploitation", _SEX),
    Term("sex worker", r"sex work(?:er|ers|ing)?", "being sexually exploited", _SEX),
    Term("rent boy", r"rent boys?", "boy who is being sexually exploited", _SEX),
    Term("sugar daddy", r"sugar dadd(?:y|ies)", "adult who is sexually exploiting the child", _SEX),
    Term("promiscuous", r"promiscu(?:ous|ity)", "being sexually exploited or abused", _SEX),
    Term("sleeping around", r"sleep(?:s|ing)? around|slept around", "being sexually exploited or abused", _SEX),
    Term("consenting", r"consenting", "being exploited or abused (a child cannot consent to their own abuse)", _SEX),
    Term(
        "consensual",
        r"consensual(?:ly)?",
        "being exploited or abused (a child cannot consent to their own abuse)",
        _SEX,
    ),
    Term(
        "exchanging sex",
        r"exchang(?:e|es|ed|ing) sex|sex for (?:drugs|money|gifts|alcohol)",
        "being sexually exploited; the abuser gives drugs, money or gifts",
        _SEX,
    ),
    Term("sexually active", r"sexually active", "being sexually abused or exploited", _SEX, contextual=True),
    Term(
        "boyfriend",
        r"boyfriends?|girlfriends?",
        "the adult exploiting the child; perpetrator",
        "Presents an exploiter as a partner and the abuse as a relationship.",
        contextual=True,
    ),
    Term(
        "in a relationship with",
        r"in a relationship with",
        "being exploited or abused by",
        "Presents an exploiter as a partner and the abuse as a relationship.",
        contextual=True,
    ),
    Term(
        "associating with",
        r"associat(?:es|ing|ed) with|hang(?:s|ing)? around with|hung around with",
        "being exploited by; in contact with people who pose a risk",
        _CHOICE,
        contextual=True,
    ),
    Term("drug runner", r"drugs? runners?", "child who is being criminally exploited", _CRIM),
    Term("runner", r"runners?", "child who is being criminally exploited", _CRIM),
    Term("drug mule", r"(?:drugs?|money) mules?", "child being criminally exploited to move drugs or money", _CRIM),
    Term("mule", r"mules?", "child being criminally exploited to move drugs or money", _CRIM),
    Term(
        "drug dealer",
        r"(?:drug )?dealers?|drug dealing",
        "child being criminally exploited to sell drugs",
        _CRIM,
        contextual=True,
    ),
    Term(
        "recruit",
        r"recruit(?:s|ed|ing|er|ers)?",
        "child being exploited and coerced to involve other children",
        _CRIM,
        contextual=True,
    ),
    Term("gang member", r"gang members?", "child being criminally exploited", _CRIM, contextual=True),
    Term(
        "putting themselves at risk",
        r"(?:put|puts|putting) (?:themselves|themself|himself|herself|yourself) (?:at|in) (?:risk|danger)",
        "is at risk; is being exposed to risk by adults",
        _CHOICE,
    ),
    Term(
        "risk-taking behaviour",
        r"risk taking(?: behaviou?rs?)?|risky behaviou?rs?",
        "is at risk of exploitation; is being groomed or exploited",
        _CHOICE,
    ),
    Term(
        "lifestyle choice", r"lifestyle choices?|chos(?:e|en) (?:this|that|the|a) lifestyle", "being exploited", _CHOICE
    ),
    Term("choosing to", r"(?:choos(?:es|ing)|chose) to", "being coerced or controlled to", _CHOICE, contextual=True),
    Term("willingly", r"willing(?:ly)?", "being coerced or controlled", _CHOICE, contextual=True),
    Term(
        "absconded",
        r"abscond(?:s|ed|ing|er|ers)?",
        "missing (from care or home)",
        "Frames a missing child as an offender escaping custody.",
        contextual=True,
    ),
    Term(
        "sexting",
        r"sexting",
        "child was exploited to send images; an adult asked the child for images",
        "Frames image-based abuse as the child's activity.",
        contextual=True,
    ),
)


@dataclass(frozen=True)
class TermHit:
    """One occurrence of a term in a text.

    Attributes
    ----------
    term : Term
    start, end : int
        Character offsets of the match.
    matched : str
        The matched text as written.
    line : int
        1-based line number of ``start``.
    context : str
        The match with up to 40 characters either side, whitespace collapsed.
    """

    term: Term
    start: int
    end: int
    matched: str
    line: int
    context: str


@cache
def _compiled(term: Term, *, lowered: bool) -> re.Pattern[str]:
    body = term.pattern.replace(" ", r"[\s-]+")
    if lowered:
        # no look-behind: lets the engine jump between literal prefixes; the left boundary is checked after
        return re.compile(r"(?:" + body + r")(?![\w-])")
    return re.compile(r"(?<![\w-])(?:" + body + r")(?![\w-])", re.IGNORECASE)


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_-"


def find_terms(text: str, *, include_contextual: bool = True) -> list[TermHit]:
    """Find victim-blaming terms in a text.

    Matching is case-insensitive and word-boundary aware: a term never matches inside a longer word or a
    hyphenated compound ("frontrunner", "front-runner", "non-consensual" are not hits), and phrases match
    across line breaks. Where terms overlap ("drug runner" and "runner") only the longest is reported.

    Parameters
    ----------
    text : str
        Any text (page text, a template, a label).
    include_contextual : bool
        Also report terms that are only wrong in some uses (``Term.contextual``); default ``True``.

    Returns
    -------
    list of TermHit
        In text order.
    """
    candidates: list[TermHit] = []
    low = text.lower()
    lowered = len(low) == len(text)  # offsets stay valid (true for all but a few non-ASCII letters)
    haystack = low if lowered else text
    for term in TERMS:
        if term.contextual and not include_contextual:
            continue
        for m in _compiled(term, lowered=lowered).finditer(haystack):
            if lowered and m.start() > 0 and _word_char(text[m.start() - 1]):
                continue
            context = " ".join(text[max(0, m.start() - 40) : m.end() + 40].split())
            line = text.count("\n", 0, m.start()) + 1
            candidates.append(TermHit(term, m.start(), m.end(), text[m.start() : m.end()], line, context))
    candidates.sort(key=lambda h: (h.start, -(h.end - h.start)))
    hits: list[TermHit] = []
    for hit in candidates:
        if hits and hit.start < hits[-1].end:
            continue
        hits.append(hit)
    return hits


def assert_appropriate(text: str, *, where: str) -> None:
    """Raise if a product text holds any term of ``TERMS`` (contextual ones included).

    Parameters
    ----------
    text : str
        Text ctxrisk is about to publish.
    where : str
        What the text is, for the message (e.g. ``"steering map legend"``).

    Raises
    ------
    ValidationError
        Naming each term found, its line and the preferred wording.
    """
    hits = find_terms(text)
    if hits:
        listed = "; ".join(f"{h.matched!r} on line {h.line} (use: {h.term.alternative})" for h in hits[:10])
        msg = f"{where} uses victim-blaming language: {listed}"
        raise ValidationError(msg)
