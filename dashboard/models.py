"""Summary tables the dashboards read, and the records provincial staff keep for them.

The roll-up (dashboard/rollup.py) is the only writer of the summary tables: it
recomputes a (place, day) bucket from the raw rows and replaces its rows. Every row
notes when it was computed. Dashboards read these tables and the communes' own
attributes, never the raw visits, members or attendances.

Stock figures (teams, members, members on the Zalo OA) are stored as the day's
changes (formed/dissolved, joined/left): a level on any date is the sum of the changes
up to it, and each change belongs to exactly one day, so a bucket can be recomputed on
its own.
"""

import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from communes.models import Commune, District, Hamlet
from core.marks import ChangeSource
from outreach.models import READINESS_FIELDS, Service, Team
from trainings.models import Audience, Level


class PendingRollup(models.Model):
    """A (place, day) whose figures changed and wait for the dashboard's roll-up.

    Writers mark what changed (core.marks.mark_changed) in the same transaction as
    their change and dashboard/queue.py records it here; the roll-up claims rows
    by id and deletes exactly those, so a bucket marked during a run is kept for the
    next. Rows are not unique on purpose: a second mark of the same bucket must survive
    the claim of the first. A row names a commune, or a district for what happens at
    district level, or neither for the province.
    """

    commune = models.ForeignKey(Commune, on_delete=models.CASCADE, null=True, related_name="+")
    district = models.ForeignKey(District, on_delete=models.CASCADE, null=True, related_name="+")
    day = models.DateField()
    # Which figures changed: a visit never changes who was trained in the year, whose
    # recomputation reads the whole year's attendance.
    source = models.CharField(max_length=10, choices=ChangeSource.choices)
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("pending roll-up bucket")
        verbose_name_plural = _("pending roll-up buckets")
        constraints = [
            models.CheckConstraint(
                condition=Q(commune__isnull=True) | Q(district__isnull=True),
                name="pending_rollup_one_place",
            )
        ]

    def __str__(self) -> str:
        return f"{self.commune_id or self.district_id or 'province'} {self.day}"


class RollupState(models.Model):
    """The one row a roll-up run locks, and what the dashboards' caches are keyed on."""

    version = models.BigIntegerField(default=0)
    # Renewed by every run. The version alone repeats after a restore rewinds it (the
    # next runs count 11, 12... again, for other figures than the old database's 11,
    # 12...); a random generation never does, whatever database is put in place.
    generation = models.UUIDField(default=uuid.uuid4)
    last_run_at = models.DateTimeField(null=True)
    last_full_at = models.DateTimeField(null=True)
    # How long the last run, and the last full one, took: the metrics' roll-up duration.
    last_run_seconds = models.FloatField(null=True)
    last_full_seconds = models.FloatField(null=True)
    # The full run's check of the write-time facts against the raw rows: how long it
    # took, how many facts differed at the last check and in all checks so far. A
    # difference is a writer's bug, repaired by the check; monitoring alerts on growth.
    facts_check_seconds = models.FloatField(null=True)
    facts_differences_last = models.PositiveIntegerField(default=0)
    facts_differences_total = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("roll-up state")
        verbose_name_plural = _("roll-up state")

    def __str__(self) -> str:
        return f"roll-up v{self.version}"


