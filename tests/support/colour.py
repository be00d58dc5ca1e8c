"""Colour checks for the page tests: colour-vision deficiency simulation and CIE76 colour difference."""

from __future__ import annotations

import numpy as np

#: Machado, Oliveira and Fernandes (2009), "A physiologically-based model for simulation of color vision
#: deficiency", IEEE TVCG 15(6): the severity-1.0 matrices, applied to linear RGB.
CVD_MATRICES: dict[str, np.ndarray] = {
    "normal": np.eye(3),
    "protanopia": np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    ),
    "deuteranopia": np.array(
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
    ),
    "tritanopia": np.array(
        [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]
    ),
}


def _linear(hex_colour: str) -> np.ndarray:
    text = hex_colour.lstrip("#")
    srgb = np.array([int(text[i : i + 2], 16) for i in (0, 2, 4)]) / 255.0
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _lab(linear: np.ndarray) -> np.ndarray:
    xyz = np.array(
        [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
    ) @ np.clip(linear, 0, 1)
    ref = np.array([0.95047, 1.0, 1.08883])
    t = xyz / ref
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a: str, b: str, *, vision: str = "normal") -> float:
    """CIE76 difference of two ``#rrggbb`` colours as seen with ``vision`` (a key of :data:`CVD_MATRICES`)."""
    m = CVD_MATRICES[vision]
    return float(np.linalg.norm(_lab(m @ _linear(a)) - _lab(m @ _linear(b))))


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours."""

    def lum(c: str) -> float:
        return float(np.array([0.2126, 0.7152, 0.0722]) @ _linear(c))

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
