"""The simulator's heart against the heart measured on real dSprites frames.

The reference (shared/reference/dsprites.md) measured orientation 0 at scales 0.5, 0.8,
0.9 and 1.0: box, area and the filled runs of every pixel row, top to bottom, with the
position centre on a pixel corner (posX = posY = 0 puts it at (16, 16)).
"""

from __future__ import annotations

import math

import pytest
import torch

from simulators import DSprites, cache, geometry

HEART = 2
# scale class: (box width, box height, area, rows: a run or (run, run) split at the axis)
PAGE = {
    0: (10, 9, 58, [(1, 1), 8, 10, 10, 8, 8, 6, 4, 2]),
    3: (16, 14, 140, [(5, 5), (6, 6), 14, 16, 16, 14, 14, 12, 10, 8, 6, 4, 2, 2]),
    4: (18, 15, 182, [(5, 5), (7, 7), 16, 18, 18, 18, 16, 16, 14, 12, 10, 8, 6, 4, 2]),
    5: (20, 17, 222, [(5, 5), (7, 7), (8, 8), 18, 20, 20, 18, 18, 16, 16, 14, 12, 10, 8, 6, 4, 2]),
}


@pytest.fixture(scope="module")
def sim() -> DSprites:
    return DSprites()


def heart(sim, scale: int, orientation: int = 0, pos_x: int = 0, pos_y: int = 0):
    classes = torch.tensor([[HEART, scale, orientation, pos_x, pos_y]])
    return sim.render(classes)[0, 0].bool()


def runs(row: torch.Tensor) -> list[tuple[int, int]]:
    """(first column, length) of each run of filled pixels in a row."""
    found, start = [], None
    for x, on in enumerate([*row.tolist(), False]):
        if on and start is None:
            start = x
        elif not on and start is not None:
            found.append((start, x - start))
            start = None
    return found


def profile(image: torch.Tensor) -> list:
    """Rows top to bottom in the page's notation: a length, or a pair for a split row."""
    rows = [runs(r) for r in image if r.any()]
    return [r[0][1] if len(r) == 1 else tuple(length for _, length in r) for r in rows]


def centroid(image: torch.Tensor) -> tuple[float, float]:
    ys, xs = image.nonzero(as_tuple=True)
    return (xs.double() + 0.5).mean().item(), (ys.double() + 0.5).mean().item()


