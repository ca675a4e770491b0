"""The PII scrubber: what it removes (per kind, several formats), what it must keep."""

from __future__ import annotations

import random

import pytest

from resources.security.pii import PLACEHOLDERS, PiiScrubber, visible_text


@pytest.fixture(scope="module")
def scrubber() -> PiiScrubber:
    return PiiScrubber()


REMOVED = [
    # phone numbers: international, domestic with separators, labelled bare digits
    ("Call me at +1 (415) 555-2671 tomorrow", "Call me at [phone] tomorrow"),
    ("ring 020 7946 0958 after lunch", "ring [phone] after lunch"),
    ("Ruf an: 030 12345678", "Ruf an: [phone]"),
    ("portable 06 12 34 56 78", "portable [phone]"),
    ("+49 30 1234567", "[phone]"),
    ("0049 30 1234567 is the office", "[phone] is the office"),
    ("US office 415-555-2671 or 415.555.2671", "US office [phone] or [phone]"),
    ("mobile +91 98765 43210", "mobile [phone]"),
    ("call 5551234567 now", "call [phone] now"),
    ("ticket 12 020 7946 0958", "ticket 12 [phone]"),
    ("call (11) 91234-5678", "call [phone]"),
    ("cell 347 123 4567", "cell [phone]"),
    ("móvil 612 34 56 78", "móvil [phone]"),
    ("AU 0412 345 678", "AU [phone]"),
    ("NL 06-12345678", "NL [phone]"),
    ("dial 1-415-555-2671", "dial [phone]"),
    # IP addresses, v4 and v6, also inside URLs
    ("server 10.0.0.1:8080 is down", "server [ip]:8080 is down"),
    ("from 192.168.1.254.", "from [ip]."),
    ("http://10.0.0.1/admin", "http://[ip]/admin"),
    ("fe80::1%eth0 and 2001:db8::8a2e:370:7334, ok", "[ip] and [ip], ok"),
    ("loopback ::1 only", "loopback [ip] only"),
    ("Bump lib from 1.2.3.4 to 1.2.3.5", "Bump lib from [ip] to [ip]"),
    # card numbers (Luhn-valid, known issuer prefixes)
    ("card 4111 1111 1111 1111 ok", "card [card] ok"),
    ("amex 3782-822463-10005", "amex [card]"),
    ("mc 5555555555554444", "mc [card]"),
    ("https://pay.example.test/?card=4111111111111111", "https://pay.example.test/?card=[card]"),
    # IBANs
    ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN [iban] please"),
    ("pay to GB82WEST12345698765432", "pay to [iban]"),
    ("NL91 ABNA 0417 1643 00", "[iban]"),
    ("DE89 3704 0044 0532 0130 00 GB82 WEST 1234 5698 7654 32 x", "[iban] [iban] x"),
    # national identification numbers
    ("SSN 536-90-4399", "SSN [national-id]"),
    ("my ssn: 536904399", "my ssn: [national-id]"),
    ("NINO AB 12 34 56 C", "NINO [national-id]"),
    ("ni AB123456C", "ni [national-id]"),
    ("DNI 54362315K", "DNI [national-id]"),
    ("NIE X2482300W", "NIE [national-id]"),
    ("NIR 2 95 10 99 126 111 93", "NIR [national-id]"),
    ("CF RCCMNL83S18D969H", "CF [national-id]"),
    ("CPF 390.533.447-05", "CPF [national-id]"),
    ("Aadhaar 2341 2341 2346", "Aadhaar [national-id]"),
    ("my BSN is 111222333", "my BSN is [national-id]"),
    ("Steuer-ID: 36574261809", "Steuer-ID: [national-id]"),
    # passports and driver's licences, when labelled
    ("passport no. X1234567", "passport no. [passport]"),
    ("Passport number: 533380006", "Passport number: [passport]"),
    ("Driver's license: D1234-5678-9012", "Driver's license: [driver-licence]"),
    ("driving licence MORGA657054SM9IJ", "driving licence [driver-licence]"),
    # dates of birth
    ("born on 17 May 1990", "born on [dob]"),
    ("DOB: 05/17/1990", "DOB: [dob]"),
    ("date of birth 1990-05-17", "date of birth [dob]"),
    ("birthday is May 17th", "birthday is [dob]"),
    ("born in 1985", "born in [dob]"),
    ("d.o.b. 17.05.1990", "d.o.b. [dob]"),
    ("geboren am 17. Mai 1990", "geboren am [dob]"),
    # street addresses
    ("I live at 221B Baker Street, London", "I live at [address], London"),
    ("1600 Pennsylvania Avenue NW", "[address] NW"),
    ("ship to 42 Wallaby Way, Apt 3", "ship to [address]"),
    ("Hauptstraße 5, Berlin", "[address], Berlin"),
    ("Berliner Str. 12a", "[address]"),
    ("12 rue de la Paix", "[address]"),
    ("Calle Mayor 5", "[address]"),
    ("PO Box 1234", "[address]"),
    ("label for 302 Larkspur Lane, Springfield, IL 62704", "label for [address]"),
    ("Ship to 221B Baker Street, London NW1 6XE today", "Ship to [address] today"),
    ("office: Portland, OR 97201-1234", "office: [address]"),
]


