"""Headers that go with a case in an answer: its version as ETag, where it lives."""

from fastapi import Response

from handoff.services.views import CaseView


def case_answer(response: Response, case: CaseView, *, created: bool = False) -> CaseView:
    response.headers["ETag"] = f'"{case.version}"'
    if created:
        response.headers["Location"] = f"/v1/cases/{case.id}"
    return case
