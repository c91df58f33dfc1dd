"""Checks for uploaded documents: the type is read from the bytes, never from the name."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from core.uploads import image_check

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
NOT_A_DOCUMENT = "只能上传JPG、PNG图片或PDF文件"
_SIGNATURES = [
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"%PDF-", "application/pdf", ".pdf"),
]


def document_type(upload, field: str = "scan") -> tuple[str, str]:
    """(content type, extension) of a JPEG, PNG or PDF upload of at most 10 MB, an image of at
    most IMAGE_MAX_PIXELS pixels by its header (core.uploads), else 422."""
    if upload.size > MAX_DOCUMENT_BYTES:
        raise ValidationError({field: ["文件不能超过10MB"]})
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
    from django.http import FileResponse

    response = FileResponse(file.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
