"""Files given for a case: partner systems attach them (multipart), readers download them."""

from typing import Annotated
from urllib.parse import quote

from fastapi import File, Response, UploadFile

from api.answers import case_answer
from api.deps import ActorDep, CaseId, CaseRouter, DbDep, IfMatch, ItemId, locks_its_case_late
from api.schemas import outputs
from handoff.domain.attachments import MAX_BYTES, MAX_FILES, GivenFile
from handoff.services import attachments, queries
from handoff.services.views import CaseView

router = CaseRouter(prefix="/v1/cases/{case_id}/attachments", tags=["attachments"])


@router.post("", response_model=outputs.Case)
@locks_its_case_late
def attach(
    case_id: CaseId,
    files: Annotated[
        list[UploadFile],
        File(min_length=1, max_length=MAX_FILES, description="Up to 5 images or PDFs, 10 MB each"),
    ],
    db: DbDep,
    actor: ActorDep,
    version: IfMatch,
    response: Response,
) -> CaseView:
    """Each file is kept with its SHA-256, which goes into the case's history."""
    given = [GivenFile(f.filename or "file", f.file.read(MAX_BYTES + 1)) for f in files]
    case = attachments.attach(db, actor, case_id, given, expected_version=version)
    return case_answer(response, case)


@router.get("/{attachment_id}", response_class=Response)
def download(case_id: CaseId, attachment_id: ItemId, db: DbDep, actor: ActorDep) -> Response:
    """The file as given, never shown inline: always a download, its type never sniffed."""
    found, content = queries.attachment(db, actor, case_id, attachment_id)
    return Response(
        content,
        media_type=found.content_type,
        headers={
            "Content-Disposition": content_disposition(found.name),
            "X-Content-Type-Options": "nosniff",
        },
    )


def content_disposition(name: str) -> str:
    """An attachment's header: an ASCII fallback name and the name itself (RFC 6266)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
