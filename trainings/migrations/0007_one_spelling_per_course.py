"""A course spelled in two cases ("CHUYỂN ĐỔI SỐ..." and "Chuyển đổi số...") was two
courses, and a learner imported under both counted twice. Each course keeps the
spelling most of its records use; a learner's second record of the same course is
merged into the first (the completed one, else the latest imported); the buckets of the
completions concerned are marked for the roll-up."""

import unicodedata
from collections import Counter, defaultdict

from django.db import migrations


def _key(text):
    # As communes.text.name_key made it when this migration was written.
    composed = unicodedata.normalize("NFC", text)
    composed = "".join(ch for ch in composed if unicodedata.category(ch) != "Cf")
    return " ".join(composed.lower().split())


def _bucket(record):
    if record.completed_on is None:
        return None
    return (record.commune_id, record.district_id, record.completed_on)


def merge_course_spellings(apps, schema_editor):
    CourseEnrolment = apps.get_model("trainings", "CourseEnrolment")
    PendingRollup = apps.get_model("communes", "PendingRollup")
    spellings = Counter(CourseEnrolment.objects.values_list("course", flat=True))
    by_key = defaultdict(list)
    for course in spellings:
        by_key[_key(course)].append(course)
    marks = set()
    for names in by_key.values():
        if len(names) < 2:
            continue
        canonical = max(names, key=lambda name: (spellings[name], -names.index(name)))
        records = defaultdict(list)
        for record in CourseEnrolment.objects.filter(course__in=names).order_by("pk"):
            records[record.person_key].append(record)
        for person_records in records.values():
            # The record kept: a completed one first, then the latest imported.
            person_records.sort(
                key=lambda r: (r.completed_on is not None, r.imported_at, r.pk), reverse=True
            )
            kept, *merged = person_records
            for record in merged:
                marks.add(_bucket(record))
                record.delete()
            if kept.course != canonical:
                kept.course = canonical
                kept.save(update_fields=["course"])
            marks.add(_bucket(kept))
    PendingRollup.objects.bulk_create(
        PendingRollup(commune_id=c, district_id=d, day=day, source="trainings")
        for c, d, day in filter(None, marks)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("communes", "0005_name_key"),
        ("trainings", "0006_person_keys_keep_tone_marks"),
    ]

    operations = [migrations.RunPython(merge_course_spellings, migrations.RunPython.noop)]
