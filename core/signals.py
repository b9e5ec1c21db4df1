"""Signals an app sends to the apps built on it, which it never imports."""

from django.dispatch import Signal

# A person's personal data was erased, inside the erasure's transaction. Sent with
# sender= the person's model, instance= the person and by= who erased it (None for the
# portal itself). Receivers take that person's data out of their own records (trainings:
# the attendance lists).
personal_data_erased = Signal()

# Rows of `sender` were written without their save() or delete() (bulk_create,
# bulk_update, a queryset's update), so without Django's post_save or post_delete. Sent
# after such a write by the writers of rows that are kept in caches (the administrative
# units and hamlets, teams, members, services); what keeps those caches (a
# core.cache.Generation's renew_on) listens to it beside post_save and post_delete.
bulk_written = Signal()