class ServiceHeartbeat(models.Model):
    """When a background process last showed it was alive, for /healthz/figures.

    The worker writes its row from its watch every few seconds (dashboard/worker.py);
    beat's row holds the time beat sent its heartbeat task, not when a worker ran it, so
    a worker that is down is never taken for a beat that is down.
    """

    class Process(models.TextChoices):
        WORKER = "worker", _("background worker")
        BEAT = "beat", _("task scheduler")

    process = models.CharField(_("process"), max_length=10, choices=Process.choices, unique=True)
    seen_at = models.DateTimeField(_("last seen at"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.process} {self.seen_at:%Y-%m-%d %H:%M:%S}"


def summary_key(model, *, null: bool = False, indexed: bool = True, unique: bool = False):
    """A summary row's reference to a place, a team or a service.

    Not a constraint in the database: the roll-up writes these rows from raw rows that
    hold the constraints, and checking each reference at the run's commit (a lock on
    the commune or team row for each of thousands of rows) cost a third of a run's
    writes. Django's collector still deletes the rows with what they name. Not indexed
    by itself where the model's key or one of its indexes starts with it (`indexed`):
    another index to keep at every write, which no query needs."""
    if unique:
        return models.OneToOneField(
            model, on_delete=models.CASCADE, related_name="+", db_constraint=False
        )
    return models.ForeignKey(
        model,
        on_delete=models.CASCADE,
        null=null,
        related_name="+",
        db_constraint=False,
        db_index=indexed,
    )


class Computed(models.Model):
    """A summary row, which only the roll-up writes.

    Each summary model says what its columns are, never left to be guessed from their
    types: KEY_FIELDS name a row (the model's unique constraint is on exactly them, with
    NULLs equal where a key can be null), FIGURE_FIELDS are what the roll-up computes for
    it, and any other column follows from the key (a commune's district, copied so that
    district sums need no join).
    """

    KEY_FIELDS: tuple[str, ...] = ()
    FIGURE_FIELDS: tuple[str, ...] = ()
    # Running totals of figures over the key's earlier rows, which the roll-up keeps
    # after it has written the rows (name: (figure added, figure taken away or None)).
    RUNNING_TOTALS: dict[str, tuple[str, str | None]] = {}

    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        abstract = True


class CommuneDay(Computed):
    """A commune's door-to-door work and roster changes on one day."""

    KEY_FIELDS = ("commune", "day")
    # The figures that change with the teams and members, not with visits.
    ROSTER = (
        "teams_formed",
        "teams_dissolved",
        "members_joined",
        "members_left",
        "zalo_joined",
        "zalo_left",
    )
    FIGURE_FIELDS = (
        "visits",
        "households_first",
        "return_visits",
        "residents_helped",
        "teams_visiting",
        "members_visiting",
        *ROSTER,
    )

    commune = summary_key(Commune, indexed=False)
    # Copied from the commune so that district and province sums need no join.
    district = summary_key(District, indexed=False)
    day = models.DateField()
    visits = models.PositiveIntegerField(default=0)
    households_first = models.PositiveIntegerField(
        default=0, help_text="Households whose first visit ever was on this day."
    )
    return_visits = models.PositiveIntegerField(default=0)
    residents_helped = models.PositiveIntegerField(default=0)
    teams_visiting = models.PositiveIntegerField(default=0)
    members_visiting = models.PositiveIntegerField(default=0)
    teams_formed = models.PositiveIntegerField(default=0)
    teams_dissolved = models.PositiveIntegerField(default=0)
    members_joined = models.PositiveIntegerField(default=0)
    members_left = models.PositiveIntegerField(default=0)
    zalo_joined = models.PositiveIntegerField(default=0)
    zalo_left = models.PositiveIntegerField(default=0)

    # The commune's levels at the end of the day: the sums of its days up to this one.
    # A page reads a level on any date from one row per commune (the last before it),
    # never from every day since the start.
    RUNNING_TOTALS = {
        "teams_total": ("teams_formed", "teams_dissolved"),
        "members_total": ("members_joined", "members_left"),
        "zalo_members_total": ("zalo_joined", "zalo_left"),
        "households_reached_total": ("households_first", None),
        "residents_helped_total": ("residents_helped", None),
        "visits_total": ("visits", None),
    }
    teams_total = models.IntegerField(default=0, db_default=0)
    members_total = models.IntegerField(default=0, db_default=0)
    zalo_members_total = models.IntegerField(default=0, db_default=0)
    households_reached_total = models.IntegerField(default=0, db_default=0)
    residents_helped_total = models.IntegerField(default=0, db_default=0)
    visits_total = models.IntegerField(default=0, db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["commune", "day"], name="commune_day_unique"),
        ]
        indexes = [
            models.Index(fields=["district", "day"], name="commune_day_district"),
            models.Index(fields=["day"], name="commune_day_day"),
        ]

    def __str__(self) -> str:
        return f"{self.commune_id} {self.day}"


class CommuneDayService(Computed):
    """Visits on one day in a commune that helped with one service."""

    KEY_FIELDS = ("commune", "day", "service")
    FIGURE_FIELDS = ("visits",)

    commune = summary_key(Commune, indexed=False)
    district = summary_key(District, indexed=False)
    day = models.DateField()
    service = summary_key(Service)
    visits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["commune", "day", "service"], name="commune_day_service_unique"
            ),
        ]
        indexes = [models.Index(fields=["district", "day"], name="commune_service_district")]

    def __str__(self) -> str:
        return f"{self.commune_id} {self.day} {self.service_id}"


