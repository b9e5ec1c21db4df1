"""Community tech teams, their members, the households they visit and the visits."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from communes.models import Commune, Hamlet, VietnameseOrder
from core.models import DerivedTextModel, FileImport, FoldedNameModel
from core.text import fold, typed

from .catalogue import SERVICE_LABELS


class Service(models.Model):
    """One entry of the service catalogue that visits help residents with."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return str(SERVICE_LABELS.get(self.code, self.name))


class TeamQuerySet(models.QuerySet):
    def active(self):
        return self.filter(dissolved_on__isnull=True)


class Team(FoldedNameModel):
    """A community digital technology team (tổ công nghệ số cộng đồng) of one commune."""

    commune = models.ForeignKey(
        Commune, on_delete=models.PROTECT, related_name="teams", verbose_name=_("commune")
    )
    hamlet = models.ForeignKey(
        Hamlet,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="teams",
        verbose_name=_("hamlet"),
    )
    formed_on = models.DateField(_("formed on"))
    dissolved_on = models.DateField(_("dissolved on"), null=True, blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False)

    objects = TeamQuerySet.as_manager()

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = [VietnameseOrder("name")]
        constraints = [
            models.UniqueConstraint(
                fields=["commune", "name_key"],
                name="team_name_unique_in_commune",
                violation_error_message=_("This commune already has a team with this name."),
            ),
            models.CheckConstraint(
                condition=Q(dissolved_on__isnull=True) | Q(dissolved_on__gte=F("formed_on")),
                name="team_dissolved_after_formed",
                violation_error_message=_("A team cannot be dissolved before it was formed."),
            ),
        ]

    @property
    def is_active(self) -> bool:
        return self.dissolved_on is None


class MemberQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Member(DerivedTextModel):
    """A member of a team; the leader may have a login (their phone number)."""

    class Role(models.TextChoices):
        LEADER = "leader", _("Leader")
        DEPUTY = "deputy", _("Deputy")
        MEMBER = "member", _("Member")

    class Gender(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")

    class Affiliation(models.TextChoices):
        YOUTH_UNION = "youth_union", _("Youth union")
        POLICE = "police", _("Police")
        TEACHER = "teacher", _("Teacher")
        HAMLET_STAFF = "hamlet_staff", _("Hamlet staff")
        BANK_TELECOM = "bank_telecom", _("Bank or telecom staff")
        OTHER = "other", _("Other")

    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="members", verbose_name=_("team")
    )
    full_name = models.CharField(_("full name"), max_length=150)
    full_name_folded = models.CharField(max_length=150, editable=False, db_index=True)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True)
    birth_year = models.PositiveSmallIntegerField(
        _("year of birth"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1920), MaxValueValidator(2015)],
    )
    phone = models.CharField(
        _("phone"),
        max_length=10,
        blank=True,
        help_text=_("Mobile number; +84, spaces and old 11-digit numbers are accepted."),
    )
    role = models.CharField(_("role in the team"), max_length=10, choices=Role.choices)
    is_youth_union_member = models.BooleanField(_("youth union member"), default=False)
    affiliation = models.CharField(
        _("affiliation"), max_length=20, choices=Affiliation.choices, default=Affiliation.OTHER
    )
    on_zalo_oa = models.BooleanField(_("joined the national DX Zalo OA"), default=False)
    zalo_joined_on = models.DateField(_("joined the Zalo OA on"), null=True, blank=True)
    joined_on = models.DateField(_("joined on"))
    left_on = models.DateField(_("left on"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="member",
        verbose_name=_("login"),
    )
    is_demo = models.BooleanField(_("demo data"), default=False)
    personal_data_erased_at = models.DateTimeField(
        _("personal data erased on"), null=True, blank=True
    )

    objects = MemberQuerySet.as_manager()

    DERIVED = {"full_name_folded": ("full_name", fold)}

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = [VietnameseOrder("full_name")]
        constraints = [
            models.UniqueConstraint(
                fields=["team"],
                condition=Q(role="leader", is_active=True),
                name="one_active_leader_per_team",
                violation_error_message=_("This team already has an active leader."),
            ),
            models.UniqueConstraint(
                fields=["phone"],
                condition=Q(is_active=True) & ~Q(phone=""),
                name="phone_unique_among_active_members",
                violation_error_message=_("This phone number belongs to another active member."),
            ),
            models.CheckConstraint(
                condition=Q(is_active=True, left_on__isnull=True)
                | Q(is_active=False, left_on__isnull=False),
                name="member_left_on_iff_inactive",
                violation_error_message=_("A member who left needs the date they left."),
            ),
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(left_on__gte=F("joined_on")),
                name="member_left_after_joining",
                violation_error_message=_("A member cannot leave before joining."),
            ),
            models.CheckConstraint(
                condition=Q(on_zalo_oa=True) | Q(zalo_joined_on__isnull=True),
                name="member_zalo_date_only_when_joined",
                violation_error_message=_("Give the Zalo OA date only for a member who joined."),
            ),
        ]
        # The roll-up's roster changes of a day: who joined, left or joined the Zalo OA.
        indexes = [
            models.Index(fields=["joined_on"], name="member_joined"),
            models.Index(fields=["left_on"], name="member_left"),
            models.Index(fields=["zalo_joined_on"], name="member_zalo_joined"),
        ]

    def __str__(self) -> str:
        return self.full_name


