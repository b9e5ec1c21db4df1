"""The dashboard's charts: the include that pages put a chart with, its numbers as text
for screen readers and print, and the Chart.js copy served from our own static files.

No database: rendering a chart must not query anything (pytest-django would fail the test).
The drawing itself is checked in a browser by the browser-test issue, not here.
"""

import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.template import Context, Template
from django.templatetags.static import static
from django.test.html import Element, parse_html
from django.utils import translation

TREND = {
    "labels": ["01/2026", "02/2026", "03/2026"],
    "series": [
        {"label": "Visits", "values": [1234567, 2000, 3]},
        # One month short: the table shows a dash, not a shifted column.
        {"label": "Households reached", "values": [10, 20]},
    ],
}

CHART_FILES = [
    "vendor/chartjs/chart.umd.min.js",
    "vendor/chartjs/LICENSE.md",
    "vendor/chartjs/README.txt",
    "js/dashboard-charts.js",
    "css/dashboard-charts.css",
    "css/print.css",
]


def render(source: str, **context) -> str:
    return Template(source).render(Context(context))


def render_trend(
    language: str = "en", chart: dict = TREND, title: str = "Visits and households"
) -> str:
    # Exactly as the dashboard pages include it.
    with translation.override(language):
        return render(
            '{% include "dashboard/includes/chart.html" with chart_id="trend" kind="line" '
            "title=title chart=trend_chart %}",
            title=title,
            trend_chart=chart,
        )


def elements(html: str | Element, name: str, **attributes: str) -> list[Element]:
    """The elements called `name` in document order, with these attribute values."""
    found = []

    def walk(node: Element) -> None:
        attrs = dict(node.attributes)
        if node.name == name and all(
            attrs.get(k.replace("_", "-")) == v for k, v in attributes.items()
        ):
            found.append(node)
        for child in node.children:
            if isinstance(child, Element):
                walk(child)

    walk(parse_html(html) if isinstance(html, str) else html)
    return found


def text(node) -> str:
    return "".join(
        child if isinstance(child, str) else text(child) for child in node.children
    ).strip()


def classes(node: Element) -> set[str]:
    return set((dict(node.attributes).get("class") or "").split())


def table_rows(html: str) -> list[list[str]]:
    (table,) = elements(html, "table")
    return [
        [text(cell) for cell in row.children if isinstance(cell, Element)]
        for row in elements(table, "tr")
    ]


def test_chart_is_a_captioned_canvas_named_for_screen_readers_and_wired_to_its_data():
    html = render_trend(title="Visits & households")

    (figure,) = elements(html, "figure")
    (caption,) = elements(figure, "figcaption")
    assert text(caption) == "Visits & households"
    (canvas,) = elements(html, "canvas")
    assert dict(canvas.attributes) == {
        "id": "chart-trend",
        "role": "img",
        "aria-label": "Visits & households",
        "data-chart-kind": "line",
        "data-chart-source": "chart-data-trend",
    }


def test_chart_numbers_travel_as_json_data_not_as_a_script_to_run():
    chart = {
        "labels": ["</script><script>alert(1)</script>"],
        "series": [{"label": "Visits", "values": [7]}],
    }
    html = render_trend(chart=chart)

    (data,) = elements(html, "script", id="chart-data-trend")
    assert dict(data.attributes)["type"] == "application/json"
    assert json.loads(text(data)) == chart
    # A policy without inline scripts will be on: nothing here may be run by the browser.
    assert "<script>alert" not in html
    assert all(
        dict(s.attributes).get("type") == "application/json" for s in elements(html, "script")
    )
    assert not re.search(r"\son[a-z]+=", html)


def test_hidden_table_gives_the_same_numbers_in_vietnamese():
    html = render_trend("vi")

    (table,) = elements(html, "table")
    assert "visually-hidden" in classes(table)
    assert table_rows(html) == [
        ["", "Visits", "Households reached"],
        ["01/2026", "1.234.567", "10"],
        ["02/2026", "2.000", "20"],
        ["03/2026", "3", "–"],
    ]


def test_hidden_table_groups_thousands_the_english_way_in_english():
    assert table_rows(render_trend("en"))[1] == ["01/2026", "1,234,567", "10"]


def test_two_charts_on_a_page_keep_their_own_ids_and_load_chartjs_once():
    html = render(
        '{% include "dashboard/includes/chart_scripts.html" %}'
        '{% include "dashboard/includes/chart.html" with chart_id="trend" kind="line" '
        'title="Trend" chart=chart %}'
        '{% include "dashboard/includes/chart.html" with chart_id="services" kind="bar" '
        'title="Services" chart=chart %}',
        chart=TREND,
    )

    assert [dict(c.attributes)["id"] for c in elements(html, "canvas")] == [
        "chart-trend",
        "chart-services",
    ]
    assert [dict(c.attributes)["data-chart-kind"] for c in elements(html, "canvas")] == [
        "line",
        "bar",
    ]
    assert len(elements(html, "script", id="chart-data-services")) == 1
    loaded = [dict(s.attributes) for s in elements(html, "script") if "src" in dict(s.attributes)]
    assert [s["src"] for s in loaded] == [
        static("vendor/chartjs/chart.umd.min.js"),
        static("js/dashboard-charts.js"),
    ]
    # Deferred: they run after the page is parsed, in order, Chart.js first.
    assert all("defer" in s for s in loaded)


@pytest.mark.parametrize("path", CHART_FILES)
def test_chart_files_are_served_from_our_own_static_files(path):
    found = finders.find(path)

    assert found, path
    assert Path(found).stat().st_size > 0


def vendored_chartjs() -> str:
    return Path(finders.find("vendor/chartjs/chart.umd.min.js")).read_text(encoding="utf-8")


def test_vendored_chartjs_loads_nothing_from_elsewhere():
    source = vendored_chartjs()

    # The map is not shipped, and collectstatic's manifest storage fails on a missing one.
    assert "sourceMappingURL" not in source
    # The only addresses are the two licence banners' home pages, inside /*! ... */ comments.
    banners = "".join(re.findall(r"/\*!.*?\*/", source, flags=re.DOTALL))
    urls = re.findall(r"https?://[^\s\"')]+", source)
    assert sorted(urls) == ["https://github.com/kurkle/color#readme", "https://www.chartjs.org"]
    assert all(url in banners for url in urls)
    assert "cdn" not in source.lower()


def test_vendored_chartjs_is_the_version_its_readme_names():
    version = re.search(r"Chart\.js v(4\.\d+\.\d+)", vendored_chartjs()).group(1)
    readme = Path(finders.find("vendor/chartjs/README.txt")).read_text(encoding="utf-8")

    assert readme.startswith(f"Chart.js {version},")
    assert "MIT License" in Path(finders.find("vendor/chartjs/LICENSE.md")).read_text(
        encoding="utf-8"
    )


def test_chart_script_looks_for_what_the_include_renders():
    # The script and the template meet only through these names; a rename on one side
    # would leave the charts blank and the numbers hidden.
    script = Path(finders.find("js/dashboard-charts.js")).read_text(encoding="utf-8")

    for name in (
        "canvas[data-chart-kind]",
        "data-chart-source",
        "chart-table",
        "visually-hidden",
        "chart-box",
    ):
        assert name in script
    assert "http" not in script
