"""The 2025 editions and their crosswalks, as scripts/build_editions.py wrote them: the
maps a provincial office works on today, and how every unit of the old maps reaches
them. Checked against the files themselves and the facts the decrees give."""

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
NAM_DINH, NINH_BINH = 36, 37
CITY_OF_NAM_DINH, MY_LOC = 356, 358


def units_2023() -> dict[int, tuple[int, str]]:
    data = json.loads((DATA / "nam_dinh_2023.json").read_text(encoding="utf-8"))
    return {c["code"]: (d["code"], c["name"]) for d in data["districts"] for c in d["communes"]}


def edition(name: str) -> dict:
    return json.loads((DATA / f"divisions_{name}.json").read_text(encoding="utf-8"))


def units_2025_01(province: int | None = None) -> dict[int, tuple[int, str]]:
    return {
        c["code"]: (d["code"], c["name"])
        for p in edition("2025_01")["provinces"]
        if province is None or p["code"] == province
        for d in p["districts"]
        for c in d["communes"]
    }


def crosswalk(name: str) -> list[dict]:
    with (DATA / f"crosswalk_{name}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_each_edition_names_its_source_and_the_day_it_takes_effect():
    january, july = edition("2025_01"), edition("2025_07")
    assert "vietnam-provinces 0.6.0" in january["source"]
    assert "vietnam-provinces 2025.10.1" in july["source"]
    assert (january["edition"], january["effective"]) == ("2025-01", "2025-01-01")
    assert (july["edition"], july["effective"]) == ("2025-07", "2025-07-01")


def test_january_2025_nam_dinh_has_175_communes_in_9_districts_all_of_them_2023_codes():
    nam_dinh = next(p for p in edition("2025_01")["provinces"] if p["code"] == NAM_DINH)
    assert len(nam_dinh["districts"]) == 9
    assert MY_LOC not in {d["code"] for d in nam_dinh["districts"]}
    january = units_2025_01(NAM_DINH)
    assert len(january) == 175
    old = units_2023()
    assert set(january) <= set(old)
    assert len(set(old) - set(january)) == 51
    renamed = [code for code, (_d, name) in january.items() if old[code][1] != name]
    assert len(renamed) == 21
    # Hà Nam and Ninh Bình's units load too: the merged province's other parts.
    assert {p["code"] for p in edition("2025_01")["provinces"]} == {35, NAM_DINH, NINH_BINH}


def test_every_2023_commune_maps_to_exactly_one_january_2025_commune_of_its_district():
    old, january = units_2023(), units_2025_01(NAM_DINH)
    rows = crosswalk("2023_2025_01")
    assert Counter(int(r["from_code"]) for r in rows) == Counter(set(old))
    for row in rows:
        code, target = int(row["from_code"]), int(row["to_code"])
        district = old[code][0]
        assert row["from_name"] == old[code][1] and int(row["from_district"]) == district
        assert target in january, row
        assert (int(row["to_district"]), row["to_name"]) == january[target]
        # Mỹ Lộc's communes went to Nam Định city with their district.
        assert january[target][0] == (CITY_OF_NAM_DINH if district == MY_LOC else district), row
        if code in january:
            assert (target, row["decided_by"]) == (code, "same_code")
        else:
            assert row["decided_by"] in {"merged_alias", "renamed_unit"}, row
    # Every January 2025 commune is reached, by its own code at least.
    assert {int(r["to_code"]) for r in rows} == set(january)


def test_gone_communes_go_where_the_names_say():
    by_code = {int(r["from_code"]): r for r in crosswalk("2023_2025_01")}
    # Vị Hoàng is among the aliases of Vị Xuyên (13636, Trần Tế Xương's code); Vị Xuyên
    # itself (13642) is gone, and its name went to 13636.
    assert (by_code[13639]["to_code"], by_code[13639]["decided_by"]) == ("13636", "merged_alias")
    assert (by_code[13642]["to_code"], by_code[13642]["decided_by"]) == ("13636", "renamed_unit")
    assert by_code[13636]["to_name"] == "Phường Vị Xuyên"
    # A Mỹ Lộc commune into the city's Xã Mỹ Lộc.
    assert by_code[13714]["to_name"] == "Xã Mỹ Lộc" and by_code[13714]["to_district"] == "356"


def test_july_2025_ninh_binh_has_129_units_and_no_districts():
    (ninh_binh,) = edition("2025_07")["provinces"]
    assert (ninh_binh["code"], ninh_binh["name"]) == (NINH_BINH, "Tỉnh Ninh Bình")
    assert ninh_binh["districts"] == []
    assert len(ninh_binh["communes"]) == 129
    assert len({c["code"] for c in ninh_binh["communes"]}) == 129


def test_every_january_2025_unit_of_the_three_provinces_reaches_july_2025_units():
    july = {c["code"]: c["name"] for c in edition("2025_07")["provinces"][0]["communes"]}
    january = units_2025_01()
    rows = crosswalk("2025_01_2025_07")
    by_source = defaultdict(list)
    for row in rows:
        by_source[int(row["from_code"])].append(row)
        assert july[int(row["to_code"])] == row["to_name"], row
        assert (int(row["from_district"]), row["from_name"]) == january[int(row["from_code"])]
    assert set(by_source) == set(january)
    divided = 0
    for targets in by_source.values():
        if len(targets) == 1:
            assert (targets[0]["share"], targets[0]["default"]) == ("whole", ""), targets
        else:
            divided += 1
            assert {t["share"] for t in targets} == {"part"}, targets
            assert [t["default"] for t in targets].count("yes") == 1, targets
    assert divided == 6
    assert {int(r["to_code"]) for r in rows} == set(july)
    # 57 of the new province's units cover the former Nam Định.
    nam_dinh = units_2025_01(NAM_DINH)
    assert len({r["to_code"] for r in rows if int(r["from_code"]) in nam_dinh}) == 57


def test_tone_marks_tell_units_apart_in_the_crosswalks():
    """Trực Hưng and Trực Hùng fold to the same letters; each keeps its own row."""
    rows = {int(r["from_code"]): r for r in crosswalk("2025_01_2025_07")}
    assert (rows[14050]["from_name"], rows[14050]["to_name"]) == ("Xã Trực Hưng", "Xã Trực Ninh")
    assert (rows[14083]["from_name"], rows[14083]["to_name"]) == ("Xã Trực Hùng", "Xã Ninh Cường")
