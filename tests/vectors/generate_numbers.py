#!/usr/bin/env python3
"""Write tests/vectors/numbers.json: phone-number vectors from the reference oracle.

The library's rule is that validity, region and type of a phone number are what
Google's libphonenumber says. The Rust phone library it uses embeds libphonenumber
metadata 9.0.42; the oracle here is the Python port of libphonenumber with the same
metadata, the PyPI package ``phonenumbers`` at exactly version 9.0.42. Every
expectation in numbers.json is what that package answers; nothing is written by hand
except the inputs of ``cases_of_interest``.

How to run it (from the repository root), in a throwaway virtual environment:

    venv="$(mktemp -d)/venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install phonenumbers==9.0.42
    "$venv/bin/python" tests/vectors/generate_numbers.py

It refuses to run with any other ``phonenumbers`` version. The output is
deterministic (fixed seed, sorted regions and types, sorted keys), so a rerun writes
a byte-identical file; ``--check`` compares instead of writing and exits 1 on a
difference. ``--output PATH`` writes elsewhere.

File layout: a JSON object with keys ``about``, ``cases_of_interest``, ``examples``,
``metadata_version``, ``random``, ``seed``; each of the three sections is a list of
case objects, one per line. Every case has the same fields:

    input         string       what was typed
    region_given  string|null  the default region passed to parse (null: none)
    parsed        bool         false when phonenumbers.parse raised
    parse_error   string|null  the parse error's kind (informative only)
    valid         bool|null    is_valid_number (null when not parsed)
    e164          string|null  format_number(E164) (null when not parsed)
    region        string|null  region_code_for_number: "001" for a
                               non-geographic entity, null when none
    type          string|null  number_type in snake_case (null when not parsed)

``examples`` cases also have ``example_region`` (the region asked, "001" for a
non-geographic calling code) and ``example_of`` (the type asked); ``cases_of_interest``
cases have a ``note``. Read the expectations as libphonenumber's answers, not as
common sense: ``region`` is often set for an invalid number (a calling code with one
region), ``e164`` is written for every parsed number, valid or not, and an example's
``region`` need not be its ``example_region`` (shared calling codes such as +1, +7,
+44, +590).

Sections:

- ``examples``: for each supported region (sorted) and each example type (fixed line,
  mobile, toll free, premium rate, shared cost, VoIP, personal number, pager, UAN,
  voicemail) that has an example, one case with the example's E.164 text; then for
  each non-geographic calling code (sorted), one case per type its metadata gives an
  example for (example_number_for_non_geo_entity's number is always one of them).
- ``random``: 2,000 international inputs ('+', a calling code, digits near the usual
  lengths, some with a default region that parse ignores, a few with an unassigned
  calling code or far too few digits) and 2,000 national inputs with ``region_given``
  (with or without the national prefix, some through the region's international
  prefix). About half are example numbers with their last digits redrawn. Only inputs
  with 3 to 17 digits, in characters a phone field holds: digits, a leading '+',
  space, '-', '(', ')', '.', '/'.
- ``cases_of_interest``: hand-picked inputs (premium and toll-free ranges, satellite
  and other non-geographic networks, UK drama ranges, the NANP 555-01xx range).
"""

import argparse
import json
import random
import sys
from pathlib import Path

try:
    import phonenumbers
except ImportError:
    sys.exit("the phonenumbers package is missing: pip install phonenumbers==9.0.42 (see the docstring)")
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat, PhoneNumberType

METADATA_VERSION = "9.0.42"
SEED = 20250942
RANDOM_INTERNATIONAL = 2000
RANDOM_NATIONAL = 2000
NON_GEO = "001"

if phonenumbers.__version__ != METADATA_VERSION:
    sys.exit(
        f"phonenumbers {phonenumbers.__version__} is installed; these vectors need exactly "
        f"phonenumbers=={METADATA_VERSION} (pip install phonenumbers=={METADATA_VERSION})"
    )

TYPE_NAMES = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
    PhoneNumberType.UNKNOWN: "unknown",
}

