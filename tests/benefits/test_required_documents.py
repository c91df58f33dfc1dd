"""Issue 17, point 4: each programme's required documents (api.md EVIDENCE KIND, changeable per
area by civil affairs); county approval waits for them (409 naming what is missing), and the
review page shows the eligibility result, the documents in place and what is missing."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from benefits import rules
from benefits.models import EvidenceRequirement, SubsidyApplication
from benefits.services import evidence_requirement_set

from ..conftest import COUNTY_A, VILLAGE_1
from ..factories import PDF_BYTES, attach_parent_documents, make_child, make_orphan
from .test_subsidies import apply, decide

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02" + b"\x00" * 50


def upload(client, application_id, kind, description="", content=PDF_BYTES, name="scan.pdf"):
    return client.post(
        f"/api/v1/subsidy-applications/{application_id}/evidence",
        {"file": SimpleUploadedFile(name, content), "kind": kind, "description": description},
    )


def township_approved(api_client, child, director, supervisor, programme="orphan_allowance"):
    response = apply(api_client(director), child, programme=programme)
    assert response.status_code == 201, response.content
    application_id = response.json()["id"]
    assert decide(api_client(supervisor), application_id).status_code == 200
    return application_id


# --- The rule --------------------------------------------------------------------------------


def test_missing_documents_per_parent():
    orphan = rules.DEFAULT_REQUIREMENTS["orphan_allowance"]
    wanted = "死亡证明或人民法院宣告失踪判决书"
    assert rules.missing_documents(orphan, application_kinds=[]) == [
        f"父亲：{wanted}",
        f"母亲：{wanted}",
    ]
    # One on the father's status, one on the application: complete.
    assert (
        rules.missing_documents(
            orphan,
            application_kinds=["court_declaration"],
            parent_kinds={"father": "death_certificate", "mother": ""},
        )
        == []
    )
    # One on the application covers one parent only; a document of another kind covers none.
    assert rules.missing_documents(
        orphan, application_kinds=["death_certificate", "school_certificate"]
    ) == [f"母亲：{wanted}"]
    assert rules.missing_documents(orphan, application_kinds=["death_certificate"] * 2) == []
    education = rules.DEFAULT_REQUIREMENTS["education_aid"]
    assert rules.missing_documents(education, application_kinds=["other"]) == ["学校出具的在读证明"]
    assert rules.missing_documents(education, application_kinds=["school_certificate"]) == []
    assert (
        rules.missing_documents(rules.requirement_for("medical_assistance"), application_kinds=[])
        == []
    )


# --- The gate, through the API ---------------------------------------------------------------


def test_orphan_approval_waits_for_each_parents_proof(
    frozen, api_client, director_a, supervisor, civil_affairs
):
    child = make_orphan(director_a, birth_date=date(2014, 5, 1), documents=False)
    application_id = township_approved(api_client, child, director_a, supervisor)
    county = api_client(civil_affairs)
    response = decide(county, application_id)
    assert response.status_code == 409
    body = response.content.decode()
    assert "父亲：死亡证明或人民法院宣告失踪判决书" in body and "母亲" in body
    assert SubsidyApplication.objects.get(pk=application_id).status == "township_approved"

    detail = county.get(f"/api/v1/subsidy-applications/{application_id}").json()
    assert detail["documents_missing"] == [
        "父亲：死亡证明或人民法院宣告失踪判决书",
        "母亲：死亡证明或人民法院宣告失踪判决书",
    ]
    # A document on the application counts for one parent; the mother's proof on her status
    # (the family record) counts for her.
    assert upload(api_client(director_a), application_id, "death_certificate").status_code == 201
    response = decide(county, application_id)
    assert response.status_code == 409 and "父亲" not in response.content.decode()
    attach_parent_documents(director_a, child, kind="court_declaration")
    detail = county.get(f"/api/v1/subsidy-applications/{application_id}").json()
    assert detail["documents_missing"] == []
    assert detail["evidence"][0]["kind"] == "death_certificate"
    assert decide(county, application_id).status_code == 200


def test_education_aid_returned_for_a_school_certificate(
    frozen, api_client, director_a, supervisor, civil_affairs
):
    """The issue's case: county approval of education aid with no school certificate."""
    pupil = make_child(director_a, name="王晨曦", birth_date=date(2015, 3, 8))
    application_id = township_approved(api_client, pupil, director_a, supervisor, "education_aid")
    county = api_client(civil_affairs)
    response = decide(county, application_id)
    assert response.status_code == 409 and "学校出具的在读证明" in response.content.decode()

    director = api_client(director_a)
    # A kind that does not exist, or "other" without saying what: 422 on the field, nothing kept.
    assert "kind" in upload(director, application_id, "bogus").content.decode()
    response = upload(director, application_id, "other")
    assert response.status_code == 422 and "description" in response.content.decode()
    # A document of another kind does not count.
    assert upload(director, application_id, "other", description="成绩单").status_code == 201
    assert decide(county, application_id).status_code == 409
    response = upload(director, application_id, "school_certificate", content=PNG, name="c.png")
    assert response.status_code == 201
    assert response.json()["description"] == "学校出具的在读证明"  # named by its kind
    response = decide(county, application_id)
    assert response.status_code == 200, response.content


