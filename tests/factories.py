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


def make_visit(user, child, visited_on, **overrides):
    """Record a home visit through the real service: the child seen, a capable guardian
    present, in school, no concern (``overrides`` change any of it)."""
    from visits.services import visit_record

    values = {
        "kind": "home",
        "seen": ["child"],
        "guardian_present": True,
        "caregiver_capable": True,
        "in_school": True,
        "safety_concern": False,
        **overrides,
    }
    return visit_record(user=user, child=child, visited_on=visited_on, **values)


def add_parents(user, child, *, names=("父亲", "母亲"), **member):
    """Record the child's father and mother with the same situation (``member`` fields), through
    the services, as the family form would."""
    from children.services import family_member_add

    for relation, name in zip(("father", "mother"), names, strict=True):
        family_member_add(user=user, child=child, relation=relation, name=name, **member)
    return child


# The smallest PDF the upload check accepts (by its bytes): a document in tests.
PDF_BYTES = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


def document(name: str = "proof.pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def attach_parent_documents(user, child, kind: str = "death_certificate"):
    """A document of ``kind`` on the father's and the mother's status (the proof the orphan and
    de facto unsupported allowances need before county approval), via the services."""
    from children.models import FamilyMember
    from children.services import family_member_attach_evidence

    for member in FamilyMember.objects.filter(
        household_id=child.household_id, relation__in=("father", "mother")
    ):
        family_member_attach_evidence(
            user=user, member=member, upload=document(), kind=kind, evidence_date=None
        )
    return child


def make_orphan(user, *, parent_names=("父亲", "母亲"), documents=True, **overrides):
    """A child whose father and mother are both recorded as deceased (孤儿), via the services,
    with each parent's death certificate on file unless ``documents`` is False."""
    child = add_parents(
        user,
        make_child(user, **overrides),
        names=parent_names,
        status="deceased",
        has_guardian_capacity=False,
    )
    return attach_parent_documents(user, child) if documents else child


def confirm_categories(child, county_user):
    """County civil affairs confirm every category of ``child`` waiting for them (待民政确认),
    through the real service; returns the child as it now is."""
    from children.services import category_decide

    for category in list(child.categories_pending):
        child = category_decide(
            user=county_user, child=child, category=category, decision="confirm", note="经核实"
        )
    return child


def bring_documents(user, application):
    """Upload, as ``user``, the documents the application's programme requires before county
    approval (benefits.selectors.evidence_requirements): one of the first required kind, one per
    parent where each parent's proof is needed. ``application`` may be its id."""
    from benefits import selectors
    from benefits.models import SubsidyApplication
    from benefits.services import subsidy_evidence_attach

    if not isinstance(application, SubsidyApplication):
        application = SubsidyApplication.objects.get(pk=application)
    requirement = selectors.evidence_requirements(application.child.village_id)[
        application.programme
    ]
    for kind in requirement.sufficient_kinds():
        subsidy_evidence_attach(user=user, application=application, upload=document(), kind=kind)
    return application


def make_agreement(user, child, **overrides):
    """A care agreement with the grandfather 查德明, 2026-11-01 to 2027-10-31, via the service."""
    from datetime import date

    from children.services import care_agreement_create

    values = {
        "caregiver_name": "查德明",
        "caregiver_relation": "grandparent",
        "caregiver_phone": "13905631888",
        "caregiver_birth_date": date(1958, 4, 2),
        "start_date": date(2026, 11, 1),
        "end_date": date(2027, 10, 31),
        "parent_work_place": "浙江省杭州市",
        "parent_phone": "13812345678",
        **overrides,
    }
    return care_agreement_create(user=user, child=child, **values)


def make_organisation(area, **overrides):
    """An organisation of the referral registry (accounts.Organisation) registered at ``area``
    (an Area or its code): a social-work organisation with a service phone, active."""
    from accounts.models import Organisation

    values = {
        "name": "阳光社工服务中心",
        "kind": "social_work",
        "services": "心理辅导、家庭教育指导",
        "contact_name": "程晓燕",
        "phone": "0563-5123456",
        "address": "泾县泾川镇",
        **overrides,
    }
    area_id = area if isinstance(area, str) else area.code
    return Organisation.objects.create(area_id=area_id, **values)


def make_partner(organisation, username: str = "partner_a", **overrides):
    """A member of ``organisation``'s staff (role ``partner``), placed at its area."""
    values = {"name": "机构社工", **overrides}
    return UserFactory(
        username=username,
        role=Role.PARTNER,
        area_id=organisation.area_id,
        organisation=organisation,
        **values,
    )