# The types an example can be asked for, in this order, with the metadata field of each.
EXAMPLE_TYPES = [
    (PhoneNumberType.FIXED_LINE, "fixed_line"),
    (PhoneNumberType.MOBILE, "mobile"),
    (PhoneNumberType.TOLL_FREE, "toll_free"),
    (PhoneNumberType.PREMIUM_RATE, "premium_rate"),
    (PhoneNumberType.SHARED_COST, "shared_cost"),
    (PhoneNumberType.VOIP, "voip"),
    (PhoneNumberType.PERSONAL_NUMBER, "personal_number"),
    (PhoneNumberType.PAGER, "pager"),
    (PhoneNumberType.UAN, "uan"),
    (PhoneNumberType.VOICEMAIL, "voicemail"),
]

PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "invalid_country_code",
    NumberParseException.NOT_A_NUMBER: "not_a_number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too_short_after_idd",
    NumberParseException.TOO_SHORT_NSN: "too_short_nsn",
    NumberParseException.TOO_LONG: "too_long",
}

PHONE_FIELD_CHARS = set("0123456789+ -()./")

ABOUT = (
    "Phone-number vectors: what Google's libphonenumber (metadata 9.0.42, via its Python "
    "port phonenumbers==9.0.42) says about each input: whether parse succeeds, "
    "is_valid_number, the E.164 form, region_code_for_number (\"001\" for non-geographic "
    "entities) and number_type. 'examples' holds every example number per region and type "
    "and per non-geographic calling code, 'random' seeded random inputs as people type them "
    "(international, and national with region_given), 'cases_of_interest' hand-picked inputs. "
    "Generated by tests/vectors/generate_numbers.py (its docstring says how to rerun it); "
    "do not edit by hand."
)


def digit_count(text):
    return sum(ch.isdigit() for ch in text)


def oracle(text, region_given):
    """What libphonenumber says about one input."""
    case = {"input": text, "region_given": region_given}
    try:
        number = phonenumbers.parse(text, region_given)
    except NumberParseException as err:
        case.update(parsed=False, parse_error=PARSE_ERRORS[err.error_type],
                    valid=None, e164=None, region=None, type=None)
        return case
    case.update(
        parsed=True,
        parse_error=None,
        valid=phonenumbers.is_valid_number(number),
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        region=phonenumbers.region_code_for_number(number),
        type=TYPE_NAMES[phonenumbers.number_type(number)],
    )
    return case


def e164_of(number):
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def metadata_for(entity):
    """Metadata of a region code, or of a non-geographic calling code (an int)."""
    if isinstance(entity, int):
        return PhoneMetadata.metadata_for_nongeo_region(entity)
    return PhoneMetadata.metadata_for_region(entity)


def calling_code_of(entity):
    if isinstance(entity, int):
        return entity
    return phonenumbers.country_code_for_region(entity)


def example_numbers(entity):
    """[(type, PhoneNumber)] of every example an entity has, in EXAMPLE_TYPES order."""
    found = []
    for number_type, field in EXAMPLE_TYPES:
        if isinstance(entity, int):
            desc = getattr(metadata_for(entity), field)
            if desc is None or not desc.example_number:
                continue
            number = phonenumbers.parse(f"+{entity}{desc.example_number}", None)
        else:
            number = phonenumbers.example_number_for_type(entity, number_type)
            if number is None:
                continue
        found.append((number_type, number))
    return found


# ---------------------------------------------------------------- examples


def build_examples(regions, non_geo_codes):
    cases = []
    missing = []
    for region in regions:
        found = example_numbers(region)
        if not found:
            missing.append(region)
        for number_type, number in found:
            case = oracle(e164_of(number), None)
            case.update(example_region=region, example_of=TYPE_NAMES[number_type])
            cases.append(case)
    for code in non_geo_codes:
        found = example_numbers(code)
        entity_example = phonenumbers.example_number_for_non_geo_entity(code)
        if entity_example is None or all(n != entity_example for _, n in found):
            raise SystemExit(f"example_number_for_non_geo_entity({code}) is not among its typed examples")
        for number_type, number in found:
            case = oracle(e164_of(number), None)
            case.update(example_region=NON_GEO, example_of=TYPE_NAMES[number_type])
            cases.append(case)
    return cases, missing


# ---------------------------------------------------------------- random


def random_digits(rng, count, first_nonzero=False):
    out = []
    for i in range(count):
        low = 1 if (first_nonzero and i == 0) else 0
        out.append(str(rng.randrange(low, 10)))
    return "".join(out)


def change_last_digits(rng, nsn):
    """The national significant number with its last 1 to 3 digits redrawn."""
    keep = max(1, len(nsn) - rng.choice([1, 1, 2, 2, 3]))
    return nsn[:keep] + random_digits(rng, len(nsn) - keep)


