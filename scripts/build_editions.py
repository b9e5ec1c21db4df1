"""Generate the 2025 editions of the province's units and their crosswalks.

    communes/data/divisions_2025_01.json      Hà Nam, Nam Định, Ninh Bình on 4 January 2025
    communes/data/crosswalk_2023_2025_01.csv  each 2023 commune of Nam Định → its 2025-01 unit
    communes/data/divisions_2025_07.json      Ninh Bình from 1 July 2025 (no districts)
    communes/data/crosswalk_2025_01_2025_07.csv  each 2025-01 unit of the three → its new one(s)

Build-time only, as scripts/build_divisions.py: vietnam-provinces is GPL-licensed and
never a dependency of the portal; vietnamadminunits (MIT) is a tool here too. One
edition a throwaway environment, each with the versions it checks for:

    python -m venv /tmp/e1
    /tmp/e1/bin/pip install vietnam-provinces==0.6.0 vietnamadminunits==1.0.4
    /tmp/e1/bin/python scripts/build_editions.py 2025-01
    python -m venv /tmp/e2
    /tmp/e2/bin/pip install vietnam-provinces==2025.10.1 vietnamadminunits==1.0.4
    /tmp/e2/bin/python scripts/build_editions.py 2025-07     # reads divisions_2025_01.json

How a crosswalk row was decided is in its `decided_by` column:
- 2023 → 2025-01: `same_code` (the code persists: the unit kept it, perhaps under another
  name); `merged_alias` (vietnamadminunits lists the gone commune's name among the
  aliases of one unit of its district, Mỹ Lộc's communes looking in Nam Định city, which
  absorbed that district); `renamed_unit` (a unit of its district took the gone
  commune's name); `undecided` (none of these: an administrator settles it in the
  change's preview). The script says how many rows each way decided.
- 2025-01 → 2025-07: `converter` (vietnamadminunits' converter: a unit goes whole into
  one new unit, or, divided, into several, one of them its default); units are matched to
  the official codes of vietnam-provinces by their names within the province, since
  vietnamadminunits numbers six of the new units differently.
"""

import csv
import json
import re
import sqlite3
import sys
import unicodedata
from importlib import metadata, resources
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "communes" / "data"
MERGED = (35, 36, 37)  # Hà Nam, Nam Định, Ninh Bình: Ninh Bình from 1 July 2025
CAMPAIGN = 36
NEW_PROVINCE = 37
CITY_OF_NAM_DINH, MY_LOC = 356, 358  # Mỹ Lộc joined the city on 1 January 2025

DISTRICT_KINDS = {
    "Thành phố": "city",
    "Thị xã": "town",
    "Huyện": "rural_district",
}
COMMUNE_KINDS = {"Xã": "rural_commune", "Phường": "ward", "Thị trấn": "township"}


def key(name: str) -> str:
    """vietnamadminunits' keys: the name without diacritics, lower case, letters only."""
    name = name.replace("Đ", "D").replace("đ", "d")
    name = "".join(c for c in unicodedata.normalize("NFD", name) if unicodedata.category(c) != "Mn")
    return re.sub(r"[^a-z0-9]", "", name.lower())


TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def spelled(name: str) -> tuple[str, tuple[str, ...]]:
    """A name whatever the placement of its tone marks (Nguyễn Úy and Nguyễn Uý): its
    letters with their other marks (ư, ơ, â...) and its tones. Trực Hùng and Trực Hưng
    stay two names."""
    decomposed = unicodedata.normalize("NFD", name)
    tones = tuple(sorted(c for c in decomposed if c in TONES))
    letters = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in TONES))
    return " ".join(letters.split()), tones


def tidy(name: str) -> str:
    """The name in NFC with single spaces (vietnam-provinces 2025.10.1 has "Xã  Xuân Giang")."""
    return " ".join(unicodedata.normalize("NFC", name).split())


def kind_of(name: str, kinds: dict[str, str]) -> str:
    # By the name's prefix: vietnam-provinces 0.6.0 calls every commune-level unit "xã".
    return next(kind for prefix, kind in kinds.items() if name.startswith(prefix + " "))


def require(package: str, version: str) -> None:
    found = metadata.version(package)
    if found != version:
        raise SystemExit(f"{package} {version} is needed, not {found}")


