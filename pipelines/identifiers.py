"""Detect columns that look like direct identifiers of a person (names, dates of birth, NHS numbers, postcodes)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

# Column-name patterns, matched against the name normalised by `normalise_column` (camel case split, lower
# case, every run of separators one "_"): "ChildName", "child-name" and "CHILD NAME" are all "child_name".
_PEOPLE = (
    "first|last|given|family|full|sur|fore|middle|maiden|pref(erred)?|child|person|patient|victim|young_person|"
    "client|pupil|student|subject|suspect|offender|mother|father|parent|carer|guardian|sibling|nick|birth|legal"
)
_NAME_PATTERNS: dict[str, str] = {
    rf"(^|_)({_PEOPLE})_?names?($|_)": "a person's name",
    r"^(name|names|nickname|alias_name)$": "a person's name",
    r"(^|_)(alias(es)?|known_as|aka|also_known_as)($|_)": "a person's name (an alias)",
    r"(^|_)(dob|date_of_birth|dateofbirth|birth_date|birthdate|d_o_b|birth_day|birthday)($|_)": "a full date of birth",
    r"(^|_)nhs(_?(no|num|number))?($|_)": "an NHS number",
    r"(^|_)(chi|upn|ni|nino|national_insurance)(_?(no|num|number))?$": "a national identifier",
    r"(^|_)(post_?code|postal_?code|zip|zip_?code|pcode|p_code|post_?cd)($|_)": "a full postcode",
    r"(^|_)e_?mail(_?address|_?addr)?($|_)": "an e-mail address",
    r"(^|_)(address|addr|street_address|home_address|address_?line_?\d*|addr_?line_?\d*|address_?\d+|addr_?\d+)"
    r"($|_)": "an address",
    r"(^|_)(phone|telephone|mobile|tel|cell|landline)(_?(no|num|number))?($|_)": "a phone number",
}

# Value patterns used by `check_pii` to look inside columns whatever their names.
_POSTCODE = re.compile(r"^\s*([A-Z]{1,2}\d[A-Z\d]?)\s*(\d[A-Z]{2})\s*$", re.IGNORECASE)
_NHS = re.compile(r"^\s*(\d{3})[\s-]?(\d{3})[\s-]?(\d{4})\s*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\s*(\+44\s?7\d{3}|07\d{3})\s?\d{3}\s?\d{3}\s*$")
_FULL_DATE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4})\s*$")


@dataclass(frozen=True)
class IdentifierFinding:
    """One column that looks identifying, and why."""

    column: str
    reason: str
    evidence: str


def normalise_column(column: str) -> str:
    """Return a column name in snake case: camel case split, lower case, separators one ``_``.

    Examples: ``ChildName`` -> ``child_name``, ``NHSNumber`` -> ``nhs_number``, ``Date-Of-Birth`` ->
    ``date_of_birth``, ``  e.mail  `` -> ``e_mail``.
    """
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", column.strip())
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


_normalise = normalise_column


def identifier_reason(column: str) -> str | None:
    """Return why a column name looks like a direct identifier, or None when it does not."""
    name = normalise_column(column)
    for pattern, reason in _NAME_PATTERNS.items():
        if re.search(pattern, name):
            return reason
    return None


def nhs_number_valid(digits: str) -> bool:
    """Return True when ten digits pass the NHS number modulus-11 check."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def _value_reason(values: pd.Series, *, column: str) -> tuple[str, str] | None:
    text = values.dropna().astype(str)
    text = text[text.str.strip() != ""]
    if text.empty:
        return None
    n = len(text)

    def share(mask: pd.Series) -> float:
        return float(mask.sum()) / n

    checks = [
        (text.str.match(_POSTCODE), "values look like full postcodes"),
        (text.str.match(_EMAIL), "values look like e-mail addresses"),
        (text.str.match(_PHONE), "values look like UK mobile phone numbers"),
    ]
    nhs = text.str.match(_NHS) & text.str.replace(r"[\s-]", "", regex=True).map(nhs_number_valid)
    checks.append((nhs, "values are valid NHS numbers (modulus 11)"))
    name = _normalise(column)
    if "birth" in name or "dob" in name:
        checks.append((text.str.match(_FULL_DATE), "values are full dates in a birth column"))
    for mask, reason in checks:
        if share(mask) >= 0.5:
            example_count = int(mask.sum())
            return reason, f"{example_count:,} of {n:,} sampled values"
    return None


def find_identifier_columns(columns: list[str], sample: pd.DataFrame | None = None) -> list[IdentifierFinding]:
    """List columns that look like direct identifiers, by name and (when a sample is given) by value.

    Parameters
    ----------
    columns : list of str
        Column names as found in the file.
    sample : DataFrame or None
        Some rows of the file as strings; columns are also checked by what they hold.
    """
    findings: list[IdentifierFinding] = []
    for column in columns:
        reason = identifier_reason(column)
        if reason is not None:
            findings.append(IdentifierFinding(column, reason, "column name"))
            continue
        if sample is not None and column in sample.columns:
            by_value = _value_reason(sample[column], column=column)
            if by_value is not None:
                findings.append(IdentifierFinding(column, by_value[0], by_value[1]))
    return findings
