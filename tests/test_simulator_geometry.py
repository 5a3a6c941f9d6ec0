"""The procedural sprites against the geometry measured on the real dSprites images."""

from __future__ import annotations

import math

import pytest
import torch

from simulators import DSprites, geometry

SQUARE, ELLIPSE, HEART = 0, 1, 2
SMALL, LARGE = 0, 5  # scale classes of 0.5 and 1.0


@pytest.fixture(scope="module")
def sim() -> DSprites:
    return DSprites()


def all_positions(shape: int, scale: int, orientation: int = 0) -> torch.Tensor:
    grid = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    positions = torch.stack([g.reshape(-1) for g in grid], dim=1)
    fixed = torch.tensor([shape, scale, orientation]).expand(len(positions), 3)
    return torch.cat([fixed, positions], dim=1)


def extent(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Bounding-box width and height in pixels of each (n, 64, 64) image."""
    return (images.amax(dim=1) > 0).sum(dim=1), (images.amax(dim=2) > 0).sum(dim=1)


# (shape, scale class, reference area, reference width, reference height, area tolerance)
REFERENCE = [
    (SQUARE, SMALL, 100, 10, 10, 0.0),
    (SQUARE, LARGE, 400, 20, 20, 0.0),
    (ELLIPSE, SMALL, 76, 12, 8, 0.05),
    (ELLIPSE, LARGE, 288, 26, 14, 0.03),
    (HEART, SMALL, 58, 10, 9, 0.05),
    (HEART, LARGE, 222, 20, 17, 0.03),
]


@pytest.mark.parametrize(("shape", "scale", "area", "width", "height", "tolerance"), REFERENCE)
def test_area_and_bounding_box_match_the_reference(
    sim, shape, scale, area, width, height, tolerance
):
    images = sim.render(all_positions(shape, scale))[:, 0]
    areas = images.sum(dim=(1, 2))
    # The mean over all 1024 positions is the measured area; single positions vary by a
    # few pixels with the sub-pixel phase of the centre.
    assert abs(areas.mean().item() - area) <= max(tolerance * area, 0.5)
    # A 10-px sprite gains or loses whole boundary rows with that phase: at least 8 px.
    assert (areas - area).abs().max().item() <= max(0.12 * area, 8)
    widths, heights = extent(images)
    assert widths.sub(width).abs().max().item() <= 1
    assert heights.sub(height).abs().max().item() <= 1
    # At position 0 the centre (16, 16) is a pixel corner: the box is exactly the reference.
    at_origin = sim.render(torch.tensor([[shape, scale, 0, 0, 0]]))[:, 0]
    w0, h0 = extent(at_origin)
    assert (w0.item(), h0.item()) == (width, height)


def test_centre_maps_position_zero_to_16_and_one_to_48(sim):
    for pos, centre in ((0, 16.0), (31, 48.0)):
        image = sim.render(torch.tensor([[SQUARE, LARGE, 0, pos, pos]]))[0, 0]
        ys, xs = image.nonzero(as_tuple=True)
        assert (xs.float() + 0.5).mean().item() == pytest.approx(centre)
        assert (ys.float() + 0.5).mean().item() == pytest.approx(centre)


def test_heart_points_down_with_its_centroid_above_the_position_centre(sim):
    image = sim.render(torch.tensor([[HEART, LARGE, 0, 0, 0]]))[0, 0]
    ys, _ = image.nonzero(as_tuple=True)
    centroid_y = (ys.float() + 0.5).mean().item()
    assert 13.9 < centroid_y < 14.3  # 1.9 px above the centre (test_simulator_heart.py)
    rows = image.sum(dim=1)
    top, bottom = ys.min().item(), ys.max().item()
    assert rows[bottom] < rows[top + 3]  # the tip is narrower than the lobes
    # The notch: at the top row the middle column is empty while the lobes are not.
    assert image[top, 15:17].sum() == 0 and image[top].sum() > 0


def test_rotation_is_about_the_centre_and_keeps_the_square_area(sim):
    rotated = sim.render(all_positions(SQUARE, LARGE, orientation=5))[:, 0]
    assert rotated.sum(dim=(1, 2)).sub(400).abs().max().item() <= 8
    image = sim.render(torch.tensor([[SQUARE, LARGE, 5, 10, 20]]))[0, 0]
    ys, xs = image.nonzero(as_tuple=True)
    centre = 16 + 32 * torch.tensor([10, 20]) / 31
    assert (xs.float() + 0.5).mean().item() == pytest.approx(centre[0].item(), abs=0.3)
    assert (ys.float() + 0.5).mean().item() == pytest.approx(centre[1].item(), abs=0.3)


@pytest.mark.parametrize(("shape", "period"), [(SQUARE, math.pi / 2), (ELLIPSE, math.pi)])
def test_square_and_ellipse_rotational_symmetry(sim, shape, period):
    g = torch.Generator().manual_seed(3)
    n = 256
    angle = torch.rand(n, generator=g, dtype=torch.float64) * 2 * math.pi
    scale, pos_x, pos_y = (torch.rand(n, generator=g, dtype=torch.float64) for _ in range(3))
    shapes = torch.full((n,), shape)
    first = sim.render_values(shapes, 0.5 + 0.5 * scale, angle, pos_x, pos_y)
    turned = sim.render_values(shapes, 0.5 + 0.5 * scale, angle + period, pos_x, pos_y)
    assert torch.equal(first, turned)


def test_heart_has_no_rotational_symmetry(sim):
    shapes, scale, pos = torch.tensor([HEART]), torch.tensor([1.0]), torch.tensor([0.5])
    upright = sim.render_values(shapes, scale, torch.tensor([0.0]), pos, pos)
    flipped = sim.render_values(shapes, scale, torch.tensor([math.pi]), pos, pos)
    assert not torch.equal(upright, flipped)


def test_orientation_class_0_and_39_draw_the_same_image(sim):
    classes = sim.sample_factors(2000, sim.generator(7))
    classes[:, 2] = 0
    last = classes.clone()
    last[:, 2] = 39
    assert torch.equal(sim.render(classes), sim.render(last))
    classes[:, 2] = 20  # and orientation does change the image elsewhere
    assert not torch.equal(sim.render(classes), sim.render(last))


def test_continuous_values_at_class_values_draw_what_classes_draw(sim):
    classes = sim.sample_factors(500, sim.generator(11))
    scale = torch.tensor(geometry.SCALE_VALUES, dtype=torch.float64)[classes[:, 1]]
    angles = torch.tensor([geometry.orientation_angle(k) for k in range(40)], dtype=torch.float64)
    values = (
        classes[:, 0],
        scale,
        angles[classes[:, 2]],
        classes[:, 3].double() / 31,
        classes[:, 4].double() / 31,
    )
    assert torch.equal(sim.render_values(*values), sim.render(classes))


def test_images_are_binary_float32_of_the_right_shape(sim):
    images = sim.render(sim.sample_factors(64, sim.generator(0)))
    assert images.shape == (64, 1, 64, 64) and images.dtype == torch.float32
    assert set(images.unique().tolist()) == {0.0, 1.0}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_draws_the_same_pixels_as_the_cpu(sim):
    gpu = DSprites(device="cuda")
    classes = sim.sample_factors(20_000, sim.generator(5))
    assert torch.equal(gpu.render(classes.cuda()).cpu(), sim.render(classes))
    assert torch.equal(gpu.render_all()[:50_000].cpu(), sim.render_all()[:50_000])
