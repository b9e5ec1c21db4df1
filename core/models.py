"""Abstract models every app builds on: text derived from the text it is kept beside,
and an uploaded spreadsheet's life."""

from collections.abc import Callable

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .text import fold
from .text import name_key as key_of_name


class DerivedTextModel(models.Model):
    """Text stored next to the text it is derived from, for search and uniqueness.

    DERIVED maps each stored field to (its source field, the function deriving it).
    Deriving here means no write path (admin, import, command) can forget it.
    """

    DERIVED: dict[str, tuple[str, Callable[[str], str]]] = {}

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.derive()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            follow = {t for t, (source, _f) in self.DERIVED.items() if source in update_fields}
            kwargs["update_fields"] = {*update_fields, *follow}
        super().save(*args, **kwargs)

    def validate_constraints(self, exclude=None):
        # A constraint on a derived field must be checked whenever its source is,
        # though forms never carry the derived field (which would otherwise exclude it).
        self.derive()
        if exclude:
            checked = {t for t, (source, _f) in self.DERIVED.items() if source not in exclude}
            exclude = set(exclude) - checked
        super().validate_constraints(exclude=exclude)

    def derive(self) -> None:
        """Fill the derived fields; bulk_create, which skips save(), needs it called."""
        for target, (source, derive) in self.DERIVED.items():
            setattr(self, target, derive(getattr(self, source)))


class FoldedNameModel(DerivedTextModel):
    """A name that search finds whatever diacritics and case the searcher types.

    Search and suggestions use the folded name; what tells two names apart (uniqueness,
    a name typed into an import) is the name as written, in any case: "xóm Đồng" and
    "xóm Đông" are two hamlets.
    """

    name = models.CharField(_("name"), max_length=100)
    # Folding needs Python (SQLite has no unaccent), so the folded name is stored.
    name_folded = models.CharField(max_length=100, editable=False, db_index=True)
    # Composed and lower-cased in Python: PostgreSQL's lower() follows the database's
    # locale, which may know no Vietnamese capitals.
    name_key = models.CharField(max_length=100, editable=False, default="")

    # lower() lengthens a few letters ("İ" becomes two): the key keeps to its column.
    DERIVED = {"name_folded": ("name", fold), "name_key": ("name", lambda n: key_of_name(n)[:100])}

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class FileImport(models.Model):
    """An uploaded spreadsheet, checked and then applied in the background.

    The file is kept in the database (no media storage to configure) so that a worker on
    another machine can read it; the check and the apply both read it from here. The
    steps are in core/file_imports/; each import's own rows in its app's imports.py.
    """

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Waiting to be checked")
        CHECKING = "checking", _("Checking")
        CHECKED = "checked", _("Ready to import")
        INVALID = "invalid", _("Has errors")
        APPLYING = "applying", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")

    MAX_FILE_SIZE = 5 * 1024 * 1024
    # Where the apply's progress is cached, formatted with the import's pk.
    PROGRESS_KEY = "file-import:{pk}:progress"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        # An import is its uploader's working file, readable by them alone.
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    file_name = models.CharField(_("file name"), max_length=255)
    content = models.BinaryField(_("file content"))
    language = models.CharField(_("language"), max_length=10, default="vi")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.UPLOADED
    )
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    rows_total = models.PositiveIntegerField(_("rows"), default=0)
    result = models.JSONField(_("result"), default=dict, blank=True)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.file_name

    @property
    def in_progress(self) -> bool:
        return self.status in (self.Status.UPLOADED, self.Status.CHECKING, self.Status.APPLYING)

    @property
    def can_apply(self) -> bool:
        return self.status == self.Status.CHECKED

    @property
    def can_recheck(self) -> bool:
        """After a fix in the portal, or when the check never ran."""
        return self.status in (self.Status.UPLOADED, self.Status.INVALID, self.Status.FAILED)
