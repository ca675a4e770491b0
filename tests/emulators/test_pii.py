"""The planted forbidden PII is real enough that checksum- and validity-based detectors fire."""

from __future__ import annotations

import ipaddress

import phonenumbers
import pytest
from stdnum import iban, luhn
from stdnum.es import dni
from stdnum.us import ssn

from emulators.pii import build_pii_catalogue


@pytest.mark.parametrize("seed", [7, 8, 1234])
def test_catalogue_values_validate(seed):
    for kind, value, template in build_pii_catalogue(seed):
        assert "{}" in template
        if kind == "phone":
            assert phonenumbers.is_valid_number(phonenumbers.parse(value, None)), value
        elif kind in ("ipv4", "ipv6"):
            ipaddress.ip_address(value)
        elif kind == "credit_card":
            assert luhn.is_valid(value.replace(" ", "")), value
        elif kind == "us_ssn":
            assert ssn.is_valid(value), value
        elif kind == "es_dni":
            assert dni.is_valid(value), value
        elif kind == "iban":
            assert iban.is_valid(value), value
        elif kind == "date_of_birth":
            assert value.startswith(("born ", "DOB: "))
        else:
            assert kind == "street_address" and value[0].isdigit()
