"""Which commune or district a free text (an agency's name) names, by the rule of
core/names.py: as written when the text has tone marks, folded when it has none."""

from collections.abc import Iterable

from core.names import name_words
from core.text import fold, has_marks


class PlaceNames:
    """The province's communes and districts, to find the one a text names.

    For an agency's name ("UBND xã Hải Đông, huyện Hải Hậu"): names are looked for as
    written when the text has tone marks, and folded when it has none at all; a name two
    units share (folded, "xa truc hung" is Xã Trực Hùng and Xã Trực Hưng) names neither.
    """

    def __init__(self, communes: Iterable, districts: Iterable):
        self.communes = {c.pk: c for c in communes}
        self.districts = {d.pk: d for d in districts}
        places = [((c.pk, c.district_id), c.name) for c in self.communes.values()]
        places += [((None, d.pk), d.name) for d in self.districts.values()]
        self._written = self._unique((name_words(name), place) for place, name in places)
        self._folded = self._unique((name_words(name, fold), place) for place, name in places)

    @classmethod
    def load(cls) -> "PlaceNames":
        from .models import Commune, District

        return cls(
            Commune.objects.only("pk", "name", "district_id"),
            District.objects.only("pk", "name", "code"),
        )

    @staticmethod
    def _unique(pairs) -> dict[str, tuple[int | None, int]]:
        found: dict[str, list] = {}
        for name, place in pairs:
            found.setdefault(name, []).append(place)
        return {name: places[0] for name, places in found.items() if len(places) == 1}

    def place_of(self, text: str) -> tuple[int | None, int | None]:
        """The (commune id, district id) the text names; (None, None) when none.

        A name held only inside a longer one is not taken ("Xã Hải Minh" in "Xã Hải Minh
        Đông"); a commune wins over its district ("xã Hải Đông, huyện Hải Hậu"); two
        communes named give their district, if they share one.
        """
        if has_marks(text):
            names, words = self._written, f" {name_words(text)} "
        else:
            names, words = self._folded, f" {name_words(text, fold)} "
        matched = {name: place for name, place in names.items() if f" {name} " in words}
        places = {
            place
            for name, place in matched.items()
            if not any(other != name and f" {name} " in f" {other} " for other in matched)
        }
        communes = {place for place in places if place[0] is not None}
        if len(communes) == 1:
            return communes.pop()
        districts = {district for _commune, district in places}
        if len(districts) == 1:
            return None, districts.pop()
        return None, None
