"""Loss and accuracy curves of a run, drawn from its `history.csv`."""

from __future__ import annotations

import csv
from pathlib import Path


def plot_history(csv_path, png_path) -> Path | None:
    """Draws loss and accuracy curves from a CSVLogger file into a PNG.

    Args:
        csv_path: str or Path. `history.csv` of a run.
        png_path: str or Path. Where the picture goes.
    """
    import matplotlib  # here: only runs that finish need matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return None
    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "-"), ("val_", "--")):
            key = prefix + metric
            if key in rows[0]:
                ax.plot(epochs, [float(r[key]) for r in rows], style, label=key)
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return Path(png_path)
