"""Scrubs the personal data the data-protection statement forbids from kept free text.

Kept text (titles, public Slack messages, names, sprint names) may hold handles, emails and
people's names; everything else on the statement's list is replaced by a typed placeholder
such as ``[phone]``. Detection is offline and deterministic: regular expressions find
candidates, then checksums (`python-stdnum`, Luhn) or `phonenumbers` validation confirm them,
because false positives on version numbers, SHAs or ticket keys matter too.

Decisions (documented in docs/allow-list.md as well):

- A dotted quad such as ``1.2.3.4`` is treated as an IPv4 address unless it is written as a
  version: prefixed by ``v`` (``v1.2.3.4``) or directly after the word version/ver/release/
  build/firmware. Scrubbing a four-part version by mistake loses little; keeping an address
  would break a promise.
- Weak-checksum national numbers (NL BSN, DE tax id, UK NHS, CA SIN, bare 9-digit SSNs,
  bare Aadhaar) are only removed when labelled ("BSN: ..."), as one random number in ten
  passes their checksum. Distinctively formatted ones (dashed SSN, UK NINO, ES DNI/NIE,
  FR NIR, IT codice fiscale, BR CPF, grouped Aadhaar) are removed wherever they appear.
- Phone numbers: international numbers anywhere; domestic numbers when formatted with
  separators, valid for one of the configured regions and written as people there write
  them (with the trunk prefix, e.g. "030 1234567", or in the NANP/Indian/Brazilian grouping
  without it); a bare digit run only next to a phone word ("call 5551234567"), because
  bare runs and odd groupings are usually ids, ranges and timestamps.
- Inside URLs, emails and Slack mentions phone numbers are not looked for: long numeric ids
  in links are common and often valid as some country's number. Everything checksummed or
  labelled (cards, IBANs, national ids...) and IP addresses are removed there too.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterable

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.br import cpf
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.in_ import aadhaar
from stdnum.it import codicefiscale
from stdnum.us import ssn

PLACEHOLDERS = {
    "card": "[card]",
    "iban": "[iban]",
    "national-id": "[national-id]",
    "passport": "[passport]",
    "driver-licence": "[driver-licence]",
    "dob": "[dob]",
    "address": "[address]",
    "phone": "[phone]",
    "ip": "[ip]",
}
# When two findings overlap, the merged span takes the kind listed first.
_KIND_PRIORITY = {kind: rank for rank, kind in enumerate(PLACEHOLDERS)}

DEFAULT_PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "BR", "AU")

Span = tuple[int, int, str]

# Invisible format characters could split a number so that no matcher sees it.
_ALWAYS_INVISIBLE = re.compile(
    "[\u00ad\u180e\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
# These also build emoji sequences (ZWJ families, flags, keycaps), so they are only
# removed where they touch a digit.
_JOINER_NEXT_TO_DIGIT = re.compile(
    "(?<=\\d)[\u200d\ufe00-\ufe0f\u20e3\U000e0000-\U000e007f]+"
    "|[\u200d\ufe00-\ufe0f\U000e0000-\U000e007f]+(?=\\d)"
)
_ANY_DIGIT = re.compile(r"\d")
_NON_ASCII_DIGIT = re.compile(r"(?![0-9])\d")
# Same-length mapping of exotic spaces, dashes and full-width punctuation, so that spans
# found in the probe apply to the text itself.
_SEPARATORS_TO_ASCII = str.maketrans(
    {
        **{c: " " for c in "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
           "\u2007\u2008\u2009\u200a\u202f\u205f\u3000"},
        **{c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"},
        "\uff0b": "+", "\uff08": "(", "\uff09": ")", "\uff0e": ".", "\uff0f": "/",
    }
)

_PROTECTED = re.compile(
    r"(?:https?|ftp)://[^\s<>|\"']+"
    r"|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|<[@#!][^>\s]*>"
)

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\w|\.\d)")
_VERSION_LEAD = re.compile(r"(?i)(?:\b(?:version|ver|release|build|firmware)\.?\s*[:=]?\s*)$")
_IPV6_CANDIDATE = re.compile(
    r"(?<![\w:.])[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:]*"
    r"(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?:%[\w.]+)?(?![\w:])"
)

_CARD_CANDIDATE = re.compile(r"(?<![\w.,/+-])\d(?:[ -]?\d){12,18}(?!\w|[.,/-]?\d)")

_IBAN_CANDIDATE = re.compile(r"(?<!\w)[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,32}(?!\w)", re.I)

# Distinctively formatted national ids, one alternative per kind, checked by `python-stdnum`
# (one combined pattern: a single scan of the text instead of one per kind).
_FORMATTED_NATIONAL_ID = re.compile(
    # US social security number, dashed or spaced
    r"(?P<us_ssn>(?<![\w-])\d{3}(?P<ssn_sep>[- ])\d{2}(?P=ssn_sep)\d{4}(?![\w-]|\.\d))"
    # UK National Insurance number: prefix letters per HMRC's allocation rules, suffix A-D
    r"|(?P<gb_nino>(?<!\w)(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r" ?\d{2} ?\d{2} ?\d{2} ?[A-D](?!\w))"
    r"|(?P<es_dni>(?<![\w-])\d{8}-?[A-Z](?!\w))"
    r"|(?P<es_nie>(?<![\w-])[XYZ]-?\d{7}-?[A-Z](?!\w))"
    r"|(?P<fr_nir>(?<!\w)[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?!\w))"
    r"|(?P<br_cpf>(?<![\w.])\d{3}\.\d{3}\.\d{3}-\d{2}(?!\w|\.\d))"
    r"|(?P<in_aadhaar>(?<![\w-])[2-9]\d{3}(?P<aadhaar_sep>[ -])\d{4}(?P=aadhaar_sep)\d{4}(?![\w-]))"
)
_NATIONAL_ID_VALIDATORS: dict[str, Callable[[str], bool]] = {
    "us_ssn": ssn.is_valid,
    "gb_nino": lambda _: True,  # no check digit; the letter rules above are the validation
    "es_dni": dni.is_valid,
    "es_nie": nie.is_valid,
    "fr_nir": nir.is_valid,
    "br_cpf": cpf.is_valid,
    "in_aadhaar": aadhaar.is_valid,
}
# The Italian codice fiscale is the one id without a run of six digits.
_IT_CODICE_FISCALE = re.compile(r"(?<!\w)[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z](?!\w)")

# A labelled identifier: the label stays, the value after it goes. Acronyms that are also
# ordinary words in some language (SIN, TIN, DNI...) only count in capitals.
_ID_VALUE = r"([A-Za-z]{0,6}\d[\dA-Za-z]*(?:[ ./-]\d+)*(?:[ -]?[A-Da-d](?!\w))?)"
_LABEL_GAP = r"(?:\s*(?:number|num|no\.?|nr\.?|#)\b)?[\s:#=.-]*(?:(?:is|was|es|ist)\s+)?"
_LABELLED_NATIONAL_ID = re.compile(
    r"(?:(?i:\b(?:social\s+security(?:\s+number)?|national\s+(?:insurance|id(?:entity)?|"
    r"identification)(?:\s+(?:number|card))?|id\s+card|identity\s+card|tax\s+(?:id|"
    r"identification)(?:\s+number)?|burgerservicenummer|steuer-?id|"
    r"steueridentifikationsnummer|identifikationsnummer|personnummer|nhs\s+(?:number|no)|aadhaar|"
    r"pesel|numéro\s+de\s+sécurité\s+sociale|personal\s+id(?:entification)?|ssn|bsn|"
    r"nino|itin|idnr))"
    r"|\b(?:SIN|TIN|NIE|DNI|CPF|NIR))\b"
    + _LABEL_GAP + _ID_VALUE
)
_LABELLED_PASSPORT = re.compile(r"(?i:\bpassport)\b" + _LABEL_GAP + _ID_VALUE)
_LABELLED_DRIVER_LICENCE = re.compile(
    r"(?:(?i:\bdriv(?:er'?s?|ing)\s+licen[cs]e)|\bDL)\b" + _LABEL_GAP + _ID_VALUE
)

# Cheap word-level gates: the date-of-birth and address patterns only run when a word they
# need is present.
_WORD = re.compile(r"[^\W\d_]+")
_BIRTH_WORDS = frozenset(
    "birth birthday birthdate born dob bday geboren geburtsdatum geburtstag naissance née né "
    "nacimiento nacido nacida".split()
)
_STREET_WORDS = frozenset(
    "street st avenue ave road rd boulevard blvd lane ln drive dr court ct place pl terrace way "
    "parkway pkwy highway hwy circle cir square sq close crescent cres gardens grove row mews "
    "alley trail walk box straße strasse str gasse platz allee weg rue av bd chemin allée "
    "impasse quai route cours calle c avenida avda paseo plaza via viale piazza corso rua".split()
)
_NATIONAL_ID_LABEL_WORDS = frozenset(
    "social national id identity tax burgerservicenummer steuer steuerid "
    "steueridentifikationsnummer identifikationsnummer personnummer nhs aadhaar pesel numéro "
    "personal ssn bsn nino itin idnr sin tin nie dni cpf nir".split()
)
_STREET_SUFFIXES = ("straße", "strasse", "str", "gasse", "platz", "allee", "straat", "laan",
                    "gracht", "plein", "kade")
_MONTH = (
    r"(?:jan(?:uary|uar|vier)?|feb(?:ruary|ruar)?|févr(?:ier)?|mar(?:ch)?|märz|mars|"
    r"apr(?:il)?|avr(?:il)?|may|mai|jun(?:e|i)?|juin|jul(?:y|i)?|juil(?:let)?|aug(?:ust)?|"
    r"ao[uû]t|sep(?:t(?:ember)?)?|oct(?:ober)?|okt(?:ober)?|nov(?:ember)?|dec(?:ember)?|"
    r"dez(?:ember)?|déc(?:embre)?|enero|febrero|marzo|abril|mayo|junio|julio|agosto|"
    r"septiembre|octubre|noviembre|diciembre)\.?"
)
_DATE = (
    r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    rf"|\d{{1,2}}(?:st|nd|rd|th|er)?\.?(?:\s+(?:of|de))?\s+{_MONTH},?(?:\s+(?:de\s+)?\d{{4}})?"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|{_MONTH}\s+\d{{4}}"
    r"|(?:19|20)\d{2})(?!\w)"
)
_DATE_OF_BIRTH = re.compile(
    r"(?i)\b(?:d\.?o\.?b|date\s+of\s+birth|birth\s*date|birthday|b-?day|born|"
    r"geburtsdatum|geboren|date\s+de\s+naissance|née?|fecha\s+de\s+nacimiento|nacid[oa])\b"
    r"\.?[\s:=,-]*(?:(?:is|was|on|in|am|le|el|the)\s+)*(" + _DATE + ")"
)

_STREET_TYPE = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|"
    r"Terrace|Way|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Square|Sq|Close|Crescent|Cres|"
    r"Gardens|Grove|Row|Mews|Alley|Trail|Walk)"
)
_US_STATE = (
    r"(?:A[KLRZ]|C[AOT]|D[CE]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]|O[HKR]|PA|PR|"
    r"RI|S[CD]|T[NX]|UT|V[AT]|W[AIVY])"
)
# ", Springfield, IL 62704" or ", London SW1A 1AA": a city is only recognisable before a
# postcode.
_CITY_AND_POSTCODE = (
    r"(?:,?\s+(?:[A-Z][\w'’.-]*\s+){0,2}[A-Z][\w'’.-]*,?\s+"
    rf"(?:{_US_STATE}\s+\d{{5}}(?:-\d{{4}})?|[A-Z]{{1,2}}\d[A-Z\d]?\s?\d[A-Z]{{2}})(?!\w))"
)
_US_STATE_AND_ZIP = re.compile(rf"\b{_US_STATE}\s+\d{{5}}\b")
_ADDRESS = re.compile(
    # 221B Baker Street, 1600 Pennsylvania Avenue NW, Apt 4, Springfield, IL 62704
    r"(?<![\w.])\d{1,5}[A-Za-z]?(?:-\d{1,5})?,?\s+(?:[A-Z][\w'’.-]*\s+){1,3}" + _STREET_TYPE
    + r"\b\.?(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor)\.?\s*#?\s*\w+)?"
    + _CITY_AND_POSTCODE + "?"
    # Springfield, IL 62704
    + rf"|\b(?:[A-Z][\w'’.-]*\s+){{0,2}}[A-Z][\w'’.-]*,\s*{_US_STATE}"
    + r"\s+\d{5}(?:-\d{4})?(?!\w)"
    # P.O. Box 1234
    r"|\b(?i:p\.?\s?o\.?\s+box)\s+\d{1,6}\b"
    # Hauptstraße 5, Berliner Str. 12a, Kerkstraat 3
    r"|\b[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|gasse|platz|allee|straat|laan|gracht|"
    r"plein|kade)\s+\d{1,3}\s?[a-z]?(?!\w)"
    r"|\b[A-ZÄÖÜ][\wäöüß-]+\s+(?:Straße|Strasse|Str\.|Gasse|Platz|Allee|Weg)"
    r"\s+\d{1,3}\s?[a-z]?(?!\w)"
    # 12 rue de la Paix, 5 bis avenue Foch
    r"|(?<![\w.])\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?i:rue|avenue|av\.|boulevard|bd|place|chemin|"
    r"allée|impasse|quai|route|cours)\s+(?:(?:de|du|des|la|le|l'|d')\s*)*[\w'’-]+"
    # Calle Mayor 5, Via Roma 10, Rua Augusta 20
    r"|\b(?:Calle|C/|Avenida|Avda\.|Paseo|Plaza|Via|Viale|Piazza|Corso|Rua)\s+"
    r"(?:(?:de|del|la|las|los|da|do|dos|di|della)\s+)*[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){0,2}"
    r",?\s*(?:n[º°o]\.?\s*)?\d{1,4}(?!\w)"
)

# Six or more digits, possibly separated: every card, IBAN, national id and phone number has
# such a run. Phone numbers need seven.
_DIGIT_RUN = re.compile(r"\d(?:[\s().\-/]{0,3}\d){5}")
# Not inside a word, a dotted number or a dashed id ("CVE-2024-12345", a UUID's tail).
_PHONE_WINDOW = re.compile(r"(?<![\w.+/-])\+?\(?\d(?:[\s().\-/]{0,3}\d){6,}")
_DATE_OR_TIME = re.compile(
    r"(?<![\d.])(?:\d{4}([-/.])\d{1,2}\1\d{1,2}|\d{1,2}([-/.])\d{1,2}\2\d{4})"
    r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?![\d.])"
    r"|(?<![\d:])\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?![\d:])"
)
_PHONE_WINDOW_MARGIN = 12
_MAX_WINDOW_GROUPS = 12
_NANP_GROUPINGS = frozenset({(3, 3, 4), (1, 3, 3, 4), (10,), (11,)})
_UNPREFIXED_GROUPINGS = {
    "US": _NANP_GROUPINGS,
    "CA": _NANP_GROUPINGS,
    "IN": frozenset({(5, 5), (3, 3, 4), (4, 3, 3), (10,)}),
    "BR": frozenset({(2, 4, 4), (2, 5, 4), (2, 8), (2, 9), (10,), (11,)}),
}
_MATCHER_WINDOW_LIMIT = 64  # phonenumbers' matcher is slow; no phone number is this long
_DIGIT_GROUP = re.compile(r"\d+")
_MIN_PHONE_DIGITS, _MAX_PHONE_DIGITS = 7, 17
_PHONE_SEPARATOR = re.compile(r"[\s().\-/]")
_PHONE_WORD_BEFORE = re.compile(
    r"(?i)\b(?:phone|tel|telephone|mobile|mob|cell|call|ring|text|sms|whatsapp|fax|"
    r"contact|reach|telefon|handy|téléphone|portable|móvil|teléfono)\b[^\w]{0,6}"
    r"(?:\w+\s+){0,2}$"
)

_CARD_PREFIXES = (
    ("4",),  # Visa
    tuple(str(p) for p in range(51, 56)) + tuple(str(p) for p in range(2221, 2721)),  # MC
    ("34", "37"),  # American Express
    ("6011", "65") + tuple(str(p) for p in range(644, 650)),  # Discover
    tuple(str(p) for p in range(3528, 3590)),  # JCB
    ("36", "38") + tuple(str(p) for p in range(300, 306)),  # Diners Club
    ("62",),  # UnionPay
    ("50",) + tuple(str(p) for p in range(56, 70)),  # Maestro
)
_CARD_PREFIX_SET = frozenset(p for group in _CARD_PREFIXES for p in group)


class PiiScrubber:
    """Finds and replaces forbidden personal data in free text.

    Create one per process and reuse it: all patterns are compiled once at import and the
    phone metadata is loaded once here.
    """

    def __init__(self, phone_regions: Iterable[str] = DEFAULT_PHONE_REGIONS) -> None:
        self._phone_regions = tuple(phone_regions)
        # (region, national prefix, pattern any national number of the region matches): a
        # cheap filter before the comparatively slow phonenumbers.parse.
        self._region_number_patterns = []
        for region in self._phone_regions:
            metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
            if metadata is None:
                raise ValueError(
                    f"unknown phone region {region!r}: use ISO 3166 alpha-2 codes such as 'US'"
                )
            self._region_number_patterns.append(
                (
                    region,
                    metadata.national_prefix or "",
                    re.compile(metadata.general_desc.national_number_pattern),
                )
            )

    def scrub(self, text: str | None) -> str | None:
        """Return `text` with every finding replaced by its placeholder (None stays None)."""
        if text is None:
            return None
        clean = visible_text(text)
        found = self._find(clean)
        if not found:
            return clean
        parts = []
        position = 0
        for start, end, kind in found:
            parts.append(clean[position:start])
            parts.append(PLACEHOLDERS[kind])
            position = end
        parts.append(clean[position:])
        return "".join(parts)

    def findings(self, text: str | None) -> list[tuple[str, tuple[int, int]]]:
        """Kinds and spans of what `scrub` would replace, as offsets into `visible_text(text)`."""
        if text is None:
            return []
        return [(kind, (start, end)) for start, end, kind in self._find(visible_text(text))]

    def _find(self, clean: str) -> list[Span]:
        # Every kind we look for contains a digit; most titles and messages have none.
        if not _ANY_DIGIT.search(clean):
            return []
        probe = _ascii_probe(clean)
        lowered = probe.lower()
        words = set(_WORD.findall(lowered))
        ips = _find_ips(probe)
        spans = ips + [
            (match.start(), match.end(), "national-id")
            for match in _IT_CODICE_FISCALE.finditer(probe)
            if codicefiscale.is_valid(match.group())
        ]
        # Dates, times and the IP addresses just found are the commonest digit runs in text
        # and none of the numeric kinds; blanking them spares the checksum and phone matchers.
        if _DIGIT_RUN.search(probe):
            numeric = _blank_spans(_DATE_OR_TIME.sub(_blank, probe), ips)
            if _DIGIT_RUN.search(numeric):
                checksummed = _find_cards(numeric) + _find_ibans(numeric)
                checksummed += _find_national_ids(numeric, words)
                spans += checksummed
                phones = self._find_phones(_blank_spans(numeric, checksummed))
                if phones:
                    # Long numeric ids in links and emails are common; phone numbers there
                    # are not.
                    spans += _unprotected(phones, [m.span() for m in _PROTECTED.finditer(probe)])
        if "passport" in words:
            spans += _find_labelled(probe, _LABELLED_PASSPORT, "passport")
        if "licence" in words or "license" in words or "DL" in probe:
            spans += _find_labelled(probe, _LABELLED_DRIVER_LICENCE, "driver-licence")
        if not _BIRTH_WORDS.isdisjoint(words) or "d.o.b" in lowered or "b-day" in lowered:
            spans += _find_labelled(probe, _DATE_OF_BIRTH, "dob", min_digits=1)
        if (
            not _STREET_WORDS.isdisjoint(words)
            or any(word.endswith(_STREET_SUFFIXES) for word in words)
            or _US_STATE_AND_ZIP.search(probe)
        ):
            spans += _find_addresses(probe)
        return _merge(spans)

    def _find_phones(self, numeric: str) -> list[Span]:
        spans = []
        for window in _PHONE_WINDOW.finditer(numeric):
            text, start = window.group(), window.start()
            if not _may_be_phone(text, numeric, start):
                continue
            found = [
                (start + sub_start, start + sub_end, "phone")
                for sub_start, sub_end in self._numbers_in_window(text)
                if _plausible_phone(numeric, start + sub_start, text[sub_start:sub_end])
            ]
            if (
                not found
                and len(text) <= _MATCHER_WINDOW_LIMIT
                and _PHONE_WORD_BEFORE.search(numeric, max(0, start - 40), start)
            ):
                # Announced as a phone number but in no shape we split well: let
                # phonenumbers' own matcher look, whatever it costs.
                found = self._match_phones(numeric, window)
            spans += found
        return spans

    def _numbers_in_window(self, text: str) -> list[tuple[int, int]]:
        """Spans of valid numbers in a run of digit groups: the whole run, or else the longest
        non-overlapping runs of consecutive groups ("ticket 12 020 7946 0958")."""
        if self._is_phone_number(text):
            return [(0, len(text))]
        groups = [match.span() for match in _DIGIT_GROUP.finditer(text)]
        if len(groups) > _MAX_WINDOW_GROUPS:
            return []  # a table of numbers, not a sentence holding a phone number
        longest_from: list[tuple[int, int, int]] = []  # (digit count, start, end)
        for first in range(len(groups)):
            runs = []  # (digit count, last group) of the runs starting at `first`
            digit_count = 0
            for last in range(first, len(groups)):
                digit_count += groups[last][1] - groups[last][0]
                if digit_count > _MAX_PHONE_DIGITS:
                    break
                if digit_count >= _MIN_PHONE_DIGITS and (first, last) != (0, len(groups) - 1):
                    runs.append((digit_count, last))
            for digit_count, last in reversed(runs):
                start, end = groups[first][0], groups[last][1]
                if start > 0 and text[start - 1] in "+(":
                    start -= 1
                if self._is_phone_number(text[start:end]):
                    longest_from.append((digit_count, start, end))
                    break
        chosen: list[tuple[int, int]] = []
        for _count, start, end in sorted(longest_from, key=lambda found: -found[0]):
            if all(end <= other_start or other_end <= start for other_start, other_end in chosen):
                chosen.append((start, end))
        return sorted(chosen)

    def _is_phone_number(self, text: str) -> bool:
        """Whether the whole window is one valid number: the cheap, common case."""
        stripped = text.lstrip("(")
        try:
            if stripped.startswith("+"):
                return phonenumbers.is_valid_number(phonenumbers.parse(stripped, None))
            if stripped.startswith("00"):
                return phonenumbers.is_valid_number(phonenumbers.parse("+" + stripped[2:], None))
            groups = _DIGIT_GROUP.findall(text)
            digits = "".join(groups)
            grouping = tuple(len(group) for group in groups)
            for region, national_prefix, national_number in self._region_number_patterns:
                if national_prefix and digits.startswith(national_prefix):
                    candidate = digits[len(national_prefix):]
                elif _written_without_prefix(region, national_prefix, grouping):
                    candidate = digits
                else:
                    continue
                if national_number.fullmatch(candidate) and phonenumbers.is_valid_number(
                    phonenumbers.parse(text, region)
                ):
                    return True
        except phonenumbers.NumberParseException:
            return False
        return False

    def _match_phones(self, numeric: str, window: re.Match) -> list[Span]:
        """Numbers inside a window holding more than one number (or some other digits)."""
        spans = []
        offset = max(0, window.start() - _PHONE_WINDOW_MARGIN)
        excerpt = numeric[offset : window.end() + _PHONE_WINDOW_MARGIN]
        digits_in_window = sum(c.isdigit() for c in window.group())
        for region in self._phone_regions:
            digits_matched = 0
            for match in phonenumbers.PhoneNumberMatcher(
                excerpt, region, phonenumbers.Leniency.VALID
            ):
                start, end = offset + match.start, offset + match.end
                if _plausible_phone(numeric, start, match.raw_string):
                    spans.append((start, end, "phone"))
                    digits_matched += sum(c.isdigit() for c in match.raw_string)
            # International numbers match in any region: one pass is enough then.
            if digits_matched >= digits_in_window:
                break
        return spans


def visible_text(text: str) -> str:
    """`text` without the invisible format characters that could hide a number."""
    if text.isascii():
        return text
    return _JOINER_NEXT_TO_DIGIT.sub("", _ALWAYS_INVISIBLE.sub("", text))


def _ascii_probe(text: str) -> str:
    """Same-length copy with Unicode digits, spaces and dashes mapped to ASCII."""
    if text.isascii():
        return text
    probe = text.translate(_SEPARATORS_TO_ASCII)
    return _NON_ASCII_DIGIT.sub(lambda m: str(unicodedata.decimal(m.group())), probe)


def _blank(match: re.Match) -> str:
    return " " * len(match.group())


def _blank_spans(text: str, spans: list[Span]) -> str:
    if not spans:
        return text
    parts = []
    position = 0
    for start, end, _kind in sorted(spans):
        start = max(start, position)
        parts += (text[position:start], " " * (end - start))
        position = max(position, end)
    parts.append(text[position:])
    return "".join(parts)


def _unprotected(spans: list[Span], protected: list[tuple[int, int]]) -> list[Span]:
    """`spans` minus those overlapping a protected span (sorted, non-overlapping)."""
    if not protected or not spans:
        return spans
    protected_starts = [start for start, _end in protected]
    kept = []
    for span in spans:
        # Of the protected spans starting before this one ends, the last ends furthest.
        index = bisect.bisect_left(protected_starts, span[1]) - 1
        if index < 0 or protected[index][1] <= span[0]:
            kept.append(span)
    return kept


def _merge(spans: list[Span]) -> list[Span]:
    """Union overlapping findings; the merged span keeps the highest-priority kind."""
    merged: list[Span] = []
    for start, end, kind in sorted(spans):
        if merged and start < merged[-1][1]:
            last_start, last_end, last_kind = merged[-1]
            if _KIND_PRIORITY[kind] < _KIND_PRIORITY[last_kind]:
                last_kind = kind
            merged[-1] = (last_start, max(last_end, end), last_kind)
        else:
            merged.append((start, end, kind))
    return merged


def _find_ips(probe: str) -> list[Span]:
    spans = []
    if "." in probe:
        for match in _IPV4.finditer(probe):
            if not _VERSION_LEAD.search(probe, max(0, match.start() - 20), match.start()):
                spans.append((match.start(), match.end(), "ip"))
    if ":" in probe:
        for match in _IPV6_CANDIDATE.finditer(probe):
            span = _ipv6_span(match)
            if span:
                spans.append((*span, "ip"))
    return spans


def _ipv6_span(match: re.Match) -> tuple[int, int] | None:
    candidate = match.group()
    if not _ANY_DIGIT.search(candidate):
        return None  # "Foo::Bar" in code is hex-only; every real-world address we saw has a digit
    # A trailing ":" is usually punctuation ("at fe80::1: refused").
    for text in (candidate, candidate[:-1] if candidate.endswith(":") else None):
        if text and text.count(":") >= 2:
            try:
                ipaddress.IPv6Address(text)
            except ValueError:
                continue
            return match.start(), match.start() + len(text)
    return None


def _find_cards(probe: str) -> list[Span]:
    spans = []
    for match in _CARD_CANDIDATE.finditer(probe):
        digits = match.group().replace(" ", "").replace("-", "")
        if 13 <= len(digits) <= 19 and _card_prefix(digits) and luhn.is_valid(digits):
            spans.append((match.start(), match.end(), "card"))
    return spans


def _card_prefix(digits: str) -> bool:
    return any(digits[:length] in _CARD_PREFIX_SET for length in (1, 2, 3, 4))


def _find_ibans(probe: str) -> list[Span]:
    spans = []
    position = 0
    while match := _IBAN_CANDIDATE.search(probe, position):
        # The candidate may run into following words (or the next IBAN); shorten it until a
        # valid IBAN remains, and look for the next one right after it.
        text = match.group()
        position = match.start() + 1
        for end in range(len(text), 14, -1):
            candidate = text[:end]
            if candidate.endswith(" ") or not _iban_checksum_holds(candidate):
                continue
            if stdnum_iban.is_valid(candidate):
                spans.append((match.start(), match.start() + end, "iban"))
                position = match.start() + end
                break
    return spans


def _iban_checksum_holds(text: str) -> bool:
    """ISO 13616 mod-97 alone: a fast pre-check before stdnum's full (slower) validation."""
    compact = text.replace(" ", "").upper()
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _find_national_ids(probe: str, words: set[str]) -> list[Span]:
    spans = [
        (match.start(), match.end(), "national-id")
        for match in _FORMATTED_NATIONAL_ID.finditer(probe)
        if _NATIONAL_ID_VALIDATORS[match.lastgroup](match.group())
    ]
    if not _NATIONAL_ID_LABEL_WORDS.isdisjoint(words):
        spans += _find_labelled(probe, _LABELLED_NATIONAL_ID, "national-id")
    return spans


