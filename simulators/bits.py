"""Binary images stored eight pixels to a byte, in numpy.packbits order (big-endian bits).

A 64×64 binary image is 512 bytes packed, so the whole dSprites set is 377 MB instead of
3 GB as uint8 (or 12 GB as float32), small enough to keep on a GPU or in host memory and
index by flat position.
"""

from __future__ import annotations

import torch

PIXELS = 64 * 64
PACKED_BYTES = PIXELS // 8


def _shifts(device: torch.device) -> torch.Tensor:
    return torch.arange(7, -1, -1, dtype=torch.uint8, device=device)


def pack(images: torch.Tensor) -> torch.Tensor:
    """(n, 64, 64) (or (n, 1, 64, 64)) binary images -> (n, 512) uint8."""
    bits = images.reshape(-1, PACKED_BYTES, 8).to(torch.uint8)
    packed = bits[..., 0] << 7
    for i in range(1, 8):
        packed |= bits[..., i] << (7 - i)
    return packed


def byte_table(device: torch.device) -> torch.Tensor:
    """(256,) int64: the eight pixel values (0/1 bytes) of every packed byte, as one word."""
    byte = torch.arange(256, dtype=torch.uint8, device=device).unsqueeze(1)
    pixels = ((byte >> _shifts(device)) & 1).contiguous()
    return pixels.view(torch.int64).reshape(256)


def unpack(packed: torch.Tensor, table: torch.Tensor | None = None) -> torch.Tensor:
    """(n, 512) uint8 -> (n, 1, 64, 64) float32 images of 0 and 1.

    One 8-byte gather per packed byte, then one uint8 -> float32 pass: fewer passes over
    the batch than shift, mask and convert, which keeps a batch as cheap as indexing a
    preloaded uint8 array (bench/simulator.py).
    """
    if table is None:
        table = byte_table(packed.device)
    pixels = table.index_select(0, packed.reshape(-1).int()).view(torch.uint8)
    return pixels.view(-1, 1, 64, 64).float()


class PackedImages:
    """A full data set of packed images, rendered by flat position (one gather, one unpack)."""

    def __init__(self, packed: torch.Tensor):
        if packed.dtype != torch.uint8 or packed.ndim != 2 or packed.shape[1] != PACKED_BYTES:
            raise ValueError(
                f"packed images must be (n, {PACKED_BYTES}) uint8; got "
                f"{tuple(packed.shape)} {packed.dtype}"
            )
        self.packed = packed
        self._table = byte_table(packed.device)

    def __len__(self) -> int:
        return self.packed.shape[0]

    def render(self, flat_index: torch.Tensor) -> torch.Tensor:
        # index_select, not packed[flat_index]: advanced indexing is several times slower.
        return unpack(self.packed.index_select(0, flat_index), self._table)
