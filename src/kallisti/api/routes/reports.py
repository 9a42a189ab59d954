"""/report: experiments with their trials, as Kallisti's XML (rendered by
browsers through its embedded XSL), JUnit XML or an HTML page."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from kallisti.api.deps import State, Viewer
from kallisti.api.times import UtcTime
from kallisti.domain.errors import NotFound
from kallisti.domain.models import TrialStatus
from kallisti.reports import ReportFilter, ReportFormat, build_report, render_report

router = APIRouter(prefix="/report", tags=["report"])

# Kallisti's own words for its parameter (its OpenAPI document shows them).
TRIAL_ID_DESCRIPTION = (
    "[Optional] A UUID string identifying a trial to get report for the trial"
)

_CONTENT = {
    "application/xml": {"schema": {"type": "string"}},
    "text/html": {"schema": {"type": "string"}},
}


@router.get(
    "",
    response_class=Response,
    responses={200: {"content": _CONTENT, "description": "The report document."}},
)
def read_report(
    request: Request,
    state: State,
    caller: Viewer,
    trial_id: Annotated[
        str | None,
        Query(alias="trial-id", description=TRIAL_ID_DESCRIPTION),
    ] = None,
    trial_id_alias: Annotated[
        str | None,
        Query(alias="trial_id", description="Same as `trial-id`."),
    ] = None,
    format_: Annotated[
        ReportFormat | None,
        Query(
            alias="format",
            description="`xml` (Kallisti's, with its stylesheet), `junit` or "
            "`html`. Default: `html` for a browser (`Accept: text/html` first), "
            "else `xml`.",
        ),
    ] = None,
    experiment: Annotated[
        UUID | None, Query(description="Only this experiment.")
    ] = None,
    status_: Annotated[
        TrialStatus | None,
        Query(alias="status", description="Only trials in this status."),
    ] = None,
    created_after: Annotated[
        UtcTime | None, Query(description="Only trials created at or after.")
    ] = None,
    created_before: Annotated[
        UtcTime | None, Query(description="Only trials created before.")
    ] = None,
) -> Response:
    """Every live experiment with its trials, oldest first (or what the filters
    select; with a trial filter, experiments without matching trials are left
    out; with a scope label, only experiments in the caller's scope). 404 for an
    unknown or out-of-scope `trial-id` or `experiment`. Secrets are masked."""
    where = ReportFilter(
        trial_id=_trial_uuid(trial_id or trial_id_alias),
        experiment_id=experiment,
        status=status_,
        created_after=created_after,
        created_before=created_before,
        scope=state.scope_of(caller),
    )
    settings = state.settings
    report = build_report(
        state.store.engine,
        where,
        title=settings.report_header_title,
        now=state.store.clock(),
    )
    document, media_type = render_report(report, format_ or _default_format(request))
    return Response(content=document.encode("utf-8"), media_type=media_type)


def _trial_uuid(value: str | None) -> UUID | None:
    if not value:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise NotFound("Trial", value) from None


def _default_format(request: Request) -> ReportFormat:
    """HTML for a browser, Kallisti's XML for everyone else: browsers are
    dropping the in-page XSLT that Kallisti's XML relies on."""
    accept = request.headers.get("accept", "")
    first = accept.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return ReportFormat.HTML if first == "text/html" else ReportFormat.XML
