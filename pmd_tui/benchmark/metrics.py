"""The arithmetic of the scores, on embeddings (rows are samples), independent of the models.

Fréchet distance and the unbiased kernel inception distance follow Heusel et al. (2017) and Bińkowski
et al. (2018), computed here on DINO features (as FD_DINOv2 in Stein et al., 2023) because the Inception
weights of classic FID cannot be fetched on an offline box; the figure is labelled accordingly.
"""

from __future__ import annotations

import numpy as np


def normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.clip(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12, None)


def mean_pairwise_cosine(samples: np.ndarray, references: np.ndarray) -> float:
    """Mean cosine similarity of every sample to every reference (DreamBooth's DINO and CLIP-I)."""
    return float((normalise(samples) @ normalise(references).T).mean())


def mean_paired_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean cosine of row i of ``a`` with row i of ``b`` (CLIP-T: each image with its own prompt)."""
    return float((normalise(a) * normalise(b)).sum(-1).mean())


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """||mu_x - mu_y||^2 + Tr(S_x + S_y - 2 (S_x S_y)^1/2)."""
    from scipy import linalg

    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        eps = np.eye(s1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = np.real(covmean)
    return float(max(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean), 0.0))


def kernel_distance(x: np.ndarray, y: np.ndarray, *, subsets: int = 50, subset_size: int | None = None,
                    seed: int = 0) -> tuple[float, float]:
    """Unbiased MMD^2 with the cubic polynomial kernel k(a, b) = (a.b / d + 1)^3, mean and std over subsets."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    d = x.shape[1]
    m = min(len(x), len(y), subset_size or 1000)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        a = x[rng.choice(len(x), m, replace=False)]
        b = y[rng.choice(len(y), m, replace=False)]
        kxx, kyy, kxy = (a @ a.T / d + 1) ** 3, (b @ b.T / d + 1) ** 3, (a @ b.T / d + 1) ** 3
        off = lambda k: (k.sum() - np.trace(k)) / (m * (m - 1))  # noqa: E731
        values.append(off(kxx) + off(kyy) - 2 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))