@pytest.mark.parametrize(("text", "expected"), REMOVED)
def test_removes_forbidden_pii(scrubber: PiiScrubber, text: str, expected: str) -> None:
    assert scrubber.scrub(text) == expected


KEPT = [
    "Fix flaky login test",
    "ABC-123 fix login for 1.2.3",
    "PROJ-98765: retry uploads",
    "Release v1.2.3.4",
    "version 1.2.3.4",
    "Bump lodash from 4.17.20 to 4.17.21",
    "sha 3e8169c0a98ce1e2c6a32ae1256ae0f735065df5",
    "merged a1b2c3d into main",
    "PR #1234567",
    "Merge pull request #4521 from acme/feature",
    "run 3881497935 failed",
    "epoch 1704450600 and 1704450600123",
    "ts 1512085950.000216",
    "on 2024-01-05T10:30:00Z",
    "Released 2024-01-05 with 3 fixes",
    "between 12/05/2024 and 2024-06-01 10:30",
    "deploy #4567 to prod at 14:05 UTC",
    "standup at 10:30:45",
    "costs $1,234,567.89",
    "budget 1 000 000 EUR",
    "card ending 4242",
    "4111-1111-1111-1112",
    "email me john.5551234567@example.com or @jdoe",
    "<@U024BE7LH> please review",
    "see https://x.slack.com/archives/C1/p1512085950000216",
    "https://github.com/o/r/actions/runs/3881497935 and https://example.com/?q=4155552671",
    "std::vector Abc::Def",
    "Spring 2024 release",
    "Sprint 42 (Jan 8 - Jan 19)",
    "Q3 2024: 12 stories, 34 pts",
    "Fix 2 bugs in Main Street parser",
    "increase timeout to 30000 ms",
    "id 2345678901",
    "MIT License 2.0",
    "born to run",
    "run as UID 1000",
    "DL 2 files from the bucket",
    "passport photo check takes 3 days",
    "NHS 2024 roadmap",
    "SSN validation for 12 fields",
    "Merge branch 'main' into feature, OR 12345 rows",
    "id 123e4567-e89b-12d3-a456-426614174000",
    "fixes CVE-2024-12345",
    "ISBN 978-3-16-148410-0",
    "order 2024-000123 shipped",
    "build 20240105.3",
    "NodePort range 30000-32767",
    "calver 2024.01.05.1",
    "555-0100",
    "semver 1.2.3+20130313144700",
    "mac 00:1a:2b:3c:4d:5e",
    "error code 0x80070005",
    "lat 40.7128 lon -74.0060",
]


@pytest.mark.parametrize("text", KEPT)
def test_keeps_ordinary_content_and_permitted_pii(scrubber: PiiScrubber, text: str) -> None:
    assert scrubber.scrub(text) == text
    assert scrubber.findings(text) == []


def test_none_and_empty(scrubber: PiiScrubber) -> None:
    assert scrubber.scrub(None) is None
    assert scrubber.scrub("") == ""
    assert scrubber.findings(None) == []


def test_findings_name_kind_and_span(scrubber: PiiScrubber) -> None:
    text = "ring 020 7946 0958 or mail 10.1.2.3"
    assert scrubber.findings(text) == [("phone", (5, 18)), ("ip", (27, 35))]