class DistrictDay(Computed):
    """A district's CommuneDay visits and first visits of one day, added up, with their
    running totals: the province's and the districts' monthly trends read, for each
    district, its totals at each month's edge (a dozen rows a district), where the
    commune rows of the same months are thousands. Kept by the roll-up from CommuneDay,
    never from raw rows."""

    KEY_FIELDS = ("district", "day")
    FIGURE_FIELDS = ("visits", "households_first")
    RUNNING_TOTALS = {
        "visits_total": ("visits", None),
        "households_first_total": ("households_first", None),
    }

    district = summary_key(District, indexed=False)
    day = models.DateField()
    visits = models.PositiveIntegerField(default=0)
    households_first = models.PositiveIntegerField(default=0)
    visits_total = models.IntegerField(default=0, db_default=0)
    households_first_total = models.IntegerField(default=0, db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["district", "day"], name="district_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.district_id} {self.day}"


class DistrictDayService(Computed):
    """A district's CommuneDayService rows of one day, added up, with each (district,
    service)'s running total: what the province's and the districts' pages read for a
    period's visits by service, two rows a district and service whatever the period
    (the level at its end less the level before its start), where the commune rows of a
    period are tens of thousands. Kept by the roll-up from CommuneDayService, never from
    raw rows."""

    # The unique index is the running totals' lookup: a (district, service)'s last row
    # on or before a day.
    KEY_FIELDS = ("district", "service", "day")
    FIGURE_FIELDS = ("visits",)
    RUNNING_TOTALS = {"visits_total": ("visits", None)}

    district = summary_key(District, indexed=False)
    service = summary_key(Service, indexed=False)
    day = models.DateField()
    visits = models.PositiveIntegerField(default=0)
    visits_total = models.IntegerField(default=0, db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["district", "service", "day"], name="district_service_day_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.district_id} {self.service_id} {self.day}"


class CommuneMonth(Computed):
    """A commune's CommuneDay rows of one month, added up: what the province's and the
    districts' pages read for every whole month of their periods, some thirty times fewer
    rows than the days. Kept by the roll-up from CommuneDay, never from raw rows."""

    KEY_FIELDS = ("commune", "month")
    # The day's figures that add up over a month (teams and members out do not).
    FIGURE_FIELDS = (
        "visits",
        "households_first",
        "return_visits",
        "residents_helped",
        *CommuneDay.ROSTER,
    )

    commune = summary_key(Commune, indexed=False)
    district = summary_key(District, indexed=False)
    month = models.DateField(help_text="The month's first day.")
    visits = models.PositiveIntegerField(default=0)
    households_first = models.PositiveIntegerField(default=0)
    return_visits = models.PositiveIntegerField(default=0)
    residents_helped = models.PositiveIntegerField(default=0)
    teams_formed = models.PositiveIntegerField(default=0)
    teams_dissolved = models.PositiveIntegerField(default=0)
    members_joined = models.PositiveIntegerField(default=0)
    members_left = models.PositiveIntegerField(default=0)
    zalo_joined = models.PositiveIntegerField(default=0)
    zalo_left = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["commune", "month"], name="commune_month_unique"),
        ]
        indexes = [models.Index(fields=["district", "month"], name="commune_month_district")]

    def __str__(self) -> str:
        return f"{self.commune_id} {self.month:%Y-%m}"


class CommuneMonthService(Computed):
    """CommuneDayService's rows of one month, added up (see CommuneMonth)."""

    KEY_FIELDS = ("commune", "month", "service")
    FIGURE_FIELDS = ("visits",)

    commune = summary_key(Commune, indexed=False)
    district = summary_key(District, indexed=False)
    month = models.DateField(help_text="The month's first day.")
    service = summary_key(Service)
    visits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["commune", "month", "service"], name="commune_month_service_unique"
            ),
        ]
        indexes = [models.Index(fields=["district", "month"], name="commune_month_service_d")]

    def __str__(self) -> str:
        return f"{self.commune_id} {self.month:%Y-%m} {self.service_id}"