class ReadinessChecklist(models.Model):
    """The digital-readiness checklist: yes, no, or not known (empty)."""

    has_smartphone = models.BooleanField(_("has a smartphone"), null=True, blank=True)
    vneid_level2 = models.BooleanField(_("VNeID level-2 identity activated"), null=True, blank=True)
    portal_account = models.BooleanField(
        _("has a public-service portal account"), null=True, blank=True
    )
    mobile_banking = models.BooleanField(
        _("uses mobile banking or cashless payment"), null=True, blank=True
    )
    online_shopping = models.BooleanField(_("buys or sells online"), null=True, blank=True)
    digital_address = models.BooleanField(
        _("has a national digital address"), null=True, blank=True
    )
    telemedicine = models.BooleanField(_("has a telemedicine app"), null=True, blank=True)
    knows_scams = models.BooleanField(_("knows the common online scams"), null=True, blank=True)

    class Meta:
        abstract = True


READINESS_FIELDS = (
    "has_smartphone",
    "vneid_level2",
    "portal_account",
    "mobile_banking",
    "online_shopping",
    "digital_address",
    "telemedicine",
    "knows_scams",
)


def normalize_address(label: str) -> str:
    """ "Số 12, ngõ 3" and "so 12 ngo 3" fold alike: for search and suggestions."""
    return " ".join(fold(label).replace(",", " ").replace(".", " ").split())


def address_as_written(label: str) -> str:
    """ "Số 12, ngõ Đồng" and "số 12 ngõ đồng" are one address; "Số 12, ngõ Đông" another."""
    return " ".join(typed(label).lower().replace(",", " ").replace(".", " ").split())