def provinces() -> list[dict]:
    source = resources.files("vietnam_provinces") / "data" / "nested-divisions.json"
    return json.loads(source.read_text(encoding="utf-8"))


def converter() -> tuple[sqlite3.Connection, dict]:
    # Its data files, without importing the package (which needs shapely for its parser).
    data = Path(metadata.distribution("vietnamadminunits").locate_file("vietnamadminunits/data"))
    database = sqlite3.connect(str(data / "dataset.db"))
    return database, json.loads((data / "converter_2025.json").read_text(encoding="utf-8"))


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def edition_2025_01() -> None:
    require("vietnam-provinces", "0.6.0")
    require("vietnamadminunits", "1.0.4")
    units = {p["code"]: p for p in provinces() if p["code"] in MERGED}
    data = {
        "source": (
            "vietnam-provinces 0.6.0 (https://pypi.org/project/vietnam-provinces/0.6.0/), "
            "data dated 2025-01-04, from the General Statistics Office's list of "
            "administrative units; generated by scripts/build_editions.py"
        ),
        "edition": "2025-01",
        "effective": "2025-01-01",
        "provinces": [
            {
                "code": p["code"],
                "name": p["name"],
                "districts": [
                    {
                        "code": d["code"],
                        "name": tidy(d["name"]),
                        "kind": kind_of(d["name"], DISTRICT_KINDS),
                        "communes": [
                            {
                                "code": w["code"],
                                "name": tidy(w["name"]),
                                "kind": kind_of(w["name"], COMMUNE_KINDS),
                            }
                            for w in sorted(d["wards"], key=lambda w: w["code"])
                        ],
                    }
                    for d in sorted(p["districts"], key=lambda d: d["code"])
                ],
            }
            for p in (units[code] for code in MERGED)
        ],
    }
    (DATA / "divisions_2025_01.json").write_text(
        json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )

    old = json.loads((DATA / "nam_dinh_2023.json").read_text(encoding="utf-8"))
    nam_dinh = next(p for p in data["provinces"] if p["code"] == CAMPAIGN)
    new = {c["code"]: (d["code"], c["name"]) for d in nam_dinh["districts"] for c in d["communes"]}
    database, _converter = converter()
    aliases: dict[str, list[int]] = {}
    for code, alias in database.execute(
        "SELECT wardCode, wardAlias FROM admin_units_legacy WHERE provinceCode = ?", [str(CAMPAIGN)]
    ):
        for name in json.loads(alias or "[]"):
            aliases.setdefault(name, []).append(int(code))
    old_names = {c["code"]: c["name"] for d in old["districts"] for c in d["communes"]}
    # The units that kept their code under another name: a gone commune may have given it.
    renamed = {
        code: key(name)
        for code, (_district, name) in new.items()
        if code in old_names and key(old_names[code]) != key(name)
    }

    def plausible(code: int, district: int) -> bool:
        return new[code][0] == district or (district == MY_LOC and new[code][0] == CITY_OF_NAM_DINH)

    rows, decided = [], {}
    for d in old["districts"]:
        for c in d["communes"]:
            folded = key(c["name"])
            # Aliases are folded: they name a commune only when no other of its district
            # folds to the same letters (Trực Hùng and Trực Hưng of Trực Ninh do).
            alike = sum(key(o["name"]) == folded for o in d["communes"])
            by_alias = {t for t in aliases.get(folded, []) if plausible(t, d["code"])}
            by_alias = by_alias if alike == 1 else set()
            by_name = {
                t for t, name in renamed.items() if name == folded and plausible(t, d["code"])
            }
            if c["code"] in new:
                target, how = c["code"], "same_code"
            elif len(by_alias | by_name) == 1:
                (target,) = by_alias | by_name
                how = "merged_alias" if by_alias else "renamed_unit"
            else:
                target, how = None, "undecided"
            decided[how] = decided.get(how, 0) + 1
            rows.append(
                [
                    c["code"],
                    c["name"],
                    d["code"],
                    target or "",
                    new[target][1] if target else "",
                    new[target][0] if target else "",
                    how,
                ]
            )
    write_csv(
        DATA / "crosswalk_2023_2025_01.csv",
        [
            "from_code",
            "from_name",
            "from_district",
            "to_code",
            "to_name",
            "to_district",
            "decided_by",
        ],
        rows,
    )
    print(
        f"2025-01: {sum(len(d['communes']) for d in nam_dinh['districts'])} communes of Nam Định;"
    )
    print("crosswalk from 2023: " + ", ".join(f"{how} {n}" for how, n in sorted(decided.items())))


