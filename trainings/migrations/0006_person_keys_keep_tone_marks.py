"""Names in person keys keep their tone marks: "Nguyễn Văn Hùng" and "Nguyễn Văn Hưng"
of one agency were one person. Keys only split, never merge, so no list gains a
duplicate; the buckets of the sessions and completions concerned are marked for the
roll-up, since who counts as distinct people may change."""

import unicodedata

from django.db import migrations


def _key(text):
    # As communes.text.name_key made it when this migration was written.
    composed = unicodedata.normalize("NFC", text)
    composed = "".join(ch for ch in composed if unicodedata.category(ch) != "Cf")
    return " ".join(composed.lower().split())


def _person_key(full_name, agency):
    return f"n:{_key(full_name)[:150]}|{_key(agency)[:200]}"


def rekey(apps, schema_editor):
    Attendance = apps.get_model("trainings", "Attendance")
    CourseEnrolment = apps.get_model("trainings", "CourseEnrolment")
    PendingRollup = apps.get_model("communes", "PendingRollup")
    marks = set()
    for model, extra in (
        (Attendance, ("session_id",)),
        (CourseEnrolment, ("completed_on", "commune_id", "district_id")),
    ):
        changed = []
        rows = model.objects.filter(person_key__startswith="n:")
        fields = ("pk", "full_name", "agency", "person_key", *extra)
        for row in rows.only(*fields).iterator(chunk_size=2000):
            key = _person_key(row.full_name, row.agency)
            if key != row.person_key:
                row.person_key = key
                changed.append(row)
        model.objects.bulk_update(changed, ["person_key"], batch_size=1000)
        if model is Attendance:
            sessions = {a.session_id for a in changed}
            for session in apps.get_model("trainings", "TrainingSession").objects.filter(
                pk__in=sessions
            ):
                marks.add((session.commune_id, session.district_id, session.starts_on))
        else:
            for enrolment in changed:
                if enrolment.completed_on:
                    marks.add((enrolment.commune_id, enrolment.district_id, enrolment.completed_on))
    PendingRollup.objects.bulk_create(
        PendingRollup(commune_id=c, district_id=d, day=day, source="trainings")
        for c, d, day in marks
    )


class Migration(migrations.Migration):
    dependencies = [
        ("communes", "0005_name_key"),
        ("trainings", "0005_authors_blank"),
    ]

    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
