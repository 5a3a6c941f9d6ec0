"""Fit the simulator's heart to the row profiles measured on real dSprites frames.

    python bench/fit_heart.py check   # the shipped anchors: row errors, pixel margins
    python bench/fit_heart.py iou     # IoU of this checkout's heart against the page's rows
    python bench/fit_heart.py fit     # search a template and the anchors again (minutes)

The page (shared/reference/dsprites.md) gives, at orientation 0 and scales 0.5, 0.8, 0.9
and 1.0, the filled runs of every pixel row of the heart, top to bottom. The model is the
one simulators/geometry.py draws (see the comment above HEART_ANCHORS): lobes (d, c, r),
the turned square's sides (m, h0), the tip (b, tw). `fit` searches, in float64 on pixel
centres with the position centre on a pixel corner (posX = posY = 0),
  1. one scale-1 template whose lengths, multiplied by the scale, best reproduce the four
     tables (random search, then a shrinking random walk), and
  2. per measured scale, the smallest move from the scaled template that reproduces that
     table exactly with every pixel centre at least MARGIN px from the outline.
The error of a frame counts, per half row, the pixels too many or too few, a gap at the
axis where the page has none (or none where it has one) and any second run; at scale 1
the top row is pinned 9 px above the centre (the page's centroid, 1.9 px above it), the
other scales may sit at any whole-row height (the page does not give it).

The search is random: another seed finds another template of the same quality (seed 0
here: d 4.760, c 4.322, r 4.783, m 1.037, h0 8.453, b 8.277, tw 0.750, one row off at 0.9
and at 1.0). The shipped anchors came from an earlier run of the same two steps, whose
template (d 4.821, c 4.390, r 4.786, m 1.069, h0 8.615, b 8.167, tw 0.988) was one row
off at 0.8 and at 0.9; `check` verifies them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulators import DSprites, geometry

# The page's rows: an int is one run of that many pixels centred on the axis, a pair is
# two runs of that many pixels with a gap at the axis.
PAGE_ROWS = {
    0.5: [(1, 1), 8, 10, 10, 8, 8, 6, 4, 2],
    0.8: [(5, 5), (6, 6), 14, 16, 16, 14, 14, 12, 10, 8, 6, 4, 2, 2],
    0.9: [(5, 5), (7, 7), 16, 18, 18, 18, 16, 16, 14, 12, 10, 8, 6, 4, 2],
    1.0: [(5, 5), (7, 7), (8, 8), 18, 20, 20, 18, 18, 16, 16, 14, 12, 10, 8, 6, 4, 2],
}
SCALE_CLASS = {0.5: 0, 0.8: 3, 0.9: 4, 1.0: 5}
TOP_AT_SCALE_1 = -9  # the top row covers y in [-9, -8) at scale 1
MARGIN = 0.01
NAMES = ("d", "c", "r", "m", "h0", "b", "tw")
LENGTHS = [0, 1, 2, 4, 5, 6]  # every parameter but the slope m scales with the sprite

ROWS = torch.arange(-14, 14, dtype=torch.float64) + 0.5  # pixel-centre y, local frame
COLS = torch.arange(0, 14, dtype=torch.float64) + 0.5  # pixel-centre w = |x|, right half


def inside_distance(p: torch.Tensor) -> torch.Tensor:
    """(N, rows, cols) signed distance-like field: > 0 inside, |value| ≤ distance in px."""
    d, c, r, m, h0, b, tw = (p[:, i, None, None] for i in range(7))
    w, y = COLS[None, None, :], ROWS[None, :, None]
    norm = (1 + m * m).sqrt()
    lobe = r - ((w - d) ** 2 + (y + c) ** 2).sqrt()
    upper = (y + c - m * (w - d)) / norm
    lower = torch.maximum((h0 - m * y - w) / norm, tw - w)
    body = torch.minimum(torch.minimum(upper, y + c), torch.minimum(lower, b - y))
    return torch.maximum(lobe, body)


def half_rows(rows: list) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixels per half row and whether the row has a gap at the axis."""
    count = torch.tensor([r[0] if isinstance(r, tuple) else r // 2 for r in rows])
    return count, torch.tensor([isinstance(r, tuple) for r in rows])


def row_error(images: torch.Tensor, rows: list, top: int | None) -> torch.Tensor:
    """(N,) mismatch of right-half images (N, rows, cols) with the page's rows."""
    count = images.sum(2)
    gap = ~images[:, :, 0] & (count > 0)
    runs = (images[:, :, 1:] & ~images[:, :, :-1]).sum(2) + images[:, :, 0].long()
    want_count, want_gap = half_rows(rows)
    first = (count > 0).float().argmax(1) if top is None else torch.full((len(images),), top)
    index = (first[:, None] + torch.arange(len(rows))).clamp(max=images.shape[1] - 1)
    got = count.gather(1, index)
    error = (got - want_count).abs().sum(1) + 3 * (gap.gather(1, index) != want_gap).sum(1)
    return error + (count.sum(1) - got.sum(1)) + 5 * (runs > 1).sum(1)


def frame_error(p: torch.Tensor, scale: float) -> torch.Tensor:
    top = TOP_AT_SCALE_1 - int(ROWS[0] - 0.5) if scale == 1.0 else None
    return row_error(inside_distance(p) > 0, PAGE_ROWS[scale], top)


def margin(p: torch.Tensor) -> torch.Tensor:
    return inside_distance(p).abs().flatten(1).min(1).values


def scaled(template: torch.Tensor, scale: float) -> torch.Tensor:
    out = template.clone()
    out[..., LENGTHS] *= scale
    return out


def total_error(templates: torch.Tensor) -> torch.Tensor:
    return sum(frame_error(scaled(templates, s), s) for s in PAGE_ROWS)


def search_template(generator: torch.Generator) -> torch.Tensor:
    low = torch.tensor([4.0, 3.5, 4.0, 0.7, 6.5, 7.0, 0.0], dtype=torch.float64)
    high = torch.tensor([5.5, 5.5, 5.5, 1.3, 10.0, 9.5, 1.6], dtype=torch.float64)
    samples = low + (high - low) * torch.rand(100_000, 7, generator=generator, dtype=torch.float64)
    errors = total_error(samples)
    best, best_error = samples[errors.argmin()], int(errors.min())
    step = (high - low) * 0.04
    for round_ in range(40):
        moves = best + step * torch.randn(3000, 7, generator=generator, dtype=torch.float64)
        errors = total_error(moves)
        if int(errors.min()) <= best_error:
            best, best_error = moves[errors.argmin()], int(errors.min())
        if round_ % 10 == 9:
            step = step * 0.6
    return best


def anchor(template: torch.Tensor, scale: float, generator: torch.Generator) -> torch.Tensor:
    """The nearest parameters to the scaled template that reproduce the table exactly."""
    start = scaled(template, scale)
    weight = torch.tensor([1, 1, 1, 0.1, 1, 1, 0.5], dtype=torch.float64)  # m: fixed-ish

    def feasible(candidates: torch.Tensor) -> torch.Tensor:
        return (frame_error(candidates, scale) == 0) & (margin(candidates) >= MARGIN)

    def nearest(candidates: torch.Tensor) -> torch.Tensor:
        ok = candidates[feasible(candidates)]
        return ok[((ok - start) / weight).norm(dim=1).argmin()] if len(ok) else None

    best = None
    for radius in (0.03, 0.06, 0.1, 0.2, 0.3, 0.5):
        noise = torch.randn(20_000, 7, generator=generator, dtype=torch.float64)
        best = nearest(start + radius * noise * weight)
        if best is not None:
            break
    if best is None:
        raise SystemExit(f"no exact fit near the template at scale {scale}")
    for _ in range(15):  # pull towards the template while staying exact
        pull = torch.rand(3000, 1, generator=generator, dtype=torch.float64)
        noise = 0.01 * torch.randn(3000, 7, generator=generator, dtype=torch.float64)
        closer = nearest(torch.cat([best[None], best + (start - best) * pull + noise * weight]))
        best = closer if closer is not None else best
    return best


def shipped(scale: float) -> torch.Tensor:
    d, c, r, h0, b, tw = geometry.HEART_ANCHORS[scale]
    return torch.tensor([[d, c, r, geometry.HEART_SIDE_SLOPE, h0, b, tw]], dtype=torch.float64)


def page_image(scale: float, gaps: list[int], top: int) -> torch.Tensor:
    """The page's rows as a 64×64 frame centred at (16, 16), two-run rows with `gaps`."""
    image = torch.zeros(64, 64, dtype=torch.bool)
    pairs = iter(gaps)
    for i, row in enumerate(PAGE_ROWS[scale]):
        if isinstance(row, tuple):
            gap = next(pairs)
            image[top + i, 16 + gap // 2 : 16 + gap // 2 + row[0]] = True
            image[top + i, 16 - gap // 2 - row[0] : 16 - gap // 2] = True
        else:
            image[top + i, 16 - row // 2 : 16 + row // 2] = True
    return image


def best_page_iou(rendered: torch.Tensor, scale: float) -> float:
    """IoU with the page's rows, placed as well as the page leaves open: the gap of each
    two-run row (even, ≥ 2 px, inside the box) and, except at scale 1, the height."""
    width = max(r if isinstance(r, int) else 0 for r in PAGE_ROWS[scale])
    pairs = [r[0] for r in PAGE_ROWS[scale] if isinstance(r, tuple)]
    options = [[g for g in range(2, width - 2 * n + 1, 2)] for n in pairs]
    tops = [16 + TOP_AT_SCALE_1] if scale == 1.0 else range(0, 64 - len(PAGE_ROWS[scale]))
    best = 0.0
    for top in tops:
        for gaps in torch.cartesian_prod(*[torch.tensor(o) for o in options]).reshape(
            -1, len(options)
        ):
            page = page_image(scale, gaps.tolist(), top)
            union = (page | rendered).sum().item()
            best = max(best, (page & rendered).sum().item() / union)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("check", "iou", "fit"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.mode == "check":
        for scale in PAGE_ROWS:
            p = shipped(scale)
            print(
                f"scale {scale}: row error {int(frame_error(p, scale))}, "
                f"nearest pixel centre {float(margin(p)):.4f} px from the outline"
            )
    elif args.mode == "iou":
        sim = DSprites()
        for scale, k in SCALE_CLASS.items():
            image = sim.render(torch.tensor([[2, k, 0, 0, 0]]))[0, 0].bool()
            print(f"scale {scale}: IoU {best_page_iou(image, scale):.3f}")
    else:
        generator = torch.Generator().manual_seed(args.seed)
        template = search_template(generator)
        print("template", dict(zip(NAMES, (round(x, 3) for x in template.tolist()), strict=True)))
        print(
            "template errors",
            {s: int(frame_error(scaled(template[None], s), s)) for s in PAGE_ROWS},
        )
        for scale in PAGE_ROWS:
            best = anchor(template, scale, generator)
            moved = (best - scaled(template, scale)).abs().max().item()
            print(f"{scale}: ({', '.join(f'{x:.3f}' for x in best.tolist())}) moved {moved:.3f}")


if __name__ == "__main__":
    main()