@pytest.mark.parametrize("scale", sorted(PAGE))
def test_rows_box_and_area_match_the_measured_frame(sim, scale):
    width, height, area, rows = PAGE[scale]
    image = heart(sim, scale)
    assert profile(image) == rows  # exactly: every row, every run
    assert abs(image.sum().item() - area) <= 3
    cols = image.any(dim=0).nonzero().squeeze(1)
    assert (cols.min().item(), cols.max().item() + 1) == (16 - width // 2, 16 + width // 2)
    assert image.any(dim=1).sum().item() == height


def test_scale_1_sits_where_the_page_puts_its_centroid(sim):
    image = heart(sim, 5)
    top = image.any(dim=1).nonzero().min().item()
    x, y = centroid(image)
    assert top == 16 - 9
    assert x == pytest.approx(16.0, abs=1e-9)
    assert y - top == pytest.approx(7.1, abs=0.05)  # page: about 7.1 rows below the top
    assert 16.0 - y == pytest.approx(1.9, abs=0.05)  # page: about 1.9 px above the centre


def test_scales_0_6_and_0_7_lie_between_the_measured_ones(sim):
    images = [heart(sim, k) for k in range(6)]
    areas = [im.sum().item() for im in images]
    widths = [im.any(dim=0).sum().item() for im in images]
    heights = [im.any(dim=1).sum().item() for im in images]
    assert areas == sorted(areas) and len(set(areas)) == 6
    assert widths == [10, 12, 14, 16, 18, 20]  # 20·scale, as at the measured scales
    assert heights[0] < heights[1] < heights[2] < heights[3]  # 9 < . < . < 14
    for k in (1, 2):  # about 222·scale², the measured areas' trend
        assert abs(areas[k] - 222 * geometry.SCALE_VALUES[k] ** 2) <= 4
        rows = profile(images[k])
        assert isinstance(rows[0], tuple) and rows[-1] == 2  # a notch and a 2-px tip
        assert max(r for r in rows if isinstance(r, int)) == widths[k]


@pytest.mark.parametrize("scale", range(6))
def test_left_right_symmetric_at_orientation_0(sim, scale):
    for pos in (0, 31):  # centre on a pixel corner: (16, 16) and (48, 48)
        image = heart(sim, scale, pos_x=pos, pos_y=pos)
        centre = 16 + 32 * pos // 31
        left = image[:, centre - 16 : centre]
        right = image[:, centre : centre + 16]
        assert torch.equal(left, right.flip(1)) and image.any()


def test_orientation_classes_0_and_39_draw_the_same_hearts(sim):
    scale_x_y = torch.cartesian_prod(torch.arange(6), torch.arange(32), torch.arange(32))
    first = torch.zeros((len(scale_x_y), 5), dtype=torch.long)
    first[:, 0] = HEART
    first[:, [1, 3, 4]] = scale_x_y
    last = first.clone()
    last[:, 2] = 39
    assert torch.equal(sim.render(first), sim.render(last))


def test_rotates_about_the_position_centre_counter_clockwise_on_screen(sim):
    pos = 15  # centre (31.48, 31.48): off the pixel grid, as most positions are
    centre = 16 + 32 * pos / 31
    offsets = []
    for k in range(39):
        x, y = centroid(heart(sim, 5, orientation=k, pos_x=pos, pos_y=pos))
        offsets.append((x - centre, centre - y))  # y up, so angles run counter-clockwise
    radii = [math.hypot(dx, dy) for dx, dy in offsets]
    assert min(radii) > 1.7 and max(radii) < 2.3  # page: a circle of about 2 px
    assert offsets[0][0] == pytest.approx(0.0, abs=0.1) and offsets[0][1] > 1.7  # above
    assert offsets[1][0] < -0.2  # the centroid moves left first
    turn = 2 * math.pi / 39  # one orientation class
    for k, (dx, dy) in enumerate(offsets):
        expected = math.pi / 2 + k * turn  # counter-clockwise from straight above
        off = (math.atan2(dy, dx) - expected + math.pi) % (2 * math.pi) - math.pi
        assert abs(off) < 0.12  # the pixel grid moves the centroid by a few degrees


def test_a_cache_rendered_with_another_heart_is_rebuilt(tmp_path, monkeypatch):
    rows = 8
    old = torch.zeros((rows, 512), dtype=torch.uint8)
    cache.save(tmp_path, old)
    assert torch.equal(cache.load_or_render(tmp_path, rows, lambda: None), old)
    before = cache.renderer_fingerprint()
    anchors = dict(geometry.HEART_ANCHORS)
    d, c, r, h0, b, tw = anchors[1.0]
    anchors[1.0] = (d, c, r + 0.01, h0, b, tw)
    monkeypatch.setattr(geometry, "HEART_ANCHORS", anchors)
    assert cache.renderer_fingerprint() != before
    new = torch.ones((rows, 512), dtype=torch.uint8)
    assert torch.equal(cache.load_or_render(tmp_path, rows, lambda: new), new)
    assert cache.load(tmp_path, rows) is not None and torch.equal(cache.load(tmp_path, rows), new)


def test_preview_shows_hearts_at_every_scale_and_a_few_orientations(sim):
    import matplotlib.pyplot as plt

    from simulators.preview import heart_classes, preview_figure

    by_scale, by_orientation = heart_classes(sim)
    assert by_scale[:, 1].tolist() == list(range(6)) and set(by_scale[:, 2].tolist()) == {0}
    assert len(set(by_orientation[:, 2].tolist())) >= 4
    assert set(by_scale[:, 0].tolist()) == set(by_orientation[:, 0].tolist()) == {HEART}
    figure = preview_figure(sim, seed=0)
    try:
        columns = 10
        last_rows = figure.axes[-2 * columns :]
        shown = [ax.images[0].get_array() for ax in last_rows if ax.images]
        expected = [im[:32, :32] for im in sim.render(torch.cat([by_scale, by_orientation]))[:, 0]]
        assert len(shown) == len(expected)
        assert all((s == e.numpy()).all() for s, e in zip(shown, expected, strict=True))
        assert "heart" in last_rows[0].get_ylabel() and "heart" in last_rows[columns].get_ylabel()
    finally:
        plt.close(figure)