def test_hiv_allowance_needs_a_medical_certificate(
    frozen, api_client, director_a, supervisor, civil_affairs
):
    child = make_child(director_a, categories=["hiv_affected"])
    from children.services import category_decide

    category_decide(
        user=civil_affairs, child=child, category="hiv_affected", decision="confirm", note=""
    )
    application_id = township_approved(
        api_client, child, director_a, supervisor, "hiv_affected_allowance"
    )
    response = decide(api_client(civil_affairs), application_id)
    assert response.status_code == 409 and "疾控机构出具的医学证明" in response.content.decode()


# --- An area changes them --------------------------------------------------------------------


def test_an_area_changes_what_it_requires(
    frozen, api_client, client_for, director_a, supervisor, civil_affairs, director_b
):
    # The county asks for nothing for education aid, and for a school certificate or "other"
    # for medical assistance.
    county = client_for(civil_affairs)
    response = county.post(
        "/children/subsidies/documents/", {"programme": "education_aid"}, follow=True
    )
    assert response.status_code == 200
    assert EvidenceRequirement.objects.get(area_id=COUNTY_A, programme="education_aid").kinds == []
    county.post(
        "/children/subsidies/documents/",
        {"programme": "medical_assistance", "kinds": ["medical_certificate", "other"]},
    )
    page = county.get("/children/subsidies/documents/").content.decode()
    assert "疾控机构出具的医学证明" in page or "医学证明" in page

    pupil = make_child(director_a, name="王晨曦", birth_date=date(2015, 3, 8))
    application_id = township_approved(api_client, pupil, director_a, supervisor, "education_aid")
    assert decide(api_client(civil_affairs), application_id).status_code == 200

    # Back to the default: the school certificate is required again.
    county.post("/children/subsidies/documents/", {"programme": "education_aid", "restore": "on"})
    assert not EvidenceRequirement.objects.filter(programme="education_aid").exists()
    # Only civil affairs, only for their own area (province, city or county).
    assert client_for(director_a).get("/children/subsidies/documents/").status_code == 403
    with pytest.raises(ValidationError):
        evidence_requirement_set(
            user=civil_affairs, area_code=VILLAGE_1, programme="education_aid", kinds=[]
        )


# --- The review page -------------------------------------------------------------------------


def test_review_page_shows_eligibility_documents_and_what_is_missing(
    frozen, api_client, client_for, director_a, supervisor, civil_affairs
):
    child = make_orphan(director_a, birth_date=date(2014, 5, 1), documents=False)
    application_id = apply(api_client(director_a), child).json()["id"]
    township = client_for(supervisor)
    page = township.get(f"/children/subsidies/{application_id}/").content.decode()
    assert "孤儿基本生活费" in page
    assert 'id="subsidy-check"' in page and "alert-success" in page  # eligible
    assert 'id="documents-missing"' in page and "父亲：死亡证明" in page

    # Uploaded through the page with its kind; shown in place (the image itself).
    director = client_for(director_a)
    director.post(
        f"/children/subsidies/{application_id}/evidence/",
        {"kind": "death_certificate", "description": "", "file": SimpleUploadedFile("d.png", PNG)},
    )
    attach_parent_documents(director_a, child)
    page = client_for(civil_affairs).get(f"/children/subsidies/{application_id}/").content.decode()
    assert 'id="documents-missing"' not in page
    assert 'class="sw-doc-thumb' in page and "死亡证明" in page
    assert "family/" in page  # the parents' proof, on the family record, is shown too


def test_county_approval_on_the_page_names_the_missing_document(
    frozen, api_client, client_for, director_a, supervisor, civil_affairs
):
    pupil = make_child(director_a, name="王晨曦", birth_date=date(2015, 3, 8))
    application_id = township_approved(api_client, pupil, director_a, supervisor, "education_aid")
    county = client_for(civil_affairs)
    response = county.post(
        f"/children/subsidies/{application_id}/decide/",
        {"decision": "approve", "note": "同意"},
        follow=True,
    )
    page = response.content.decode()
    assert "缺少材料，县级审批前须上传：学校出具的在读证明" in page
    assert SubsidyApplication.objects.get(pk=application_id).status == "township_approved"
    director = client_for(director_a)
    director.post(
        f"/children/subsidies/{application_id}/evidence/",
        {"kind": "school_certificate", "description": "", "file": SimpleUploadedFile("c.png", PNG)},
    )
    response = county.post(
        f"/children/subsidies/{application_id}/decide/",
        {"decision": "approve", "note": "同意"},
        follow=True,
    )
    assert "已审批：王晨曦" in response.content.decode()
    assert SubsidyApplication.objects.get(pk=application_id).status == "approved"
