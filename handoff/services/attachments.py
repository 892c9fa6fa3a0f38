"""Files for a case: the customer answers what is needed with text and files from their page, and
participants (a partner system, say) attach files; each file's SHA-256 goes into the event."""

from typing import Any

from handoff.domain import events as ev
from handoff.domain.attachments import CheckedFile, GivenFile, checked
from handoff.domain.authority import presence_via
from handoff.domain.case import Attachment
from handoff.domain.principals import Actor
from handoff.services.flow import Change, changing
from handoff.services.ports import Store
from handoff.services.views import CaseView


def answer_what_is_needed(
    db: Store,
    actor: Actor,
    case_id: str,
    note: str | None,
    files: list[GivenFile],
    *,
    expected_version: int | None = None,
) -> CaseView:
    """What the case awaited, given: from the customer's own page (`via` link), a partner
    system (`via` system), or the owner org on the customer's word."""
    given = checked(files)
    params = {"note": note}
    with changing(
        db, actor, case_id, "customer_responded", params=params, expected_version=expected_version
    ) as change:
        change.check()
        facts = _keep(change, given, actor)
        via = presence_via(actor.kind, "customer") if actor.kind != "agent" else None
        change.record(
            ev.CustomerResponded(change.text("note") or None, via=via, attachments=facts or None)
        )
        return change.done()


def attach(
    db: Store,
    actor: Actor,
    case_id: str,
    files: list[GivenFile],
    *,
    expected_version: int | None = None,
) -> CaseView:
    given = checked(files)
    with changing(
        db, actor, case_id, "add_attachments", expected_version=expected_version
    ) as change:
        change.check()
        change.record(ev.AttachmentsAdded(attachments=_keep(change, given, actor)))
        return change.done()


def _keep(change: Change, files: list[CheckedFile], actor: Actor) -> tuple[dict[str, Any], ...]:
    facts = []
    for file in files:
        attachment = Attachment(
            name=file.name,
            content_type=file.content_type,
            size=len(file.content),
            sha256=file.sha256,
            added_by=f"{actor.kind}:{actor.id}",
            case_id=change.case.id,
            created_at=change.now,
        )
        change.work.add_attachment(attachment, file.content)
        change.case.attachments.append(attachment)
        facts.append(
            {
                "id": attachment.id,
                "name": attachment.name,
                "content_type": attachment.content_type,
                "size": attachment.size,
                "sha256": attachment.sha256,
            }
        )
    return tuple(facts)