class HamletDay(Computed):
    """A hamlet's door-to-door work on one day (by the visited household's hamlet)."""

    KEY_FIELDS = ("hamlet", "day")
    FIGURE_FIELDS = ("visits", "households_first", "residents_helped")

    hamlet = summary_key(Hamlet, indexed=False)
    commune = summary_key(Commune, indexed=False)
    day = models.DateField()
    visits = models.PositiveIntegerField(default=0)
    households_first = models.PositiveIntegerField(default=0)
    residents_helped = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hamlet", "day"], name="hamlet_day_unique"),
        ]
        indexes = [models.Index(fields=["commune", "day"], name="hamlet_day_commune")]

    def __str__(self) -> str:
        return f"{self.hamlet_id} {self.day}"


class TeamDay(Computed):
    """A team's visits on one day."""

    KEY_FIELDS = ("team", "day")
    FIGURE_FIELDS = ("visits", "households", "residents_helped", "households_new")

    team = summary_key(Team, indexed=False)
    commune = summary_key(Commune, indexed=False)
    day = models.DateField()
    visits = models.PositiveIntegerField(default=0)
    households = models.PositiveIntegerField(default=0)
    residents_helped = models.PositiveIntegerField(default=0)
    households_new = models.PositiveIntegerField(
        default=0, help_text="Households the team visited for the first time on this day."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "day"], name="team_day_unique"),
        ]
        indexes = [models.Index(fields=["commune", "day"], name="team_day_commune")]

    def __str__(self) -> str:
        return f"{self.team_id} {self.day}"


class TeamTotal(Computed):
    """A team's work since it started: visits, distinct households, last visit; the sums
    of its TeamDay rows (households reached: of their households_new)."""

    KEY_FIELDS = ("team",)
    FIGURE_FIELDS = ("visits", "households_reached", "last_visited_on")

    # One-to-one: unique on its key, the team.
    team = summary_key(Team, unique=True)
    commune = summary_key(Commune)
    visits = models.PositiveIntegerField(default=0)
    households_reached = models.PositiveIntegerField(default=0)
    last_visited_on = models.DateField(null=True)

    def __str__(self) -> str:
        return f"{self.team_id}"


class CommuneReadiness(Computed):
    """How many of a commune's households currently have one digital-readiness item."""

    KEY_FIELDS = ("commune", "item")
    FIGURE_FIELDS = ("households_yes", "households_answered")

    ITEMS = READINESS_FIELDS

    commune = summary_key(Commune, indexed=False)
    district = summary_key(District)
    item = models.CharField(max_length=30)
    households_yes = models.PositiveIntegerField(default=0)
    households_answered = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["commune", "item"], name="commune_readiness_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.commune_id} {self.item}"


class TrainingDay(Computed):
    """Sessions held and course completions on one day at one place, by audience.

    A row's level says where it belongs: a commune (commune and its district set), a
    district (district set) or the province (neither). Sessions count at their own
    level; course completions where the learner's agency is.
    """

    KEY_FIELDS = ("level", "district", "commune", "day", "audience")
    FIGURE_FIELDS = ("sessions_held", "attendees", "course_completions")

    level = models.CharField(max_length=10, choices=Level.choices)
    district = summary_key(District, null=True, indexed=False)
    commune = summary_key(Commune, null=True, indexed=False)
    day = models.DateField()
    audience = models.CharField(max_length=20, choices=Audience.choices)
    sessions_held = models.PositiveIntegerField(default=0)
    attendees = models.PositiveIntegerField(default=0)
    course_completions = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["level", "district", "commune", "day", "audience"],
                name="training_day_unique",
                nulls_distinct=False,
            ),
        ]
        indexes = [
            models.Index(fields=["day"], name="training_day_day"),
            models.Index(fields=["district", "day"], name="training_day_district"),
            models.Index(fields=["commune", "day"], name="training_day_commune"),
        ]

    def __str__(self) -> str:
        return f"{self.level} {self.district_id or ''} {self.commune_id or ''} {self.day}"


