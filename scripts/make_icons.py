"""Draw the portal's home-screen icons into static/icons/ (the web app manifest's, config/pwa.py).

Run once by hand when the mark changes; the PNGs are kept in the repository and no build
step runs this. Pure Python (zlib writes the PNG): Pillow is not a dependency.

    python scripts/make_icons.py

The mark: a white house, its door and gable window in the header's red (--brand of
static/css/portal.css), on that red. icon-192 and icon-512 have rounded corners; the
maskable icon fills its square and keeps the house inside the central circle of 40% of
its size that every launcher's mask leaves visible.
"""

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "static" / "icons"

BRAND = (0xB3, 0x26, 0x1E, 255)  # static/css/portal.css, --brand
WHITE = (255, 255, 255, 255)
CLEAR = (0, 0, 0, 0)

# The house, in a unit square (y downwards): roof, eaves and body as one outline.
HOUSE = [
    (0.50, 0.17),
    (0.86, 0.50),
    (0.76, 0.50),
    (0.76, 0.83),
    (0.24, 0.83),
    (0.24, 0.50),
    (0.14, 0.50),
]
DOOR = (0.43, 0.62, 0.57, 0.83)  # left, top, right, bottom
WINDOW = (0.50, 0.41, 0.055)  # centre x, centre y, radius

# Samples per pixel side where a pixel straddles an edge.
SAMPLES = 4


def _inside_polygon(x: float, y: float, points: list[tuple[float, float]]) -> bool:
    inside = False
    j = len(points) - 1
    for i, (xi, yi) in enumerate(points):
        xj, yj = points[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def _inside_rounded_square(x: float, y: float, radius: float) -> bool:
    if not (0 <= x <= 1 and 0 <= y <= 1):
        return False
    cx = min(max(x, radius), 1 - radius)
    cy = min(max(y, radius), 1 - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def _painter(corner_radius: float, scale: float):
    """The colour at a point of the unit square: background, then house, door, window."""

    def colour(x: float, y: float) -> tuple[int, int, int, int]:
        if corner_radius and not _inside_rounded_square(x, y, corner_radius):
            return CLEAR
        # The mark, scaled about the centre.
        mx, my = 0.5 + (x - 0.5) / scale, 0.5 + (y - 0.5) / scale
        if not _inside_polygon(mx, my, HOUSE):
            return BRAND
        left, top, right, bottom = DOOR
        if left <= mx <= right and top <= my <= bottom:
            return BRAND
        wx, wy, wr = WINDOW
        if (mx - wx) ** 2 + (my - wy) ** 2 <= wr**2:
            return BRAND
        return WHITE

    return colour


def _render(size: int, colour) -> list[bytes]:
    """Rows of RGBA pixels; a pixel whose corners differ is averaged over SAMPLES²
    points, so that edges are smooth."""
    corners = [[colour(i / size, j / size) for i in range(size + 1)] for j in range(size + 1)]
    rows = []
    for j in range(size):
        row = bytearray()
        for i in range(size):
            seen = {corners[j][i], corners[j][i + 1], corners[j + 1][i], corners[j + 1][i + 1]}
            if len(seen) == 1:
                row.extend(seen.pop())
                continue
            total = [0, 0, 0, 0]
            for sj in range(SAMPLES):
                for si in range(SAMPLES):
                    r, g, b, a = colour(
                        (i + (si + 0.5) / SAMPLES) / size, (j + (sj + 0.5) / SAMPLES) / size
                    )
                    # Premultiplied, so that a transparent sample adds no colour.
                    total[0] += r * a
                    total[1] += g * a
                    total[2] += b * a
                    total[3] += a
            alpha = total[3]
            if alpha == 0:
                row.extend(CLEAR)
            else:
                row.extend(
                    (
                        round(total[0] / alpha),
                        round(total[1] / alpha),
                        round(total[2] / alpha),
                        round(alpha / SAMPLES**2),
                    )
                )
        rows.append(bytes(row))
    return rows


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(size: int, rows: list[bytes]) -> bytes:
    """An 8-bit RGBA PNG: each row with filter type 0 (none), deflated."""
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


ICONS = {
    # name: (size, corner radius as a share of the side, scale of the mark)
    "icon-192.png": (192, 0.2, 1.0),
    "icon-512.png": (512, 0.2, 1.0),
    # Full bleed; the house (0.42 of the side from the centre at most) scaled into the
    # safe circle of radius 0.4.
    "icon-maskable-512.png": (512, 0.0, 0.85),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (size, radius, scale) in ICONS.items():
        (OUT / name).write_bytes(png(size, _render(size, _painter(radius, scale))))
        print(f"{OUT / name}")


if __name__ == "__main__":
    main()
