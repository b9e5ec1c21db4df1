"""Reads of the dashboard pages, in three parts: the periods a page can show
(periods.py), the units it names and who may open it (units.py), and its figures,
read from the summary tables only (figures.py). For monitoring, not the pages: how
fresh the figures are (health.py, imported from there)."""

from .figures import (
    AreaRow,
    Figures,
    Tile,
    commune_figures,
    district_figures,
    overview_figures,
    team_figures,
)
from .periods import Period, PeriodKind, period_current, period_custom
from .units import (
    CommuneUnit,
    DistrictUnit,
    Snapshot,
    TeamUnit,
    commune_in_scope,
    district_in_scope,
    landing_for,
    province_for,
    sees_province,
    snapshot,
    team_in_scope,
)

__all__ = [
    "AreaRow",
    "CommuneUnit",
    "DistrictUnit",
    "Figures",
    "Period",
    "PeriodKind",
    "Snapshot",
    "TeamUnit",
    "Tile",
    "commune_figures",
    "commune_in_scope",
    "district_figures",
    "district_in_scope",
    "landing_for",
    "overview_figures",
    "period_current",
    "period_custom",
    "province_for",
    "sees_province",
    "snapshot",
    "team_figures",
    "team_in_scope",
]
