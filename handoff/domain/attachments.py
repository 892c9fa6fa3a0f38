"""Files given for a case (SPEC §12): images and PDF, told by their content, never by their name."""

import hashlib
from dataclasses import dataclass

from handoff.domain.errors import InvalidInput, TooLarge

MAX_FILES = 5
MAX_BYTES = 10 * 1024 * 1024  # each file

# What a file's first bytes say it is.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)
_HEIF_BRANDS = (b"heic", b"heix", b"mif1", b"msf1", b"avif")


@dataclass(frozen=True)
class GivenFile:
    name: str
    content: bytes


@dataclass(frozen=True)
class CheckedFile:
    name: str
    content_type: str  # from the content
    content: bytes
    sha256: str


def content_type_of(content: bytes) -> str | None:
    """The file's type as its content shows it, or None if it is not an image or a PDF."""
    for signature, content_type in _SIGNATURES:
        if content.startswith(signature):
            return content_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content[4:8] == b"ftyp" and content[8:12] in _HEIF_BRANDS:
        return "image/avif" if content[8:12] == b"avif" else "image/heic"
    return None


def checked(files: list[GivenFile]) -> list[CheckedFile]:
    """The files a case takes: at most five, each at most 10 MB, each an image or a PDF."""
    if len(files) > MAX_FILES:
        raise InvalidInput("files", f"at most {MAX_FILES} files at once", given=len(files))
    result = []
    for file in files:
        name = file.name.strip() or "file"
        if len(file.content) > MAX_BYTES:
            raise TooLarge(f"{name} is larger than {MAX_BYTES // (1024 * 1024)} MB")
        if not file.content:
            raise InvalidInput("files", f"{name} is empty")
        content_type = content_type_of(file.content)
        if content_type is None:
            raise InvalidInput("files", f"{name} is not an image or a PDF (by its content)")
        digest = hashlib.sha256(file.content).hexdigest()
        result.append(CheckedFile(name[:255], content_type, file.content, digest))
    return result
