"""Detect columns that look like direct identifiers of a person (names, dates of birth, NHS numbers, postcodes)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

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


# Identifiers inside free text: searched anywhere in a value (RE2 syntax, run by Arrow on distinct values), then
# confirmed in Python (an NHS number's check digit, a phone number's length). Numbers must stand apart from
# letters and digits: ten decimal digits inside a pseudonym's hex ("p_0123456789abcdef") are not an NHS
# number. The inward code of a postcode never uses C, I, K, M, O or V.
_POSTCODE_IN = r"(?i)(^|[^A-Za-z0-9])([A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][ABD-HJLNP-UW-Z]{2})($|[^A-Za-z0-9])"
_NHS_IN = r"(^|[^0-9A-Za-z])([0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4})($|[^0-9A-Za-z])"
_EMAIL_IN = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
_PHONE_IN = r"(\+44[ ]?(\(0\)[ ]?)?|(^|[^0-9A-Za-z])0)[0-9]{2,4}[ -]?[0-9]{3,4}[ -]?[0-9]{3,4}($|[^0-9A-Za-z])"
_ANY_IN = "|".join(f"(?:{p.removeprefix('(?i)')})" for p in (_EMAIL_IN, _NHS_IN, _PHONE_IN)) + (
    f"|(?i:{_POSTCODE_IN.removeprefix('(?i)')})"
)
_PHONE_CANDIDATE = re.compile(r"(?:\+44\s?(?:\(0\)\s?)?|(?<![0-9A-Za-z])0)[0-9][0-9 -]{7,13}[0-9](?![0-9A-Za-z])")
_NHS_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])([0-9]{3})[ -]?([0-9]{3})[ -]?([0-9]{4})(?![0-9A-Za-z])")

POSTCODE_REASON = "holds what looks like a full postcode"
NHS_REASON = "holds a valid NHS number (modulus 11)"
EMAIL_REASON = "holds what looks like an e-mail address"
PHONE_REASON = "holds what looks like a UK phone number"


def _phone_confirmed(text: str) -> bool:
    for match in _PHONE_CANDIDATE.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        national = digits[2:] if match.group(0).startswith("+") else digits[1:]
        if national.startswith("0"):
            national = national[1:]
        if len(national) in (9, 10) and national[0] in "1235789":
            return True
    return False


def _nhs_confirmed(text: str) -> bool:
    return any(nhs_number_valid("".join(m.groups())) for m in _NHS_CANDIDATE.finditer(text))


def identifier_in_values(values: list[str | None] | pa.Array) -> list[str | None]:
    """For each text value, why it holds a direct identifier (full postcode, NHS number, e-mail, phone), else None.

    The values are searched by Arrow's RE2 kernels in one pass per pattern; only the few candidates are
    confirmed in Python (an NHS number must pass the modulus-11 check, a phone number must have a UK number's
    length). Call it on a column's distinct values: a category column of a million rows has a few dozen.

    Parameters
    ----------
    values : list of str or None, or pyarrow.Array of strings
        Text values; None and blanks hold nothing.

    Returns
    -------
    list of str or None
        One of :data:`POSTCODE_REASON`, :data:`NHS_REASON`, :data:`EMAIL_REASON`, :data:`PHONE_REASON`, or
        None, per value.
    """
    import pyarrow.compute as pc

    array = values if isinstance(values, pa.Array) else pa.array(values, type=pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    out: list[str | None] = [None] * len(array)
    # One pass for every pattern at once finds the few candidates; each pattern then runs on those only.
    candidates = pc.fill_null(pc.match_substring_regex(array, _ANY_IN), False).to_numpy(zero_copy_only=False)
    positions = candidates.nonzero()[0]
    if not len(positions):
        return out
    subset = array.take(pa.array(positions, type=pa.int64()))
    checks = [
        (_EMAIL_IN, EMAIL_REASON, None),
        (_POSTCODE_IN, POSTCODE_REASON, None),
        (_NHS_IN, NHS_REASON, _nhs_confirmed),
        (_PHONE_IN, PHONE_REASON, _phone_confirmed),
    ]
    for pattern, reason, confirm in checks:
        hits = pc.fill_null(pc.match_substring_regex(subset, pattern), False).to_numpy(zero_copy_only=False)
        for j in hits.nonzero()[0]:
            i = int(positions[j])
            if out[i] is None and (confirm is None or confirm(str(subset[int(j)].as_py()))):
                out[i] = reason
    return out


def header_looks_like_data(header: list[str]) -> bool:
    """True when a "header" holds values rather than names (dates, numbers, postcodes, e-mails, NHS numbers …).

    A file exported without its header line has its first record read as the header; messages then must not
    quote it.
    """
    number = re.compile(r"^\s*[-+]?\d+([.,:/-]\d+)*\s*$")
    if any(number.match(h) or _FULL_DATE.match(h) for h in header):
        return True
    return any(reason is not None for reason in identifier_in_values(list(header)))


def header_text(header: list[str]) -> str:
    """The header's names for a message, or a count when the "header" is a record (then nothing is quoted)."""
    if header_looks_like_data(header):
        return (
            f"{len(header):,} value(s) that look like a record, not column names (not quoted: is the file's "
            "header line missing?)"
        )
    return ", ".join(_printable(h) for h in header)


def column_label(column: str, header: list[str]) -> str:
    """``column 'name'`` for a message, or ``column N`` when the header is a record (see :func:`header_text`)."""
    if header_looks_like_data(header):
        return f"column {header.index(column) + 1}" if column in header else "a column"
    return f"column {_printable(column)!r}"


def _printable(text: str) -> str:
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
