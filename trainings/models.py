"""Training sessions, conferences and online courses, and who attended them."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from communes.models import Commune, District
from core.models import FileImport
from outreach.models import Member

from .catalogue import TOPIC_LABELS

# The longest key trainings.services.person_key makes: "n:", a folded full name (150
# letters at most), "|" and a folded agency (200); an e-mail's ("e:" and 254) is shorter.
PERSON_KEY_LENGTH = 2 + 150 + 1 + 200


class Audience(models.TextChoices):
    KEY_OFFICIALS = "key_officials", _("Key officials")
    COMMUNE_OFFICIALS = "commune_officials", _("Commune officials")
    CIVIL_SERVANTS = "civil_servants", _("Civil servants and public employees")
    TEAM_MEMBERS = "team_members", _("Community team members")
    RESIDENTS = "residents", _("Residents")
    ENTERPRISES = "enterprises", _("Enterprises")
    COOPERATIVES = "cooperatives", _("Cooperatives")


# "Officials trained" counts these audiences (the province's 2023 target: about 20,000).
OFFICIAL_AUDIENCES = (
    Audience.KEY_OFFICIALS,
    Audience.COMMUNE_OFFICIALS,
    Audience.CIVIL_SERVANTS,
)


class Level(models.TextChoices):
    PROVINCE = "province", _("Province")
    DISTRICT = "district", _("District")
    COMMUNE = "commune", _("Commune")


class Topic(models.Model):
    """A subject a session covers: the curriculum, thematic and sector topics (DOMAIN.md)."""

    class Kind(models.TextChoices):
        CURRICULUM = "curriculum", _("Curriculum")
        THEMATIC = "thematic", _("Thematic conference")
        SECTOR = "sector", _("Sector")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        ordering = ["kind", "sort_order", "code"]

    def __str__(self) -> str:
        return str(TOPIC_LABELS.get(self.code, (None, self.name))[1])


class TrainingSession(models.Model):
    class Format(models.TextChoices):
        THEMATIC_CONFERENCE = "thematic_conference", _("Thematic conference for key officials")
        SECTOR_CONFERENCE = "sector_conference", _("Sector conference")
        COACHING = "coaching", _("Hands-on coaching of commune officials")
        COMMUNITY_TRAINING = "community_training", _("Community training for residents")
        ONLINE_COURSE = "online_course", _("Online course")

    class Organiser(models.TextChoices):
        DEPARTMENT = "department", _("Department of Information and Communications")
        TELECOM = "telecom", _("Telecom firm")
        BANK = "bank", _("Bank")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        HELD = "held", _("Held")
        CANCELLED = "cancelled", _("Cancelled")

    title = models.CharField(_("title"), max_length=200)
    format = models.CharField(_("format"), max_length=24, choices=Format.choices)
    topics = models.ManyToManyField(Topic, related_name="sessions", verbose_name=_("topics"))
    audience = models.CharField(_("audience"), max_length=20, choices=Audience.choices)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    district = models.ForeignKey(
        District,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="training_sessions",
        verbose_name=_("district"),
    )
    commune = models.ForeignKey(
        Commune,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="training_sessions",
        verbose_name=_("commune"),
    )
    organiser = models.CharField(
        _("organiser"), max_length=12, choices=Organiser.choices, default=Organiser.DEPARTMENT
    )
    organiser_name = models.CharField(
        _("organiser's name"), max_length=150, blank=True, help_text=_("For example VNPT Nam Định.")
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    capacity = models.PositiveIntegerField(_("capacity"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PLANNED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    created_at = models.DateTimeField(_("entered at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)
    is_demo = models.BooleanField(_("demo data"), default=False)

    class Meta:
        verbose_name = _("training session")
        verbose_name_plural = _("training sessions")
        ordering = ["-starts_on", "-id"]
        indexes = [models.Index(fields=["starts_on"], name="session_start")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")),
                name="session_ends_after_start",
                violation_error_message=_("The end date cannot be before the start date."),
            ),
            # The place follows the level: a commune for commune sessions, a district for
            # district sessions, neither for provincial ones.
            models.CheckConstraint(
                condition=Q(level="province", district__isnull=True, commune__isnull=True)
                | Q(level="district", district__isnull=False, commune__isnull=True)
                | Q(level="commune", district__isnull=True, commune__isnull=False),
                name="session_place_matches_level",
                violation_error_message=_("The place does not match the session's level."),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Attendance(models.Model):
    """A named attendee: a team member, or anyone else by name and agency."""

    session = models.ForeignKey(
        TrainingSession,
        on_delete=models.CASCADE,
        related_name="attendances",
        verbose_name=_("session"),
    )
    member = models.ForeignKey(
        Member,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="attendances",
        verbose_name=_("team member"),
    )
    full_name = models.CharField(_("full name"), max_length=150)
    agency = models.CharField(_("agency"), max_length=200, blank=True)
    position = models.CharField(_("position"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=10, blank=True)
    # Who the person is across sessions: the member, else their phone, else their folded
    # name and agency. One person attends a session once; distinct people count once.
    person_key = models.CharField(max_length=PERSON_KEY_LENGTH, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    is_demo = models.BooleanField(_("demo data"), default=False)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendances")
        ordering = ["session", "full_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "person_key"],
                name="attendance_once_per_person",
                violation_error_message=_("This person is already on the session's list."),
            ),
        ]
        indexes = [models.Index(fields=["person_key"], name="attendance_person")]

    def __str__(self) -> str:
        return self.full_name


class Headcount(models.Model):
    """The counted attendance of a mass session, where names are not taken.

    The total covers everyone present, named attendees included, so it is never below
    the number of names on the list.
    """

    session = models.OneToOneField(
        TrainingSession,
        on_delete=models.CASCADE,
        related_name="headcount",
        verbose_name=_("session"),
    )
    total = models.PositiveIntegerField(_("people present"))
    women = models.PositiveIntegerField(_("of whom women"), default=0)
    working_age = models.PositiveIntegerField(_("of working age"), default=0)
    priority_groups = models.PositiveIntegerField(_("from priority groups"), default=0)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now=True)

    class Meta:
        verbose_name = _("headcount")
        verbose_name_plural = _("headcounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(women__lte=F("total"))
                & Q(working_age__lte=F("total"))
                & Q(priority_groups__lte=F("total")),
                name="headcount_parts_within_total",
                violation_error_message=_("A part of the headcount cannot exceed its total."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session_id}: {self.total}"


class CourseEnrolment(models.Model):
    """A learner of an online course (MOOC), from the course platform's export."""

    course = models.CharField(_("course"), max_length=200)
    full_name = models.CharField(_("full name"), max_length=150)
    agency = models.CharField(_("agency"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=10, blank=True)
    person_key = models.CharField(max_length=PERSON_KEY_LENGTH, editable=False)
    audience = models.CharField(
        _("audience"), max_length=20, choices=Audience.choices, default=Audience.CIVIL_SERVANTS
    )
    # Where the completion counts: the commune or district the agency names, else the
    # province (both empty).
    commune = models.ForeignKey(
        Commune, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    district = models.ForeignKey(
        District, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    enrolled_on = models.DateField(_("enrolled on"), null=True, blank=True)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2, null=True, blank=True)
    imported_at = models.DateTimeField(_("imported at"), auto_now=True)
    is_demo = models.BooleanField(_("demo data"), default=False)

    class Meta:
        verbose_name = _("course enrolment")
        verbose_name_plural = _("course enrolments")
        ordering = ["course", "full_name"]
        constraints = [
            # Re-importing updates a learner's record; it never adds a second one.
            models.UniqueConstraint(
                fields=["course", "person_key"], name="enrolment_once_per_course"
            ),
            models.CheckConstraint(
                condition=Q(commune__isnull=True) | Q(district__isnull=True),
                name="enrolment_one_place",
            ),
            models.CheckConstraint(
                condition=Q(completed_on__isnull=True)
                | Q(enrolled_on__isnull=True)
                | Q(completed_on__gte=F("enrolled_on")),
                name="enrolment_completed_after_enrolled",
                violation_error_message=_("A course cannot be completed before enrolling."),
            ),
        ]
        indexes = [models.Index(fields=["completed_on"], name="enrolment_completed")]

    def __str__(self) -> str:
        return f"{self.full_name} — {self.course}"


class CourseImport(FileImport):
    """An uploaded enrolment and completion list of the online-course platform
    (trainings/imports.py)."""

    PROGRESS_KEY = "trainings:course-import:{pk}:progress"

    class Meta(FileImport.Meta):
        verbose_name = _("course import")
        verbose_name_plural = _("course imports")