class TrainingYear(Computed):
    """Distinct people trained in a calendar year at a place (they do not add up over days).

    Province row: neither place set. District row: its own sessions, its communes' and
    the records of its agencies. Commune row: the commune's.
    """

    KEY_FIELDS = ("year", "district", "commune")
    FIGURE_FIELDS = ("people_trained", "officials_trained")

    year = models.PositiveSmallIntegerField()
    district = summary_key(District, null=True)
    commune = summary_key(Commune, null=True)
    people_trained = models.PositiveIntegerField(default=0)
    officials_trained = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["year", "district", "commune"],
                name="training_year_unique",
                nulls_distinct=False,
            ),
        ]
        indexes = [models.Index(fields=["year"], name="training_year_year")]

    def __str__(self) -> str:
        return f"{self.year} {self.district_id or ''} {self.commune_id or ''}"


# --- Records provincial staff keep -----------------------------------------------------


class Figure(models.TextChoices):
    TEAMS = "teams", _("Active teams")
    MEMBERS = "members", _("Active members")
    ZALO_MEMBERS = "zalo_members", _("Members on the Zalo OA")
    HOUSEHOLDS_REACHED = "households_reached", _("Households reached")
    RESIDENTS_HELPED = "residents_helped", _("Residents helped")
    OFFICIALS_TRAINED = "officials_trained", _("Officials trained")
    COURSE_COMPLETIONS = "course_completions", _("Course completions")
    SESSIONS_HELD = "sessions_held", _("Sessions held")


class Target(models.Model):
    """A year's target for one figure, for the province or split to a district or commune."""

    year = models.PositiveSmallIntegerField(_("year"), validators=[MinValueValidator(2020)])
    figure = models.CharField(_("figure"), max_length=24, choices=Figure.choices)
    district = models.ForeignKey(
        District,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("district"),
    )
    commune = models.ForeignKey(
        Commune,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("commune"),
    )
    value = models.PositiveIntegerField(_("target"), validators=[MinValueValidator(1)])
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            models.CheckConstraint(
                condition=Q(district__isnull=True) | Q(commune__isnull=True),
                name="target_one_place",
            ),
            models.UniqueConstraint(
                fields=["year", "figure"],
                condition=Q(district__isnull=True, commune__isnull=True),
                name="target_unique_province",
                violation_error_message=_("This figure already has a target for that year."),
            ),
            models.UniqueConstraint(
                fields=["year", "figure", "district"],
                condition=Q(district__isnull=False),
                name="target_unique_district",
                violation_error_message=_("This figure already has a target for that year."),
            ),
            models.UniqueConstraint(
                fields=["year", "figure", "commune"],
                condition=Q(commune__isnull=False),
                name="target_unique_commune",
                violation_error_message=_("This figure already has a target for that year."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.figure} {self.value}"


class ProvincialIndicator(models.Model):
    """Figures the province reports that come from elsewhere, entered once a year."""

    year = models.PositiveSmallIntegerField(
        _("year"), unique=True, validators=[MinValueValidator(2015)]
    )
    dti_rank = models.PositiveSmallIntegerField(_("DTI rank"), null=True, blank=True)
    dti_government_rank = models.PositiveSmallIntegerField(
        _("DTI digital government rank"), null=True, blank=True
    )
    dti_society_rank = models.PositiveSmallIntegerField(
        _("DTI digital society rank"), null=True, blank=True
    )
    dti_economy_rank = models.PositiveSmallIntegerField(
        _("DTI digital economy rank"), null=True, blank=True
    )
    ecommerce_revenue_vnd = models.PositiveBigIntegerField(
        _("e-commerce revenue (VND)"), null=True, blank=True
    )
    platform_shops = models.PositiveIntegerField(
        _("shops on the provincial e-commerce platforms"), null=True, blank=True
    )
    platform_products = models.PositiveIntegerField(
        _("products on the provincial e-commerce platforms"), null=True, blank=True
    )
    enterprises_on_platforms = models.PositiveIntegerField(
        _("enterprises on digital platforms"), null=True, blank=True
    )
    enterprises_econtract = models.PositiveIntegerField(
        _("enterprises using e-contracts"), null=True, blank=True
    )
    source = models.CharField(_("source"), max_length=300, blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("provincial indicator")
        verbose_name_plural = _("provincial indicators")
        ordering = ["-year"]
        constraints = [
            models.CheckConstraint(
                condition=Q(dti_rank__isnull=True) | Q(dti_rank__range=(1, 63)),
                name="indicator_dti_rank_range",
                violation_error_message=_("A DTI rank is between 1 and 63."),
            ),
        ]

    def __str__(self) -> str:
        return str(self.year)
