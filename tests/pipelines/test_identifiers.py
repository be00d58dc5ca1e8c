"""Tests for ctxrisk.pipelines.identifiers: direct identifiers found by column name and by value."""

import pandas as pd
import pytest

from ctxrisk.pipelines.identifiers import find_identifier_columns, identifier_reason, nhs_number_valid


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
        ("person_id", None),
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
