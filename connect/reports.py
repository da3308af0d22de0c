"""Daily reports for supervisors: a page and CSV downloads over `routing.reports`."""

import csv
from dataclasses import dataclass
from datetime import date, timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from connect.board import supervisors_only
from routing import reports, selectors
from routing.csv_cells import safe_cell

DEFAULT_DAYS = 7


@dataclass(frozen=True)
class ReportRange:
    start: date
    end: date
    workgroup_id: int | None

    def query(self) -> str:
        workgroup = self.workgroup_id or ""
        return f"start={self.start.isoformat()}&end={self.end.isoformat()}&workgroup={workgroup}"


class BadRange(ValueError):
    pass


def _range(request: HttpRequest) -> ReportRange:
    today = timezone.localdate()
    try:
        start = _date(request.GET.get("start"), today - timedelta(days=DEFAULT_DAYS - 1))
        end = _date(request.GET.get("end"), today)
    except ValueError:
        raise BadRange("Dates are written YYYY-MM-DD, for example 2025-03-10.") from None
    if end < start:
        raise BadRange("The last day comes before the first day.")
    if (end - start).days >= reports.MAX_DAYS:
        raise BadRange(f"Choose at most {reports.MAX_DAYS} days.")
    workgroup = (request.GET.get("workgroup") or "").strip()
    if workgroup and not (
        workgroup.isdigit() and selectors.workgroup_by_id(int(workgroup)) is not None
    ):
        raise BadRange("That workgroup does not exist.")
    return ReportRange(start, end, int(workgroup) if workgroup else None)


def _date(given: str | None, default: date) -> date:
    return date.fromisoformat(given.strip()) if given and given.strip() else default


def seconds(duration: timedelta | None) -> str:
    return "" if duration is None else f"{duration.total_seconds():.0f}"


def score(average: float | None) -> str:
    return "" if average is None else f"{average:.2f}"


@supervisors_only
@require_GET
def reports_page(request: HttpRequest) -> HttpResponse:
    context: dict[str, object] = {"workgroups": selectors.workgroups(), "given": request.GET}
    try:
        chosen = _range(request)
    except BadRange as bad:
        context["error"] = str(bad)
        return render(request, "board/reports.html", context, status=400)
    context.update(
        chosen=chosen,
        days=reports.workgroup_days(
            start=chosen.start, end=chosen.end, workgroup_id=chosen.workgroup_id
        ),
        agents=reports.agent_days(
            start=chosen.start, end=chosen.end, workgroup_id=chosen.workgroup_id
        ),
    )
    return render(request, "board/reports.html", context)


SERVICE_LEVEL_COLUMNS = ["answers_with_target", "answers_in_target", "service_level_percent"]


def service_level_cells(row: reports.WorkgroupDay | reports.AgentDay) -> list:
    share = row.service_level
    return [
        row.answers_with_target,
        row.answers_in_target,
        "" if share is None else f"{share * 100:.1f}",
    ]


WORKGROUP_COLUMNS = [
    "day",
    "workgroup",
    "interactions",
    "answered",
    "abandoned",
    "average_wait_seconds",
    "average_handle_seconds",
    "average_after_contact_seconds",
    "messages_in",
    "messages_out",
    *SERVICE_LEVEL_COLUMNS,
    "satisfaction_average",
    "satisfaction_answers",
]
AGENT_COLUMNS = [
    "day",
    "workgroup",
    "agent",
    "picked_up",
    "disconnected",
    "messages_out",
    "lapsed",
    *SERVICE_LEVEL_COLUMNS,
    "satisfaction_average",
    "satisfaction_answers",
]


def _csv(filename: str, header: list[str], rows: list[list]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return response


def _csv_range(request: HttpRequest) -> ReportRange | HttpResponse:
    try:
        return _range(request)
    except BadRange as bad:
        return HttpResponse(str(bad), status=400, content_type="text/plain; charset=utf-8")


@supervisors_only
@require_GET
def workgroups_csv(request: HttpRequest) -> HttpResponse:
    chosen = _csv_range(request)
    if isinstance(chosen, HttpResponse):
        return chosen
    days = reports.workgroup_days(
        start=chosen.start, end=chosen.end, workgroup_id=chosen.workgroup_id
    )
    rows = [
        [
            row.day.isoformat(),
            row.workgroup,
            row.interactions,
            row.answered,
            row.abandoned,
            seconds(row.average_wait),
            seconds(row.average_handle),
            seconds(row.average_after_contact),
            row.messages_in,
            row.messages_out,
            *service_level_cells(row),
            score(row.satisfaction),
            row.satisfaction_answers,
        ]
        for row in days
    ]
    return _csv(f"workgroups-{chosen.start}-{chosen.end}.csv", WORKGROUP_COLUMNS, rows)


@supervisors_only
@require_GET
def agents_csv(request: HttpRequest) -> HttpResponse:
    chosen = _csv_range(request)
    if isinstance(chosen, HttpResponse):
        return chosen
    days = reports.agent_days(start=chosen.start, end=chosen.end, workgroup_id=chosen.workgroup_id)
    rows = [
        [
            row.day.isoformat(),
            row.workgroup,
            row.agent,
            row.picked_up,
            row.disconnected,
            row.messages_out,
            row.lapsed,
            *service_level_cells(row),
            score(row.satisfaction),
            row.satisfaction_answers,
        ]
        for row in days
    ]
    return _csv(f"agents-{chosen.start}-{chosen.end}.csv", AGENT_COLUMNS, rows)
