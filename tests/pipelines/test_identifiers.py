"""Tests for ctxrisk.pipelines.identifiers: direct identifiers found by column name and by value."""

import pandas as pd
import pytest

from ctxrisk.pipelines.identifiers import (
    find_identifier_columns,
    identifier_reason,
    nhs_number_valid,
    normalise_column,
)


@pytest.mark.parametrize(
    ("column", "reason"),
    [
        ("forename", "a person's name"),
        ("Last Name", "a person's name"),
        ("child_name", "a person's name"),
        ("date_of_birth", "a full date of birth"),
        ("NHSNumber", "an NHS number"),
        ("nhs_no", "an NHS number"),
        ("postcode", "a full postcode"),
        ("email_address", "an e-mail address"),
        ("mobile", "a phone number"),
        ("ChildName", "a person's name"),
        ("DateOfBirth", "a full date of birth"),
        ("patient_name", "a person's name"),
        ("victim_name", "a person's name"),
        ("young_person_name", "a person's name"),
        ("YoungPersonName", "a person's name"),
        ("address1", "an address"),
        ("Address Line 2", "an address"),
        ("addr", "an address"),
        ("zipcode", "a full postcode"),
        ("pcode", "a full postcode"),
        ("emailaddress", "an e-mail address"),
        ("EmailAddress", "an e-mail address"),
        ("alias", "a person's name (an alias)"),
        ("known_as", "a person's name (an alias)"),
        ("KnownAs", "a person's name (an alias)"),
        ("person_id", None),
        ("ward_name", None),
        ("street_name", None),
        ("location_type", None),
        ("birth_year_month", None),
        ("category", None),
    ],
)
def test_names(column, reason):
    assert identifier_reason(column) == reason


def test_nhs_checksum():
    assert nhs_number_valid("9434765919")
    assert not nhs_number_valid("9434765918")
    assert not nhs_number_valid("12345")


def test_values_found_whatever_the_column_name():
    sample = pd.DataFrame(
        {
            "ref_code": ["943 476 5919", "943-476-5919"],
            "contact": ["a@b.org", "c@d.co.uk"],
            "category": ["Drug supply", "CSE"],
            "where": ["CW1 2AB", "SK11 6DS"],
        }
    )
    found = {f.column: f.reason for f in find_identifier_columns(list(sample.columns), sample)}
    assert found == {
        "ref_code": "values are valid NHS numbers (modulus 11)",
        "contact": "values look like e-mail addresses",
        "where": "values look like full postcodes",
    }


@pytest.mark.parametrize(
    ("column", "normalised"),
    [
        ("ChildName", "child_name"),
        ("NHSNumber", "nhs_number"),
        ("Date-Of-Birth", "date_of_birth"),
        (" e.mail ", "e_mail"),
    ],
)
def test_column_names_are_normalised_before_matching(column, normalised):
    assert normalise_column(column) == normalised


def test_every_canonical_column_name_is_not_an_identifier():
    from ctxrisk.pipelines.kinds import KINDS

    assert [c.name for k in KINDS.values() for c in k.columns if identifier_reason(c.name)] == []
