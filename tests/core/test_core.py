"""core/: the shared pieces every app stands on (no models) — the clock, encryption and the keyed
hash, masking, formula-safe cells, the safe ``next``, document checks, page slicing and showing a
service's refusal on a form."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from cryptography.fernet import Fernet
from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from core import cells, clock, crypto, masking, redirects, uploads
from core.forms import add_service_errors


def test_today_is_the_date_in_shanghai_whatever_the_server_clock():
    # 23:30 UTC on 1 December is already 2 December in Asia/Shanghai.
    with time_machine.travel("2026-12-01 23:30 +0000", tick=False):
        assert clock.today() == date(2026, 12, 2)


def test_encryption_round_trip_rotation_and_keyed_hash(settings):
    token = crypto.encrypt("父亲长期在外务工")
    assert token != "父亲长期在外务工" and crypto.looks_like_token(token)
    assert crypto.decrypt(token) == "父亲长期在外务工"
    assert crypto.encrypt("") == "" and crypto.decrypt("") == ""
    # A new first key encrypts; the old one still opens what it sealed.
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *old_keys]
    crypto._fernet.cache_clear()
    try:
        assert crypto.decrypt(token) == "父亲长期在外务工"
        assert crypto.decrypt_or_none(crypto.encrypt("新")) == "新"
    finally:
        settings.FIELD_ENCRYPTION_KEYS = old_keys
        crypto._fernet.cache_clear()
    assert crypto.decrypt_or_none("plain legacy text") is None
    assert crypto.lookup_hash("34182320100101123x") == crypto.lookup_hash("34182320100101123X")
    assert len(crypto.lookup_hash("1")) == 64


def test_one_masked_form_of_each_number():
    assert masking.mask(masking.ID_NUMBER, "341823201001011234") == "3418**********1234"
    assert masking.mask(masking.PHONE, "13812345678") == "138****5678"
    assert masking.mask_phone("123") == "***" and masking.mask_id_number("") == ""


@pytest.mark.parametrize("text", ["=1+1", "+86", "-2", "@SUM(A1)", "\t=x", "\r=x"])
def test_formula_text_never_becomes_a_formula(text):
    from openpyxl import Workbook

    assert cells.is_formula_like(text)
    sheet = Workbook(write_only=True).create_sheet()
    cell = cells.xlsx_cell(sheet, text)
    assert cell.data_type == "s" and cell.quotePrefix  # text in the workbook, never a formula
    assert cells.csv_field(text).startswith("'")


@pytest.mark.parametrize(
    ("candidate", "safe"),
    [
        ("/children/", True),
        ("//evil.example/", False),
        ("/\\evil.example", False),
        ("/\t/evil.example", False),
        ("https://evil.example/", False),
        ("", False),
        (None, False),
        ("/" + "a" * 2001, False),
    ],
)
def test_next_is_a_path_of_this_site_or_nothing(candidate, safe):
    assert redirects.is_safe_next(candidate) is safe


def test_documents_are_judged_by_their_bytes_not_their_name():
    pdf = SimpleUploadedFile("scan.jpg", b"%PDF-1.4\n" + b"0" * 100)
    assert uploads.document_type(pdf) == ("application/pdf", ".pdf")
    script = SimpleUploadedFile("scan.pdf", b"<script>alert(1)</script>")
    with pytest.raises(ValidationError) as refused:
        uploads.document_type(script, field="evidence")
    assert refused.value.message_dict == {"evidence": [uploads.NOT_A_DOCUMENT]}


def test_a_service_refusal_lands_next_to_its_field():
    class Form(forms.Form):
        village = forms.CharField()

    form = Form({"village": "x"})
    assert form.is_valid()
    add_service_errors(
        form,
        ValidationError({"village_code": ["不在您的辖区"], "unknown": ["其他问题"]}),
        {"village_code": "village"},
    )
    assert form.errors["village"] == ["不在您的辖区"]
    assert form.non_field_errors() == ["其他问题"]
