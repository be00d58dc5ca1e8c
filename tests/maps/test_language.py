"""Tests for ctxrisk.maps.language: victim-blaming terms are found with context, word-boundary aware."""

from __future__ import annotations

import pytest

from ctxrisk.maps.language import TERMS, assert_appropriate, find_terms
from ctxrisk.pipelines.errors import ValidationError


def _found(text: str, **kwargs) -> list[tuple[str, str]]:
    return [(h.term.phrase, h.matched) for h in find_terms(text, **kwargs)]


def test_brief_terms_are_all_listed():
    phrases = {t.phrase for t in TERMS}
    for required in [
        "child prostitute",
        "prostitute",
        "drug runner",
        "putting themselves at risk",
        "consenting",
        "consensual",
        "promiscuous",
        "risk-taking behaviour",
        "lifestyle choice",
        "sexually active",
        "boyfriend",
        "runner",
        "mule",
        "recruit",
    ]:
        assert required in phrases
    assert all(t.alternative and t.reason for t in TERMS)


def test_longest_overlapping_term_wins_and_offsets_are_exact():
    text = "A child prostitute and a drug runner."
    hits = find_terms(text)
    assert [(h.term.phrase, h.start, h.end) for h in hits] == [("child prostitute", 2, 18), ("drug runner", 25, 36)]
    assert text[hits[1].start : hits[1].end] == "drug runner"


def test_phrases_match_across_line_breaks_and_case():
    text = "She is PUTTING\n   themselves at risk.\nHe put himself in danger."
    hits = find_terms(text)
    assert [(h.term.phrase, h.line) for h in hits] == [
        ("putting themselves at risk", 1),
        ("putting themselves at risk", 3),
    ]
    assert hits[0].context == "She is PUTTING themselves at risk. He put himself in danger."


def test_word_boundaries():
    assert _found("frontrunner, front-runner, non-consensual, muleteer, Prostitution Act") == [
        ("prostitute", "Prostitution")
    ]
    assert _found("county lines runners; a drug-mule; money mules") == [
        ("runner", "runners"),
        ("drug mule", "drug-mule"),
        ("drug mule", "money mules"),
    ]


def test_contextual_terms_can_be_left_out():
    text = "Her boyfriend recruited her; consensual."
    assert _found(text) == [("boyfriend", "boyfriend"), ("recruit", "recruited"), ("consensual", "consensual")]
    assert _found(text, include_contextual=False) == [("consensual", "consensual")]
    assert all(h.term.contextual for h in find_terms(text)[:2])


@pytest.mark.parametrize(
    "text",
    [
        "risk-taking behaviour",
        "risk taking",
        "risky behaviours",
        "a lifestyle choice",
        "chose this lifestyle",
        "sexually active",
        "promiscuity",
        "rent boy",
        "sex for drugs",
        "absconded from care",
        "sexting",
    ],
)
def test_each_form_is_found(text):
    assert len(find_terms(text)) == 1


def test_safe_product_text_has_no_hits():
    text = (
        "Locations of concern for child criminal exploitation and county lines. "
        "Children at risk of exploitation; adults who exploit them. Missing episodes, return home interviews. "
        "Hot spot (99% confidence). Emerging hot spot: intensifying."
    )
    assert find_terms(text) == []
    assert_appropriate(text, where="legend")


def test_assert_appropriate_names_term_line_and_alternative():
    with pytest.raises(
        ValidationError,
        match=r"map popup uses victim-blaming language: 'drug runner' on line 2 "
        r"\(use: child who is being criminally exploited\)",
    ):
        assert_appropriate("ok\nknown drug runner", where="map popup")


def test_non_ascii_text_whose_lower_case_changes_length_still_matches():
    text = "İstanbul report: a drug runner"  # "İ".lower() is two characters
    assert [(h.term.phrase, h.start) for h in find_terms(text)] == [("drug runner", 19)]