def group_digits(rng, digits):
    """Split digits into groups of 2 to 4 with one separator, as people type them."""
    sep = rng.choice([" ", " ", " ", "-", "-", ".", "/"])
    groups = []
    i = 0
    while i < len(digits):
        size = rng.choice([2, 3, 3, 4])
        groups.append(digits[i:i + size])
        i += size
    if len(groups) > 1 and rng.randrange(4) == 0:
        groups[0] = f"({groups[0]})"
        return groups[0] + " " + sep.join(groups[1:])
    return sep.join(groups)


def lengths_of(entity):
    desc = metadata_for(entity).general_desc
    lengths = sorted(set(desc.possible_length)) or [8]
    return [n for n in lengths if n > 0] or [8]


def international_prefix_of(region):
    md = metadata_for(region)
    for prefix in (md.preferred_international_prefix, md.international_prefix):
        if prefix:
            prefix = prefix.replace("~", "")
            if prefix.isdigit():
                return prefix
    return None


def formatted(code, nsn, number_format):
    """phonenumbers' own formatting of +code nsn, or None when it is no phone-field text."""
    try:
        number = phonenumbers.parse(f"+{code}{nsn}", None)
    except NumberParseException:
        return None
    text = phonenumbers.format_number(number, number_format)
    return text if set(text) <= PHONE_FIELD_CHARS else None


def typed_international(rng, code, nsn):
    """'+' code nsn in one of the ways people type it."""
    style = rng.randrange(10)
    if style < 3:
        return f"+{code}{nsn}"
    if style < 5:
        return formatted(code, nsn, PhoneNumberFormat.INTERNATIONAL) or f"+{code} {nsn}"
    if style < 6:
        return f"+{code} ({nsn[:3]}) {nsn[3:]}" if len(nsn) > 4 else f"+{code} {nsn}"
    return f"+{code} " + group_digits(rng, nsn)


def typed_national(rng, region, nsn):
    """nsn as typed inside the region: with or without the national prefix, grouped or not."""
    md = metadata_for(region)
    prefix = md.national_prefix or ""
    style = rng.randrange(10)
    if style < 3:
        text = formatted(calling_code_of(region), nsn, PhoneNumberFormat.NATIONAL)
        if text and "+" not in text:
            return text
        return prefix + nsn
    if style < 5:
        return prefix + nsn
    if style < 7:
        return nsn
    if style < 9:
        return (prefix + " " if prefix else "") + group_digits(rng, nsn)
    idd = international_prefix_of(region)
    code = rng.choice(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE))
    if idd is None:
        return prefix + nsn
    # Dialled from the region through its international prefix (to a random calling code).
    return f"{idd} {code} {nsn}"


def random_nsn(rng, entity):
    """A national significant number for the entity: mostly near-valid, some random, some off-length."""
    kind = rng.randrange(20)
    examples = example_numbers(entity)
    if kind < 11 and examples:
        _, number = rng.choice(examples)
        return change_last_digits(rng, phonenumbers.national_significant_number(number))
    lengths = lengths_of(entity)
    length = rng.choice(lengths)
    if kind >= 17:
        length += rng.choice([-3, -2, -1, 1, 2, 3])
    length = max(1, length)
    return random_digits(rng, length, first_nonzero=rng.randrange(4) != 0)


