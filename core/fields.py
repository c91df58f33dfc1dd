"""Free-text case notes encrypted at rest (domain §9): plaintext in Python, a Fernet token in the
database (and so in the history tables, whose triggers copy the column), "" when blank."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models.functions import Cast
from django.db.models.lookups import Exact
from django.db.models.query_utils import DeferredAttribute

from . import crypto


class SealedText(str):
    """Plaintext read from the database that remembers its token, so that saving an unchanged
    value writes the same token back: a fresh token would look like a change to the history
    triggers (``IS DISTINCT FROM``) and add an event on every save. Any edit (slicing,
    concatenation, a form's cleaned value) gives a plain ``str`` again, which is re-encrypted."""

    _token: str


def _sealed(plain: str, token: str) -> SealedText:
    value = SealedText(plain)
    value._token = token
    return value


class _KeepsToken(DeferredAttribute):
    """Assigning the text already stored (a form sending the notes back unchanged) keeps the
    token it was read with, so an unchanged value stays unchanged in the database."""

    def __set__(self, instance: models.Model, value: Any) -> None:
        current = instance.__dict__.get(self.field.attname)
        if isinstance(current, SealedText) and isinstance(value, str) and value == current:
            return
        instance.__dict__[self.field.attname] = value


class BlankOnlyExact(Exact):
    """``field=""`` finds the blank notes (stored as "", no token); any other value would be
    compared with ciphertext and silently match nothing, so it is refused."""

    def get_prep_lookup(self) -> Any:
        if self.rhs_is_direct_value() and self.rhs != "":
            raise ValueError(
                f"{self.lhs.output_field.name} is encrypted: only blank ('') can be looked up"
            )
        return super().get_prep_lookup()


# exact-"" and isnull; df/ndf are django-pgtrigger's IS [NOT] DISTINCT FROM for trigger conditions.
_LOOKUPS = {"exact": BlankOnlyExact}
_PASS_THROUGH = {"isnull", "df", "ndf"}


class EncryptedTextField(models.TextField):
    """A ``TextField`` stored as a Fernet token with ``children.idcard``'s key ring (the first of
    ``FIELD_ENCRYPTION_KEYS`` encrypts, all decrypt). A stored value that no key opens is
    returned as it is: rows written before the data migration are legacy plaintext, read until
    the migration (in batches) reaches them."""

    description = "Text encrypted at rest (Fernet)"
    descriptor_class = _KeepsToken

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if not value:
            return value
        plain = crypto.decrypt_or_none(value)
        if plain is None:
            return value  # legacy plaintext (or a token of a key no longer in the ring)
        return _sealed(plain, value)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        # Keep the token on the instance, so a second save() of it writes the same token.
        value = super().pre_save(model_instance, add)
        if isinstance(value, str) and value and not isinstance(value, SealedText):
            value = _sealed(value, crypto.encrypt(value))
            setattr(model_instance, self.attname, value)
        return value

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if prepared:  # a lookup's right-hand side: "" (BlankOnlyExact) or a column reference
            return value
        value = self.get_prep_value(value)
        if not value:
            return value
        if isinstance(value, SealedText) and getattr(value, "_token", ""):
            return value._token
        return crypto.encrypt(str(value))

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name in _LOOKUPS:
            return _LOOKUPS[lookup_name]
        if lookup_name in _PASS_THROUGH:
            return super().get_lookup(lookup_name)
        return None  # contains, icontains, startswith …: meaningless on ciphertext

    def get_transform(self, lookup_name: str) -> Any:
        return None


def encrypt_rows(
    model: type[models.Model], fields: list[str], *, using: str = "default", batch_size: int = 500
) -> int:
    """Encrypt the legacy plaintext in ``fields`` of ``model``'s table, ``batch_size`` rows at a
    time; values that already decrypt are skipped, so it can run again (data migrations).
    Refuses a token no key opens: encrypting it again would lose it for good. Returns the
    number of rows changed."""
    return _rewrite(model, fields, using=using, batch_size=batch_size, encrypting=True)


def decrypt_rows(
    model: type[models.Model], fields: list[str], *, using: str = "default", batch_size: int = 500
) -> int:
    """The reverse of ``encrypt_rows``: write the plaintext back (reverse migrations)."""
    return _rewrite(model, fields, using=using, batch_size=batch_size, encrypting=False)


def _rewrite(
    model: type[models.Model], fields: list[str], *, using: str, batch_size: int, encrypting: bool
) -> int:
    # The columns are read and written through a plain TextField (Cast, Value), so the stored
    # value is seen and written as it is, whatever the model's field class.
    rows_of = model._default_manager.using(using)
    raw = {f"raw_{name}": Cast(name, output_field=models.TextField()) for name in fields}
    changed = 0
    last_pk = None
    while True:
        batch = rows_of.order_by("pk").annotate(**raw)
        if last_pk is not None:
            batch = batch.filter(pk__gt=last_pk)
        rows = list(batch.values_list("pk", *raw)[:batch_size])
        if not rows:
            return changed
        last_pk = rows[-1][0]
        for pk, *values in rows:
            updates = {}
            for name, value in zip(fields, values, strict=True):
                new = _rewritten(value, encrypting=encrypting)
                if new is not None:
                    updates[name] = models.Value(new, output_field=models.TextField())
            if updates:
                rows_of.filter(pk=pk).update(**updates)
                changed += 1


def _rewritten(value: str | None, *, encrypting: bool) -> str | None:
    """The new stored value, or None to leave it as it is."""
    if not value:
        return None
    plain = crypto.decrypt_or_none(value)
    if encrypting:
        if plain is not None:
            return None  # already a token
        if crypto.looks_like_token(value):
            raise RuntimeError(
                "A case-note token no key opens: add the old key to FIELD_ENCRYPTION_KEYS"
            )
        return crypto.encrypt(value)
    return plain


def one_of(field: str, values: Iterable[Any], name: str) -> models.CheckConstraint:
    """The database's own check that ``field`` holds one of ``values`` (a ``TextChoices``'
    ``.values``): the same ``CheckConstraint`` the migrations declare, written once."""
    return models.CheckConstraint(condition=models.Q(**{f"{field}__in": list(values)}), name=name)
