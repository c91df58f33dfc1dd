"""factory-boy factories shared by the whole suite."""

from __future__ import annotations

import factory

from accounts import rules
from accounts.models import Area, Role, User

TEST_PASSWORD = "Correct-Horse-9"


class AreaFactory(factory.django.DjangoModelFactory):
    """An area; give ``code`` and ``name``. Level and parent are derived as load_areas does."""

    class Meta:
        model = Area
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"区划{n}")
    level = factory.LazyAttribute(lambda o: rules.parse_level(o.code))
    parent = factory.LazyAttribute(
        lambda o: (
            Area.objects.filter(code=rules.parent_code(o.code)).first()
            if rules.parent_code(o.code)
            else None
        )
    )


def area_chain(village_code: str, names: dict[str, str] | None = None) -> Area:
    """Create the village and every ancestor of it; return the village."""
    names = names or {}
    for code in [*reversed(rules.ancestor_codes(village_code)), village_code]:
        AreaFactory(code=code, name=names.get(code, f"区划{code}"))
    return Area.objects.get(code=village_code)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    name = factory.Sequence(lambda n: f"工作人员{n}")
    role = Role.DIRECTOR

    @classmethod
    def _create(cls, model_class, *args, password: str = TEST_PASSWORD, **kwargs):
        user = model_class(*args, **kwargs)
        user.set_password(password)
        user.save()
        return user


def make_id_number(birth: str, gender: str = "male", area: str = "341823", seq: int = 12) -> str:
    """A valid 18-digit ID number for a birth date (YYYY-MM-DD) and gender."""
    from children.idcard import check_digit

    sequence = seq * 10 + (1 if gender == "male" else 2)
    first17 = f"{area}{birth.replace('-', '')}{sequence:03d}"
    return first17 + check_digit(first17)


def make_child(user, **overrides):
    """Register a child through the real service, as a page or the API would."""
    from datetime import date

    from children.services import child_create

    values = {
        "name": "小明",
        "gender": "male",
        "birth_date": date(2015, 6, 1),
        "village_code": user.area_id,
    }
    values.update(overrides)
    if "id_number" not in values:
        # A distinct (made-up) area prefix per child keeps every generated number unique.
        values["id_number"] = make_id_number(
            values["birth_date"].isoformat(), values["gender"], area=f"34{make_child.counter:04d}"
        )
        make_child.counter += 1
    return child_create(user=user, **values)


make_child.counter = 1


def add_parents(user, child, *, names=("父亲", "母亲"), **member):
    """Record the child's father and mother with the same situation (``member`` fields), through
    the services, as the family form would."""
    from children.services import family_member_add

    for relation, name in zip(("father", "mother"), names, strict=True):
        family_member_add(user=user, child=child, relation=relation, name=name, **member)
    return child


def make_orphan(user, *, parent_names=("父亲", "母亲"), **overrides):
    """A child whose father and mother are both recorded as deceased (孤儿), via the services."""
    return add_parents(
        user,
        make_child(user, **overrides),
        names=parent_names,
        status="deceased",
        has_guardian_capacity=False,
    )