def build_random(rng, regions, non_geo_codes, seen):
    cases = []
    entities = list(regions) + list(non_geo_codes)

    def add(text, region_given):
        if not set(text) <= PHONE_FIELD_CHARS or "+" in text[1:]:
            raise SystemExit(f"bad characters in generated input {text!r}")
        if not 3 <= digit_count(text) <= 17:
            return False
        key = (text, region_given)
        if key in seen:
            return False
        seen.add(key)
        cases.append(oracle(text, region_given))
        return True

    assigned = set(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    unassigned = [code for code in range(1, 1000) if code not in assigned]

    made = 0
    while made < RANDOM_INTERNATIONAL:
        entity = rng.choice(entities)
        code = calling_code_of(entity)
        nsn = random_nsn(rng, entity)
        broken = rng.randrange(14)
        if broken == 0:
            # A calling code nobody has (the digits after it may still form one).
            code = rng.choice(unassigned)
        elif broken == 1:
            code = 0
        elif broken == 2:
            nsn = nsn[: rng.randrange(1, 3)]
        text = typed_international(rng, code, nsn)
        # An international input sometimes comes with a default region, which parse ignores.
        region_given = rng.choice(regions) if rng.randrange(8) == 0 else None
        if add(text, region_given):
            made += 1

    made = 0
    while made < RANDOM_NATIONAL:
        region = rng.choice(regions)
        nsn = random_nsn(rng, region)
        broken = rng.randrange(16)
        if broken == 0 and international_prefix_of(region):
            # The international prefix and hardly anything after it.
            text = f"{international_prefix_of(region)} {random_digits(rng, rng.randrange(1, 4))}"
        elif broken == 1:
            # The national prefix (when there is one) and one or two digits.
            prefix = metadata_for(region).national_prefix or ""
            text = (prefix + " " if prefix else "") + random_digits(rng, rng.randrange(1, 3))
        else:
            text = typed_national(rng, region, nsn)
        if add(text, region):
            made += 1
    return cases


# ---------------------------------------------------------------- cases of interest

CASES_OF_INTEREST = [
    ("+227 09 12 34 56", None, "Niger premium rate (09)"),
    ("+227 08 12 34 56", None, "Niger toll free (08)"),
    ("+227 20 20 12 34", None, "Niger landline"),
    ("+39 0878 123 45", None, "Italian premium rate (0878)"),
    ("+39 06 1234 5678", None, "Italian landline (Rome), leading zero kept"),
    ("06 1234 5678", "IT", "Italian landline typed nationally"),
    ("+39 6 1234 5678", None, "Italian landline without its leading zero"),
    ("+39 312 345 6789", None, "Italian mobile"),
    ("+39 899 123456", None, "Italian premium rate (899)"),
    ("+7 800 555 35 35", None, "Russian toll free"),
    ("8 800 555 35 35", "RU", "Russian toll free, national prefix 8"),
    ("8 (800) 555-35-35", "RU", "Russian toll free as usually written"),
    ("+7 809 123 45 67", None, "Russian premium rate"),
    ("+7 495 123 45 67", None, "Moscow landline"),
    ("+7 7172 123456", None, "Kazakhstan landline under +7"),
    ("+375 801 123 4567", None, "Belarus toll free (example number)"),
    ("8 801 123 4567", "BY", "Belarus toll free, national prefix 8"),
    ("+375 902 123 4567", None, "Belarus premium rate"),
    ("+370 800 12345", None, "Lithuania toll free (example number)"),
    ("8 800 12345", "LT", "Lithuania toll free, national prefix 8"),
    ("+370 900 12345", None, "Lithuania premium rate"),
    ("+881 612345678", None, "Global Mobile Satellite System (+881 6...)"),
    ("+881 6123456789", None, "Global Mobile Satellite System, 10 digits"),
    ("+882 3421234", None, "International Networks (+882 34...)"),
    ("+882 34851234567", None, "International Networks voicemail"),
    ("+870 771234567", None, "Inmarsat (+870 77...)"),
    ("+870 301234567", None, "Inmarsat example"),
    ("+883 510012345", None, "International Networks (+883 510...)"),
    ("+979 123456789", None, "International premium rate service"),
    ("+808 12345678", None, "International shared cost service"),
    ("+800 12345678", None, "International freephone"),
    ("+878 101234567890", None, "Universal personal telecommunications"),
    ("+888 12345678901", None, "OCHA humanitarian"),
    ("+44 20 7946 0000", None, "UK London drama range style"),
    ("+44 20 7946 0999", None, "UK London drama range style"),
    ("+44 (0)20 7946 0000", None, "UK with (0) after the calling code"),
    ("020 7946 0000", "GB", "UK London typed nationally"),
    ("+44 191 498 0000", None, "UK Tyneside drama range"),
    ("+44 1632 960000", None, "UK fictional 01632 range"),
    ("+44 7700 900123", None, "UK mobile drama range"),
    ("07700 900123", "GB", "UK mobile drama range typed nationally"),
    ("+44 7700 900000", None, "UK mobile drama range start"),
    ("+44 7911 123456", None, "mobile under +44 (the request vectors use it)"),
    ("+1 201 555 0100", None, "NANP fictional 555-01xx (fake portal magic number)"),
    ("+1 201 555 0101", None, "NANP fictional 555-01xx (fake portal magic number)"),
    ("+1 201 555 0102", None, "NANP fictional 555-01xx (fake portal magic number)"),
    ("+1 201 555 0103", None, "NANP fictional 555-01xx (fake portal magic number)"),
    ("+1 201 555 0104", None, "NANP fictional 555-01xx (fake portal magic number)"),
    ("+1 201 555 0105", None, "NANP fictional 555-01xx (fake portal magic number)"),
    ("+1 201 555 0106", None, "NANP fictional 555-01xx (fake portal magic number)"),
    ("+1 201 555 0107", None, "NANP fictional 555-01xx (fake portal magic number)"),
    ("+1 201 555 0108", None, "NANP fictional 555-01xx (fake portal magic number)"),
    ("+1 201 555 0109", None, "NANP fictional 555-01xx (fake portal magic number)"),
    ("+1 201 555 0110", None, "NANP just past the magic numbers"),
    ("(201) 555-0100", "US", "NANP magic number typed nationally"),
    ("1 201 555 0100", "US", "NANP magic number with the national prefix 1"),
    ("+1 (201) 555-0100", None, "NANP with parentheses"),
    ("+1.201.555.0100", None, "NANP with dots"),
    ("+1/201/555/0100", None, "NANP with slashes"),
    ("+1 202 555 0123", None, "NANP 555 number"),
    ("+1 800 555 0100", None, "NANP toll free"),
    ("+1 900 555 0100", None, "NANP premium rate"),
    ("+44 20 7946 0000", "DE", "international input with an unrelated default region"),
    ("00 44 20 7946 0000", "DE", "dialled from Germany with its international prefix"),
    ("8 10 44 20 7946 0000", "RU", "dialled from Russia with 8~10"),
    ("011 44 20 7946 0000", "US", "dialled from the US with 011"),
    ("+262 269 61 23 45", None, "+262 number that belongs to Mayotte"),
    ("+590 590 27 12 34", None, "+590 number libphonenumber gives to Saint Barthelemy"),
    ("+47 79 12 34 56", None, "+47 number that belongs to Svalbard"),
    ("+358 18 123456", None, "+358 number that belongs to Aland"),
    ("+61 491 570 156", None, "Australian fictional mobile range"),
    ("+999 123456", None, "unassigned calling code"),
    ("+0 123456", None, "calling code 0"),
    ("123", "US", "three digits"),
    ("+1 201 555 01000", None, "NANP one digit too long"),
    ("+1 201 555 010", None, "NANP one digit short"),
]


def build_cases_of_interest(seen):
    cases = []
    for text, region_given, note in CASES_OF_INTEREST:
        key = (text, region_given)
        if key in seen:
            raise SystemExit(f"duplicate case of interest {key}")
        seen.add(key)
        case = oracle(text, region_given)
        case["note"] = note
        cases.append(case)
    return cases


# ---------------------------------------------------------------- output


def dump_case(case):
    return json.dumps(case, sort_keys=True, ensure_ascii=True, separators=(", ", ": "))


def render(document):
    lines = ["{"]
    keys = sorted(document)
    for i, key in enumerate(keys):
        comma = "," if i + 1 < len(keys) else ""
        value = document[key]
        if isinstance(value, list):
            lines.append(f"  {json.dumps(key)}: [")
            for j, case in enumerate(value):
                lines.append("    " + dump_case(case) + ("," if j + 1 < len(value) else ""))
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=True)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def build():
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    non_geo_codes = sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)
    examples, missing = build_examples(regions, non_geo_codes)
    seen = set()
    interest = build_cases_of_interest(seen)
    rng = random.Random(SEED)
    randoms = build_random(rng, regions, non_geo_codes, seen)
    document = {
        "about": ABOUT,
        "metadata_version": METADATA_VERSION,
        "seed": SEED,
        "examples": examples,
        "random": randoms,
        "cases_of_interest": interest,
    }
    text = render(document)
    if json.loads(text) != document:
        raise SystemExit("rendered JSON does not read back as the document")
    return text, missing


def main():
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=here / "numbers.json")
    parser.add_argument("--check", action="store_true", help="compare with the file instead of writing it")
    args = parser.parse_args()
    text, missing = build()
    if missing:
        print("regions without any example number: " + " ".join(missing), file=sys.stderr)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != text:
            print(f"{args.output} is not what the generator writes", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text.encode('utf-8'))} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
