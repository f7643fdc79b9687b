"""The training loss curve as a PNG, for report.md and the Dagster UI."""

from __future__ import annotations

import io


def loss_curve_png(log_history: list[dict], title: str) -> bytes:
    """Train loss per step, eval loss where evaluated; Agg backend, no display needed."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.2), dpi=100)
    ax = fig.add_subplot()
    for key, label, style in (("loss", "train loss", "-"), ("eval_loss", "eval loss", "o--")):
        points = [(h["step"], h[key]) for h in log_history if key in h and "step" in h]
        if points:
            ax.plot(*zip(*points), style, label=label, markersize=4)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
