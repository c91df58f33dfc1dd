"""The one check every uploaded image passes: its pixel count, read from the header before
anything decodes it (a PNG of a few KB can claim 900 million pixels: an image bomb)."""

from __future__ import annotations

import struct
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Enough for the headers of every format below, EXIF and ICC segments of a JPEG included.
_HEADER_BYTES = 512 * 1024


def image_size(head: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) from the first bytes of a JPEG, PNG, GIF, WebP or BMP file;
    None when the bytes are not one of them or the header is damaged."""
    try:
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            if head[12:16] != b"IHDR":
                return None
            width, height = struct.unpack(">II", head[16:24])
            return "PNG", width, height
        if head.startswith(b"\xff\xd8"):
            return _jpeg_size(head)
        if head[:6] in (b"GIF87a", b"GIF89a"):
            return _gif_size(head)
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return _webp_size(head)
        if head[:2] == b"BM":
            header_size = struct.unpack("<I", head[14:18])[0]
            if header_size == 12:  # OS/2 BITMAPCOREHEADER
                width, height = struct.unpack("<HH", head[18:22])
            else:
                width, height = struct.unpack("<ii", head[18:26])
            return "BMP", abs(width), abs(height)
    except struct.error:  # cut short
        return None
    return None


def _jpeg_size(head: bytes) -> tuple[str, int, int] | None:
    # Markers: FF xx. SOF0–SOF15 (except DHT C4, JPG C8, DAC CC) carry the frame's size; it
    # must come before the first scan (SOS, DA).
    position = 2
    while position + 4 <= len(head):
        if head[position] != 0xFF:
            return None
        marker = head[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD9)):  # markers without a length
            position += 2
            continue
        if marker == 0xDA:
            return None
        (length,) = struct.unpack(">H", head[position + 2 : position + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", head[position + 5 : position + 9])
            return "JPEG", width, height
        position += 2 + length
    return None


def _gif_size(head: bytes) -> tuple[str, int, int] | None:
    # The logical screen, and each frame's own rectangle (a frame may claim to be larger).
    width, height = struct.unpack("<HH", head[6:10])
    flags = head[10]
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    while position < len(head):
        block = head[position]
        if block == 0x2C:  # an image
            left, top, frame_w, frame_h, frame_flags = struct.unpack(
                "<HHHHB", head[position + 1 : position + 10]
            )
            width, height = max(width, left + frame_w), max(height, top + frame_h)
            position += 10
            if frame_flags & 0x80:
                position += 3 << ((frame_flags & 7) + 1)
            position += 1  # LZW minimum code size
            position = _skip_gif_blocks(head, position)
        elif block == 0x21:  # an extension
            position = _skip_gif_blocks(head, position + 2)
        else:
            break
    return "GIF", width, height


def _skip_gif_blocks(head: bytes, position: int) -> int:
    while position < len(head) and head[position]:
        position += 1 + head[position]
    return position + 1


def _webp_size(head: bytes) -> tuple[str, int, int] | None:
    kind = head[12:16]
    if kind == b"VP8X":
        width = 1 + int.from_bytes(head[24:27], "little")
        height = 1 + int.from_bytes(head[27:30], "little")
    elif kind == b"VP8L":
        bits = int.from_bytes(head[21:25], "little")
        width, height = 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    elif kind == b"VP8 ":
        width, height = struct.unpack("<HH", head[26:30])
        width, height = width & 0x3FFF, height & 0x3FFF
    else:
        return None
    return "WEBP", width, height


def _limit_text(pixels: int) -> str:
    """A pixel count as the reader counts: in 万 (ten thousands) in Chinese, "40,000,000" else."""
    chinese = (translation.get_language() or "").startswith("zh")
    return f"{pixels // 10_000}万" if chinese and pixels % 10_000 == 0 else f"{pixels:,}"


NOT_AN_IMAGE = gettext_lazy("Only image files (JPG, PNG) can be uploaded")


def image_check(
    upload: IO[bytes], *, field: str, not_an_image: object = NOT_AN_IMAGE
) -> tuple[str, int, int]:
    """(format, width, height) of an uploaded JPEG, PNG, GIF, WebP or BMP image whose header
    says it has at most IMAGE_MAX_PIXELS pixels; else a ValidationError under ``field``
    (``not_an_image`` when the header cannot be read).

    Only the header is read: call this before anything (Pillow, a PDF renderer) decodes the
    image. The file is left at its start.
    """
    upload.seek(0)
    head = upload.read(_HEADER_BYTES)
    upload.seek(0)
    found = image_size(head)
    if found is None or not found[1] or not found[2]:
        raise ValidationError({field: [not_an_image]})
    _format, width, height = found
    limit = settings.IMAGE_MAX_PIXELS
    if width * height > limit:
        raise ValidationError(
            {
                field: [
                    _(
                        "Too many pixels (%(width)s×%(height)s): an image may have at most "
                        "%(limit)s pixels. Make it smaller and upload it again"
                    )
                    % {"width": width, "height": height, "limit": _limit_text(limit)}
                ]
            }
        )
    return found


def zip_expanded_size(source) -> int | None:
    """What a zip container (.xlsx) says it unpacks to, in bytes, read from its directory without
    unpacking anything; None when it is not a zip. Python's zipfile never hands out more than a
    member's declared size, so this bounds what openpyxl can inflate (a 400 KB workbook holding a
    400 MB cell once took a web worker from 270 to 460 MB). The file position is kept."""
    import zipfile

    if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
        try:
            with zipfile.ZipFile(source) as archive:
                return sum(member.file_size for member in archive.infolist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
    position = source.tell()
    try:
        with zipfile.ZipFile(source) as archive:
            return sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    finally:
        source.seek(position)


# --- Documents (scans, evidence, attachments) and serving stored uploads ----------------------

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
NOT_A_DOCUMENT = gettext_lazy("Only JPG or PNG images or PDF files can be uploaded")
_SIGNATURES = [
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"%PDF-", "application/pdf", ".pdf"),
]


def document_type(upload, field: str = "scan") -> tuple[str, str]:
    """(content type, extension) of a JPEG, PNG or PDF upload of at most 10 MB, an image of at
    most IMAGE_MAX_PIXELS pixels by its header (core.uploads), else 422."""
    if upload.size > MAX_DOCUMENT_BYTES:
        raise ValidationError({field: [_("The file must be at most 10 MB")]})
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for signature, content_type, extension in _SIGNATURES:
        if head.startswith(signature):
            if content_type.startswith("image/"):
                # Stored as sent, yet a browser or a PDF renderer decodes it later: no bombs.
                image_check(upload, field=field, not_an_image=NOT_A_DOCUMENT)
            return content_type, extension
    raise ValidationError({field: [NOT_A_DOCUMENT]})


def private_file_response(file, content_type: str):
    """Serve a stored upload to a user already checked for scope: never cached, never sniffed."""
    response = FileResponse(file.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