def test_every_kind_has_a_placeholder_in_brackets() -> None:
    assert all(p == f"[{kind}]" for kind, p in PLACEHOLDERS.items())


def test_zero_width_and_bidi_characters_cannot_hide_a_number(scrubber: PiiScrubber) -> None:
    hidden = "call 5\u200b5\u200c5-1\u200d2\u20603-4\u200e5\u200f6\u202a7\u202c now"
    assert scrubber.scrub(hidden) == "call [phone] now"
    assert scrubber.scrub("ip 10\u200b.0.0\ufeff.1") == "ip [ip]"


def test_unicode_digits_and_separators(scrubber: PiiScrubber) -> None:
    arabic_indic = "رقم الهاتف +٩٧١ ٥٠ ١٢٣ ٤٥٦٧"
    assert scrubber.scrub(arabic_indic) == "رقم الهاتف [phone]"
    full_width = "tel ＋４４ ２０ ７９４６ ０９５８"
    assert scrubber.scrub(full_width) == "tel [phone]"
    assert scrubber.scrub("ref 536\u201190\u20114399") == "ref [national-id]"
    assert scrubber.scrub("IBAN\u00a0DE89\u00a03704\u00a00044\u00a00532\u00a00130\u00a000") == (
        "IBAN\u00a0[iban]"
    )


def test_emoji_and_right_to_left_text_survive(scrubber: PiiScrubber) -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    text = f"📞 +44\u00a020\u00a07946\u00a00958 {family} שלום"
    assert scrubber.scrub(text) == f"📞 [phone] {family} שלום"
    assert scrubber.scrub(f"great work {family} 🎉") == f"great work {family} 🎉"


def test_keycap_emoji_digits_are_read_as_digits(scrubber: PiiScrubber) -> None:
    keycaps = "".join(f"{d}\ufe0f\u20e3" for d in "4155552671")
    assert scrubber.scrub(f"call {keycaps}") == "call [phone]"


def test_visible_text_strips_only_invisible_controls() -> None:
    assert visible_text("a\u200bb\u202ec") == "abc"
    assert visible_text("plain ascii") == "plain ascii"


def test_very_long_strings(scrubber: PiiScrubber) -> None:
    filler = "lorem ipsum 12 dolor " * 20_000
    text = filler + "call +1 415 555 2671" + "x" * 500_000
    scrubbed = scrubber.scrub(text)
    assert scrubbed == filler + "call [phone]" + "x" * 500_000
    word = "a" * 1_000_000
    assert scrubber.scrub(word + " 7") == word + " 7"
    table = "12 34 56 78 " * 10_000
    assert scrubber.scrub(table) == table
    many = "card 4111 1111 1111 1111, ip 10.0.0.1 via https://x.test/1 " * 2_000
    assert scrubber.scrub(many) == "card [card], ip [ip] via https://x.test/1 " * 2_000


def test_several_kinds_in_one_message(scrubber: PiiScrubber) -> None:
    text = (
        "Hi @ana (ana@example.com): customer card 4111 1111 1111 1111, phone "
        "+44 20 7946 0958, lives at 221B Baker Street; see ABC-42 and v2.3.1"
    )
    assert scrubber.scrub(text) == (
        "Hi @ana (ana@example.com): customer card [card], phone "
        "[phone], lives at [address]; see ABC-42 and v2.3.1"
    )


def test_phone_regions_are_configurable() -> None:
    us_only = PiiScrubber(phone_regions=("US",))
    assert us_only.scrub("ring 020 7946 0958") == "ring 020 7946 0958"
    assert us_only.scrub("ring +44 20 7946 0958") == "ring [phone]"
    with pytest.raises(ValueError, match="unknown phone region 'XX'"):
        PiiScrubber(phone_regions=("XX",))


def test_random_text_never_breaks_and_scrubbing_is_stable(scrubber: PiiScrubber) -> None:
    alphabet = "0123456789 +-().:/@#,abcXYZ\u200b\u00a0\u0663\uff15é🎉ש"
    generator = random.Random(20240105)
    for _ in range(3000):
        text = "".join(generator.choice(alphabet) for _ in range(generator.randrange(1, 60)))
        once = scrubber.scrub(text)
        assert "\u200b" not in once
        assert scrubber.scrub(once) == once