def _find_labelled(probe: str, pattern: re.Pattern, kind: str, min_digits: int = 4) -> list[Span]:
    """The value group of each labelled match; identity numbers have at least four digits,
    which keeps "DL 2 files" or "passport 3 pages" as they are."""
    return [
        (match.start(1), match.end(1), kind)
        for match in pattern.finditer(probe)
        if len(_ANY_DIGIT.findall(match.group(1))) >= min_digits
    ]


def _find_addresses(probe: str) -> list[Span]:
    return [(match.start(), match.end(), "address") for match in _ADDRESS.finditer(probe)]


def _written_without_prefix(region: str, national_prefix: str, grouping: tuple[int, ...]) -> bool:
    """Whether digits without the trunk prefix are a domestic number as people write them.

    phonenumbers also accepts e.g. German numbers without their leading 0, which turns
    ids like "2024-000123" into valid numbers; but in countries with a trunk prefix people
    write it, except in the few where the conventional grouping omits it (NANP, Indian
    mobiles, Brazilian area codes).
    """
    if not national_prefix:
        return len(grouping) == 1 or max(grouping) <= 5
    return grouping in _UNPREFIXED_GROUPINGS.get(region, ())


def _may_be_phone(window: str, numeric: str, start: int) -> bool:
    """Whether `window` can hold a number `_plausible_phone` would accept."""
    if window.lstrip("(").startswith(("+", "00")):
        return True
    # A separated phone number spans two adjacent digit groups of at most 15 digits together.
    group_lengths = [len(group) for group in _DIGIT_GROUP.findall(window)]
    if any(a + b <= 15 for a, b in zip(group_lengths, group_lengths[1:])):
        return True
    return bool(_PHONE_WORD_BEFORE.search(numeric, max(0, start - 40), start))


def _plausible_phone(probe: str, start: int, raw: str) -> bool:
    if raw.startswith(("+", "00")) or _PHONE_SEPARATOR.search(raw):
        return True
    return bool(_PHONE_WORD_BEFORE.search(probe, max(0, start - 40), start))
