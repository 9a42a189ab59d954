"""/report: experiments with their trials, as Kallisti's XML (rendered by
browsers through its embedded XSL), JUnit XML or an HTML page."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from kallisti.api.deps import State, Viewer
from kallisti.api.times import UtcTime
from kallisti.domain.models import TrialStatus
from kallisti.reports import ReportFilter, ReportFormat, build_report, render_report

router = APIRouter(prefix="/report", tags=["report"])

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
    state: State,
    _: Viewer,
    trial_id: Annotated[
        UUID | None,
        Query(alias="trial-id", description="Only this trial and its experiment."),
    ] = None,
    format_: Annotated[
        ReportFormat,
        Query(
            alias="format",
            description="`xml` (Kallisti's, with its stylesheet), `junit` or `html`.",
        ),
    ] = ReportFormat.XML,
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
    out). 404 for an unknown `trial-id` or `experiment`. Secrets are masked."""
    where = ReportFilter(
        trial_id=trial_id,
        experiment_id=experiment,
        status=status_,
        created_after=created_after,
        created_before=created_before,
    )
    settings = state.settings
    report = build_report(
        state.store.engine,
        where,
        title=settings.report_header_title,
        now=state.store.clock(),
    )
    document, media_type = render_report(report, format_)
    return Response(content=document.encode("utf-8"), media_type=media_type)
