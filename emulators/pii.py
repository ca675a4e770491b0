"""The forbidden-PII catalogue: values planted in kept text (titles, summaries, public Slack
messages) that Sieve's scrubber must remove. Checksums are real (Luhn cards, IBAN mod-97, Spanish
DNI letter) and phone numbers are valid for their countries, so checksum- and
validity-based detectors must find them."""

from __future__ import annotations

from emulators.model import rng


def _luhn_complete(prefix: str) -> str:
    digits = [int(d) for d in prefix]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return prefix + str((10 - total % 10) % 10)


def _iban_de(bank: str, account: str) -> str:
    bban = bank + account
    numeric = int(bban + "131400")  # "DE" -> 13 14, then "00"
    check = 98 - numeric % 97
    raw = f"DE{check:02d}{bban}"
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def _dni(number: int) -> str:
    return f"{number:08d}{'TRWAGMYFPDXBNJZSQVHLCKE'[number % 23]}"


def build_pii_catalogue(seed: int) -> tuple[tuple[str, str, str], ...]:
    """(kind, value, sentence template) triples; ``{}`` in the template takes the value."""
    gen = rng(seed, "pii")
    card = _luhn_complete("4" + "".join(str(gen.randrange(10)) for _ in range(14)))
    card_fmt = " ".join(card[i:i + 4] for i in range(0, 16, 4))
    ssn = f"{gen.randrange(100, 665):03d}-{gen.randrange(10, 99):02d}-{gen.randrange(1000, 9999):04d}"
    return (
        ("phone", f"+1 (646) {gen.randrange(200, 999)}-{gen.randrange(1000, 9999)}",
         "Customer asked to be called back at {}"),
        ("phone", f"+44 20 7946 0{gen.randrange(100, 999)}", "UK support line {} misroutes refunds"),
        ("phone", f"+49 30 {gen.randrange(2000, 2999)}{gen.randrange(1000, 9999)}",
         "Rückruf an {} wegen Zahlungsfehler"),
        ("phone", f"+91 98{gen.randrange(100, 999)} {gen.randrange(10000, 99999)}",
         "OTP not delivered to {}"),
        ("ipv4", f"203.0.113.{gen.randrange(1, 254)}", "Block scraper traffic from {}"),
        ("ipv6", f"2001:db8:{gen.randrange(4096, 65535):x}::{gen.randrange(1, 4095):x}",
         "IPv6 client {} hits stale cache"),
        ("credit_card", card_fmt, "Payment with card {} charged twice"),
        ("credit_card", card, "Refund failing for card {}"),
        ("us_ssn", ssn, "Redact SSN {} from onboarding export"),
        ("es_dni", _dni(gen.randrange(10_000_000, 99_999_999)), "KYC upload rejects DNI {}"),
        ("iban", _iban_de(f"{gen.randrange(10000000, 99999999)}",
                          f"{gen.randrange(10**9, 10**10 - 1)}"), "SEPA payout to {} bounced"),
        ("date_of_birth", f"born {1970 + gen.randrange(30)}-0{gen.randrange(1, 9)}-1{gen.randrange(9)}",
         "Age check wrong for user {}"),
        ("date_of_birth", f"DOB: 1{gen.randrange(9)}/0{gen.randrange(1, 9)}/19{gen.randrange(60, 99)}",
         "Signup form rejects {}"),
        ("street_address", f"{gen.randrange(10, 999)} Larkspur Lane, Springfield, IL 62704",
         "Shipping label printed for {}"),
    )