def edition_2025_07() -> None:
    require("vietnam-provinces", "2025.10.1")
    require("vietnamadminunits", "1.0.4")
    ninh_binh = next(p for p in provinces() if p["code"] == NEW_PROVINCE)
    data = {
        "source": (
            "vietnam-provinces 2025.10.1 (https://pypi.org/project/vietnam-provinces/2025.10.1/), "
            "the units in force from 2025-07-01; generated by scripts/build_editions.py"
        ),
        "edition": "2025-07",
        "effective": "2025-07-01",
        "provinces": [
            {
                "code": ninh_binh["code"],
                "name": "Tỉnh " + ninh_binh["name"].removeprefix("Tỉnh "),
                "districts": [],
                "communes": [
                    {
                        "code": w["code"],
                        "name": tidy(w["name"]),
                        "kind": kind_of(w["name"], COMMUNE_KINDS),
                    }
                    for w in sorted(ninh_binh["wards"], key=lambda w: w["code"])
                ],
            }
        ],
    }
    (DATA / "divisions_2025_07.json").write_text(
        json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    # Names decide as written (whatever the tone marks' placement): folded, Trực Hùng
    # and Trực Hưng are one key, and vietnamadminunits keeps such keys with their
    # diacritics. Its keys are read back to the names they stand for from its own
    # tables, then matched to the editions' units by those names.
    database, conversion = converter()
    province = key("Tỉnh " + ninh_binh["name"].removeprefix("Tỉnh "))
    by_name = {spelled(c["name"]): (c["code"], c["name"]) for c in data["provinces"][0]["communes"]}
    new = {
        ward_key: by_name[spelled(ward)]
        for ward_key, ward in database.execute(
            "SELECT wardKey, ward FROM admin_units WHERE provinceKey = ?", [province]
        )
    }
    january = json.loads((DATA / "divisions_2025_01.json").read_text(encoding="utf-8"))
    named = {
        (spelled(p["name"]), spelled(d["name"]), spelled(c["name"])): (
            c["code"],
            c["name"],
            d["code"],
        )
        for p in january["provinces"]
        for d in p["districts"]
        for c in d["communes"]
    }
    old = {
        f"{pk}_{dk}_{wk}": named[(spelled(p), spelled(d), spelled(w))]
        for p, d, w, pk, dk, wk in database.execute(
            "SELECT province, district, ward, provinceKey, districtKey, wardKey "
            "FROM admin_units_legacy WHERE provinceCode IN (?, ?, ?)",
            [str(code) for code in MERGED],
        )
    }
    if len(set(old.values())) != len(named) or len(set(new.values())) != len(by_name):
        raise SystemExit("vietnamadminunits' units are not the editions' units one for one")

    def unit(source: str) -> tuple:
        return old[source]

    rows = []
    for new_key, sources in conversion["DICT_PROVINCE_WARD_NO_DIVIDED"][province].items():
        code, name = new[new_key]
        for source in sources:
            rows.append([*unit(source), code, name, "whole", "", "converter"])
    for source, targets in conversion["DICT_PROVINCE_WARD_DIVIDED"].get(province, {}).items():
        for target in targets:
            code, name = new[target["newWardKey"]]
            default = "yes" if target["isDefaultNewWard"] else "no"
            rows.append([*unit(source), code, name, "part", default, "converter"])
    rows.sort(key=lambda row: (row[0], row[3]))
    missing = {code for code, _name, _district in named.values()} - {row[0] for row in rows}
    if missing:
        raise SystemExit(f"2025-01 units the converter does not map: {sorted(missing)}")
    write_csv(
        DATA / "crosswalk_2025_01_2025_07.csv",
        [
            "from_code",
            "from_name",
            "from_district",
            "to_code",
            "to_name",
            "share",
            "default",
            "decided_by",
        ],
        rows,
    )
    divided = len({row[0] for row in rows if row[5] == "part"})
    print(
        f"2025-07: {len(new)} units of Ninh Bình; crosswalk rows {len(rows)}, "
        f"{divided} units divided"
    )


if __name__ == "__main__":
    {"2025-01": edition_2025_01, "2025-07": edition_2025_07}[sys.argv[1]]()