class Household(ReadinessChecklist, DerivedTextModel):
    """A household of a hamlet, found again by its address label."""

    commune = models.ForeignKey(
        Commune, on_delete=models.PROTECT, related_name="households_set", verbose_name=_("commune")
    )
    hamlet = models.ForeignKey(
        Hamlet, on_delete=models.PROTECT, related_name="households", verbose_name=_("hamlet")
    )
    address_label = models.CharField(
        _("address"), max_length=200, help_text=_("House number and alley, as people say it.")
    )
    address_folded = models.CharField(max_length=200, editable=False)
    address_key = models.CharField(max_length=200, editable=False, default="")
    head_name = models.CharField(_("head of household"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=10, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    is_demo = models.BooleanField(_("demo data"), default=False)

    class Consent(models.TextChoices):
        GIVEN = "given", _("Agreed to be recorded")
        DECLINED = "declined", _("Declined to be recorded")

    # The household's answer to the notice read out at the door (Decree 356/2025):
    # which notice, who asked, when. Empty for households recorded before it was asked.
    # Defaults in the database too: bulk loads (generate_load's COPY) leave them out.
    consent = models.CharField(
        _("consent to being recorded"),
        max_length=10,
        choices=Consent.choices,
        blank=True,
        default="",
        db_default="",
    )
    consent_notice = models.CharField(
        _("notice version"), max_length=20, blank=True, default="", db_default=""
    )
    consent_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("consent asked by"),
    )
    consent_recorded_at = models.DateTimeField(_("consent asked on"), null=True, blank=True)
    personal_data_erased_at = models.DateTimeField(
        _("personal data erased on"), null=True, blank=True
    )

    DERIVED = {
        "address_folded": ("address_label", normalize_address),
        # lower() lengthens a few letters ("İ" becomes two): the key keeps to its column.
        "address_key": ("address_label", lambda label: address_as_written(label)[:200]),
    }
    # The checklist fields hold the current answers: per item, the answer of the latest
    # visit that gave one. The visit services keep them in step; visits keep the history.

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["hamlet_id", "address_folded"]
        constraints = [
            models.UniqueConstraint(
                fields=["hamlet", "address_key"],
                name="household_address_unique_in_hamlet",
                violation_error_message=_("This hamlet already has a household at this address."),
            ),
        ]
        # The household picker searches a hamlet's addresses by their folded form.
        indexes = [
            models.Index(fields=["hamlet", "address_folded"], name="household_address_search")
        ]

    def __str__(self) -> str:
        return self.address_label


class Visit(ReadinessChecklist):
    """A door-to-door visit by a team to a household."""

    class Outcome(models.TextChoices):
        HELPED = "helped", _("Helped hands-on")
        INFORMED = "informed", _("Informed only")
        NOT_HOME = "not_home", _("Nobody at home")
        DECLINED = "declined", _("Declined help")

    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="visits", verbose_name=_("team")
    )
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="visits", verbose_name=_("household")
    )
    visited_on = models.DateField(_("visited on"))
    members = models.ManyToManyField(
        Member, related_name="visits", verbose_name=_("members who went")
    )
    residents_helped = models.PositiveSmallIntegerField(
        _("residents helped"), default=0, validators=[MaxValueValidator(50)]
    )
    services = models.ManyToManyField(
        Service, related_name="visits", blank=True, verbose_name=_("services")
    )
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.HELPED
    )
    notes = models.TextField(_("notes"), max_length=2000, blank=True)
    submission_id = models.UUIDField(_("submission id"), unique=True, default=uuid.uuid4)
    # What the submission said, so that a resend can be told from a different visit.
    submission_digest = models.CharField(max_length=64, editable=False, blank=True)
    created_at = models.DateTimeField(_("entered at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)
    is_demo = models.BooleanField(_("demo data"), default=False)

    # Facts recorded when the visit is written, in the same transaction (outreach/facts.py
    # says how), so that the figures never read a household's or a team's history:
    # where the visit counts, as its household was then (a household that moves later
    # leaves its past visits where they were counted), and whether it is its household's
    # first visit and its team's first visit to that household (the earliest day, then
    # the lowest id). The ranks are kept right when any visit of the household is
    # added, moved, changed or deleted, under a lock on the household row.
    commune = models.ForeignKey(
        Commune,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=_("commune"),
    )
    hamlet = models.ForeignKey(
        Hamlet,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=_("hamlet"),
    )
    first_for_household = models.BooleanField(default=False, editable=False)
    first_for_team = models.BooleanField(default=False, editable=False)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-visited_on", "-id"]
        indexes = [
            models.Index(fields=["team", "-visited_on"], name="visit_team_day"),
            models.Index(fields=["household", "visited_on"], name="visit_household_day"),
            models.Index(fields=["visited_on"], name="visit_day"),
            # The roll-up's cells: a commune's visits of some days.
            models.Index(fields=["commune", "visited_on"], name="visit_commune_day"),
        ]

    def __str__(self) -> str:
        return f"{self.household} {self.visited_on:%d/%m/%Y}"


class MemberDay(models.Model):
    """A write-time fact: the member went on at least one visit counted in the commune on
    the day. Kept by the visit services with the visits (outreach/facts.py), so that
    members out per commune and day are a count of rows, not a sort of every visit's
    members."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    commune = models.ForeignKey(Commune, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "day", "commune"], name="member_day_unique"),
        ]
        indexes = [models.Index(fields=["commune", "day"], name="member_day_commune")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.commune_id} {self.day}"


class ReadinessDay(models.Model):
    """A write-time fact: how a commune's households' current checklist answers changed
    on a day, per item: households whose answer became yes (negative: stopped being
    yes) and households answering the item for the first time (negative: a visit that
    gave their only answer was deleted). A commune's readiness now is the sum of its
    days; the visit services apply each household's change as they write its visits."""

    commune = models.ForeignKey(Commune, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    item = models.CharField(max_length=20)
    yes = models.IntegerField(default=0)
    answered = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["commune", "day", "item"], name="readiness_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.commune_id} {self.day} {self.item}"


class ReadinessLevel(models.Model):
    """A write-time fact: a commune's households' current checklist answers per item,
    the sum of its readiness days, kept by the visit services in the same statement
    batch as the days. The dashboard copies a commune's few rows when its readiness
    changed instead of adding up every day since the campaign began."""

    commune = models.ForeignKey(Commune, on_delete=models.CASCADE, related_name="+")
    item = models.CharField(max_length=20)
    yes = models.IntegerField(default=0)
    answered = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["commune", "item"], name="readiness_level_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.commune_id} {self.item}"


class MemberImport(FileImport):
    """An uploaded list of teams and members (outreach/imports.py)."""

    PROGRESS_KEY = "outreach:member-import:{pk}:progress"

    create_logins = models.BooleanField(_("create logins for the leaders"), default=False)
    # Passwords of the logins the import created, until they are downloaded once.
    new_logins = models.JSONField(default=list, blank=True, editable=False)

    class Meta(FileImport.Meta):
        verbose_name = _("member import")
        verbose_name_plural = _("member imports")
