"""Issue 14 M4, image bombs: a PNG of a few KB that decodes to hundreds of megapixels.

Every place an upload is accepted as an image (visit photos, care-agreement scans, report
attachments, benefit evidence, the API's multipart upload) refuses it from its header, before
anything decodes it: a Chinese message under the field, nothing saved, and little memory used.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from benefits.models import SubsidyEvidence
from benefits.services import subsidy_apply
from children.models import CareAgreement
from children.services import care_agreement_create
from reporting.models import ReportAttachment
from reporting.services import report_file
from visits.models import Visit, VisitPhoto

from ..factories import make_child, make_orphan

pytestmark = pytest.mark.django_db

MEMORY_LIMIT = 200 * 1024 * 1024


@cache
def png_bomb(width: int, height: int, rgba: bool = False) -> bytes:
    """A valid PNG of width × height black pixels, 1-bit grayscale (or 8-bit RGBA), built by
    hand (Pillow would have to allocate the whole image to write it). Rows of zeros compress
    to almost nothing."""
    packed = width * 4 if rgba else (width + 7) // 8
    row = b"\x00" * (1 + packed)  # filter byte "none", then the pixels
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    depth, colour = (8, 6) if rgba else (1, 0)
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


BOMBS = {"144 megapixels": (12000, 12000), "900 megapixels": (30000, 30000)}


def bomb_upload(size: tuple[int, int], name: str = "bomb.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bomb(*size), content_type="image/png")


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


class PeakMemory:
    """The process's peak resident memory during the block, above what it held before.

    Pillow allocates image memory in C, outside tracemalloc's view, so this reads the kernel's
    high-water mark (VmHWM), reset on entry through /proc/self/clear_refs.
    """

    def __enter__(self) -> PeakMemory:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # reset VmHWM to the current resident size
        self.before = _status_kb("VmRSS") * 1024
        return self

    def __exit__(self, *exc) -> None:
        self.grew = _status_kb("VmHWM") * 1024 - self.before


def assert_refused_for_pixels(message: str, size: tuple[int, int]) -> None:
    assert "像素" in message and "4000万" in message, message
    assert f"{size[0]}×{size[1]}" in message or "超过" in message, message


def test_the_bomb_is_what_the_attack_sent():
    # A few KB on the wire that claims 144 million pixels: the attack's file, not a big one.
    data = png_bomb(12000, 12000)
    assert len(data) < 40_000
    assert data[12:16] == b"IHDR" and struct.unpack(">II", data[16:24]) == (12000, 12000)


@pytest.mark.parametrize("size", BOMBS.values(), ids=BOMBS.keys())
def test_visit_form_refuses_a_bomb_under_the_photo_field(client_for, director_a, size):
    child = make_child(director_a, name="像素童")
    client = client_for(director_a)
    with PeakMemory() as memory:
        response = client.post(
            f"/visits/new/{child.pk}/",
            {
                "visited_on": date.today().isoformat(),
                "kind": "home",
                "photos": bomb_upload(size),
            },
        )
    assert response.status_code == 200, response.status_code
    errors = response.context["form"].errors
    assert list(errors) == ["photos"], errors
    assert_refused_for_pixels(errors["photos"][0], size)
    page = response.content.decode()
    assert errors["photos"][0] in page  # shown on the page, by the field
    assert not Visit.objects.exists() and not VisitPhoto.objects.exists()
    assert memory.grew < MEMORY_LIMIT, f"+{memory.grew // 2**20} MB"


def test_api_evidence_upload_refuses_a_bomb(api_client, director_a, civil_affairs):
    orphan = make_orphan(director_a, name="像素孤儿")
    application = subsidy_apply(user=director_a, child=orphan, programme="orphan_allowance")
    with PeakMemory() as memory:
        response = api_client(director_a).post(
            f"/api/v1/subsidy-applications/{application.pk}/evidence",
            {"file": bomb_upload(BOMBS["900 megapixels"]), "description": "死亡证明"},
        )
    assert response.status_code == 422, response.content
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "file"]
    assert_refused_for_pixels(problem["msg"], BOMBS["900 megapixels"])
    assert not SubsidyEvidence.objects.exists()
    assert memory.grew < MEMORY_LIMIT, f"+{memory.grew // 2**20} MB"


def test_evidence_scan_and_attachment_pages_refuse_a_bomb(client_for, director_a):
    client = client_for(director_a)
    size = BOMBS["144 megapixels"]

    orphan = make_orphan(director_a, name="像素孤儿")
    application = subsidy_apply(user=director_a, child=orphan, programme="orphan_allowance")
    response = client.post(
        f"/children/subsidies/{application.pk}/evidence/",
        {"kind": "death_certificate", "description": "死亡证明", "file": bomb_upload(size)},
        follow=True,
    )
    assert response.status_code == 200
    assert_refused_for_pixels(_messages(response), size)
    assert not SubsidyEvidence.objects.exists()

    child = make_child(director_a, name="像素童")
    with time_machine.travel("2026-11-23 10:00 +0800"):
        agreement = care_agreement_create(
            user=director_a,
            child=child,
            caregiver_name="像素祖母",
            caregiver_relation="grandparent",
            caregiver_phone="13905631888",
            caregiver_birth_date=date(1958, 4, 2),
            start_date=date(2026, 11, 1),
            end_date=date(2027, 10, 31),
            parent_work_place="浙江省杭州市",
            parent_phone="13812345678",
        )
        response = client.post(
            f"/children/agreements/{agreement.pk}/scan/upload/",
            {"scan": bomb_upload(size)},
            follow=True,
        )
    assert response.status_code == 200
    assert_refused_for_pixels(_messages(response), size)
    assert not CareAgreement.objects.get(pk=agreement.pk).scan

    report = report_file(
        user=director_a,
        situation="living_alone",
        discovered_at=datetime(2026, 1, 5, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
        description="独自在家",
        child=child,
    )
    response = client.post(
        f"/reports/{report.pk}/attach/", {"file": bomb_upload(size)}, follow=True
    )
    assert response.status_code == 200
    assert_refused_for_pixels(_messages(response), size)
    assert not ReportAttachment.objects.exists()


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_an_ordinary_photo_is_still_accepted(client_for, director_a):
    child = make_child(director_a, name="像素童")
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 2000), "green").save(buffer, format="JPEG")
    response = client_for(director_a).post(
        f"/visits/new/{child.pk}/",
        {
            "visited_on": date.today().isoformat(),
            "kind": "home",
            "photos": SimpleUploadedFile("p.jpg", buffer.getvalue(), content_type="image/jpeg"),
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    photo = VisitPhoto.objects.get()
    assert (photo.width, photo.height) == (1600, 1067)


def test_the_largest_allowed_photo_stays_under_the_memory_limit(client_for, director_a):
    # 40 megapixels with transparency, the most a photo may decode to (4 bytes a pixel): once
    # decoded it is shrunk strip by strip, never copied whole.
    child = make_child(director_a, name="像素童")
    upload = SimpleUploadedFile("big.png", png_bomb(8000, 5000, rgba=True))
    # core.apps silences Pillow's warning between half the limit and the limit; pytest resets
    # warning filters for each test.
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
    with PeakMemory() as memory:
        response = client_for(director_a).post(
            f"/visits/new/{child.pk}/",
            {"visited_on": date.today().isoformat(), "kind": "home", "photos": upload},
        )
    assert response.status_code == 302, response.context["form"].errors
    assert memory.grew < MEMORY_LIMIT, f"+{memory.grew // 2**20} MB"
    photo = VisitPhoto.objects.get()
    assert (photo.width, photo.height) == (1600, 1000)


def test_a_photo_taken_sideways_is_still_turned_upright(client_for, director_a):
    child = make_child(director_a, name="像素童")
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: the picture must be rotated 90° clockwise
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), "green").save(buffer, format="JPEG", exif=exif)
    client_for(director_a).post(
        f"/visits/new/{child.pk}/",
        {
            "visited_on": date.today().isoformat(),
            "kind": "home",
            "photos": SimpleUploadedFile("p.jpg", buffer.getvalue()),
        },
    )
    photo = VisitPhoto.objects.get()
    assert (photo.width, photo.height) == (200, 300)


def test_nothing_else_in_the_process_decodes_a_bomb():
    # PIL.Image.MAX_IMAGE_PIXELS follows the setting, so code that opens an image without the
    # upload check (an ImageField, a PDF renderer) refuses the bomb too instead of decoding it.
    from django.conf import settings

    assert settings.IMAGE_MAX_PIXELS == 40_000_000
    for size in (*BOMBS.values(), (7000, 7000)):  # 49 megapixels: just over the limit
        with pytest.raises(Image.DecompressionBombError):
            Image.open(io.BytesIO(png_bomb(*size)))
    with warnings.catch_warnings():  # core.apps silences it; pytest resets the filters
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        assert Image.open(io.BytesIO(png_bomb(6000, 6000))).size == (6000, 6000)  # 36: allowed
