"""Filters for templates/dashboard/includes/chart.html."""

from django import template

register = template.Library()


@register.filter
def chart_rows(chart: dict | None) -> list[tuple[str, list]]:
    """The chart's numbers as table rows: each label with its value in every series.

    The chart data is by series (what Chart.js wants); a table reads by label. A value a
    series lacks for a label is None, shown as a dash.
    """
    if not chart:
        return []
    series = [s.get("values", []) for s in chart.get("series", [])]
    return [
        (label, [values[i] if i < len(values) else None for values in series])
        for i, label in enumerate(chart.get("labels", []))
    ]
