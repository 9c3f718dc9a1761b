"""How a ``GradientMonitor`` shows what it saw: a text summary, and a dashboard of six panels
(loss; gradient norms; update/weight ratios; gradient noise scale; sharpness against the edge
of stability; checks, flags and the monitor's cost). matplotlib is imported only to draw."""

from __future__ import annotations

import math

import numpy as np

from ..errors import MinigradError

TINY = math.ulp(0.0)
UPDATE_RATIO_GUIDE = 1e-3  # a common rule of thumb for |update| / |w| per step


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise MinigradError(
            "GradientMonitor's pictures need matplotlib: pip install matplotlib (or "
            "pip install 'minigrad[examples]')"
        ) from None
    return plt


# ----- text --------------------------------------------------------------------------------------


def _overhead_line(monitor) -> str | None:
    overhead = monitor.overhead
    if overhead is None:
        return None
    rest = sum(monitor.seconds.values()) / overhead
    parts = ", ".join(f"{kind} {100 * t / rest:.1f}%" for kind, t in monitor.seconds.items() if t)
    return f"monitor: {100 * overhead:.1f}% overhead on the training loop ({parts})"


def summary(monitor) -> str:
    """What ``print(monitor)`` shows: counts, the last norms and ratios, the noise scale, the
    sharpness, the measured overhead, the flags and any failed check."""
    checks, flags = monitor.checks, monitor.flags
    failed = [s for s, report in checks if not report]
    outcome = f"{len(checks) - len(failed)} passed"
    if failed:
        outcome += f", failed at steps {failed}"
    lines = [
        f"GradientMonitor: {monitor.steps} steps, {len(checks)} gradient checks ({outcome}), "
        f"{len(flags)} flags"
    ]
    last = next((r for r in reversed(monitor.history) if "norms" in r), None)
    if last is not None:
        for name, norm in last["norms"].items():
            line = f"  |grad {name}| = {norm:.3g}"
            ratio = last.get("update_ratios", {}).get(name)
            line += "" if ratio is None else f", |update|/|w| = {ratio:.2g}"
            lines.append(line + f" (step {last['step']})")
    noise = [r for r in monitor.history if "noise" in r]
    if noise:
        estimate, scale = noise[-1]["noise"], noise[-1]["noise_scale"]
        value = f"= {scale:.4g}" if scale > 0 else "unknown: averaged |G|^2 estimate <= 0"
        lines.append(
            f"  gradient noise scale B_simple {value} ({estimate.method}, {len(noise)} "
            f"estimates; batch {estimate.batch_sizes[-1]})"
        )
    curvature = [r for r in monitor.history if "sharpness" in r]
    if curvature:
        s = curvature[-1]["sharpness"]
        edge = "" if s.threshold is None else f" vs {s.rule} = {s.threshold:.4g}"
        lines.append(f"  sharpness lambda_max = {s.eigenvalue:.4g}{edge} (step "
                     f"{curvature[-1]['step']})")  # fmt: skip
    overhead = _overhead_line(monitor)
    lines += [] if overhead is None else [f"  {overhead}"]
    lines += [f"  step {s}: {f}" for s, f in flags[:10]]
    if len(flags) > 10:
        lines.append(f"  ... {len(flags) - 10} more flags")
    for s, report in checks:
        if not report:
            lines.append(f"  check at step {s}:\n" + "\n".join(
                "    " + line for line in str(report).splitlines()))  # fmt: skip
    return "\n".join(lines)


# ----- pictures ----------------------------------------------------------------------------------


def _names(monitor, key: str) -> list[str]:
    names = []
    for r in monitor.history:
        names += [n for n in r.get(key, {}) if n not in names]
    return names


def plot_norms(monitor, key: str, ylabel: str, ax=None, colors=None):
    """One line per parameter of ``record[key]`` against step, log scale."""
    ax = ax or _pyplot().gca()
    for i, name in enumerate(_names(monitor, key)):
        steps, values = monitor.series(key, name)
        color = None if colors is None else colors[i % len(colors)]
        ax.plot(steps, [max(v, TINY) for v in values], label=name, color=color)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    if ax.get_lines():
        ax.legend(fontsize="small")
    return ax


def _empty(ax, title: str, why: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def _loss_panel(ax, monitor) -> None:
    if not monitor.losses:
        return _empty(ax, "Loss", "not recorded:\npass loss= to monitor.step")
    steps, values = zip(*monitor.losses)
    ax.plot(steps, values, color="C0", lw=0.8, alpha=0.5, label="batch loss")
    window = max(1, len(values) // 50)
    if window > 1:
        smooth = np.convolve(values, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1 :], smooth, color="C0", label=f"mean of {window}")
    ax.set(title="Loss", xlabel="step", ylabel="training loss")
    if min(values) > 0:
        ax.set_yscale("log")
    ax.legend(fontsize="small")


def _noise_panel(ax, monitor) -> None:
    steps, estimates = monitor.series("noise")
    if not steps:
        return _empty(ax, "Gradient noise scale", "not measured:\nset noise_every")
    raw = [(s, e.b_simple) for s, e in zip(steps, estimates) if e.b_simple > 0]
    if raw:
        ax.plot(*zip(*raw), ".", color="C1", alpha=0.4, label="one batch")
    running = [(s, v) for s, v in zip(*monitor.series("noise_scale")) if v > 0]
    if running:
        ax.plot(*zip(*running), color="C1", label="moving (ratio of averages)")
    ax.axhline(estimates[-1].batch_sizes[-1], color="0.3", ls="--", lw=1, label="batch size")
    ax.set(title="Gradient noise scale B_simple", xlabel="step", ylabel="examples", yscale="log")
    ax.legend(fontsize="small")


def _sharpness_panel(ax, monitor) -> None:
    steps, values = monitor.series("sharpness")
    if not steps:
        return _empty(ax, "Sharpness", "not measured:\nset curvature_every")
    ax.plot(steps, [max(abs(v.eigenvalue), TINY) for v in values], "o-", color="C3", ms=3,
            label="lambda_max")  # fmt: skip
    negative = [(s, -v.eigenvalue) for s, v in zip(steps, values) if v.eigenvalue < 0]
    if negative:  # the largest magnitude was negative: a saddle, drawn by its size
        ax.plot(*zip(*negative), "v", color="C4", label="|lambda| of a negative one")
    edges = [(s, v.threshold) for s, v in zip(steps, values) if v.threshold is not None]
    if edges:
        ax.plot(*zip(*edges), "--", color="0.3", label=values[-1].rule)
    ax.set(title="Sharpness vs edge of stability", xlabel="step", ylabel="eigenvalue",
           yscale="log")  # fmt: skip
    ax.legend(fontsize="small")


def _text_panel(ax, monitor) -> None:
    ax.set_title("Checks, flags, cost")
    ax.axis("off")
    checks = monitor.checks
    lines = [f"{monitor.steps} steps", f"{len(checks)} gradient checks, "
             f"{sum(1 for _, r in checks if not r)} failed"]  # fmt: skip
    for s, report in checks:
        lines += [f"step {s}: {rule.op}" + (f" in {rule.module!r}" if rule.module else "")
                  for rule in report.wrong_rules][:3]  # fmt: skip
    lines.append(f"{len(monitor.flags)} flags")
    noise = [r for r in monitor.history if "noise_scale" in r]
    if noise:
        scale = noise[-1]["noise_scale"]
        value = f"{scale:.3g}" if scale > 0 else "unknown (|G|^2 <= 0)"
        lines.append(f"B_simple {value} (batch {noise[-1]['noise'].batch_sizes[-1]})")
    sharp = [r["sharpness"] for r in monitor.history if "sharpness" in r]
    if sharp:
        edge = "" if sharp[-1].threshold is None else f" vs {sharp[-1].threshold:.3g}"
        lines.append(f"lambda_max {sharp[-1].eigenvalue:.3g}{edge}")
    lines += [f"step {s}: {f[:38]}" for s, f in monitor.flags[:3]]
    overhead = monitor.overhead
    if overhead is not None:
        lines.append(f"monitor overhead {100 * overhead:.1f}%")
        rest = sum(monitor.seconds.values()) / overhead
        lines += [f"  {k}: {100 * t / rest:.1f}%" for k, t in monitor.seconds.items() if t]
    ax.text(0.02, 0.98, "\n".join(lines), va="top", ha="left", family="monospace",
            fontsize=8, transform=ax.transAxes)  # fmt: skip


def draw_dashboard(monitor, path: str | None = None, dpi: int = 110):
    """The six panels in one figure (see ``GradientMonitor.dashboard``)."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(15, 8))
    colors = [f"C{i}" for i in range(10)]
    _loss_panel(axes[0, 0], monitor)
    if _names(monitor, "norms"):
        plot_norms(monitor, "norms", "gradient norm", axes[0, 1], colors)
        axes[0, 1].set_title("Gradient norm per parameter")
    else:
        _empty(axes[0, 1], "Gradient norm per parameter", "not measured")
    if _names(monitor, "update_ratios"):
        ax = plot_norms(monitor, "update_ratios", "|update| / |w|", axes[0, 2], colors)
        ax.axhline(UPDATE_RATIO_GUIDE, color="0.3", ls=":", lw=1)
        ax.set_title("Update / weight ratio per step")
        ax.get_legend().remove()
    else:
        _empty(axes[0, 2], "Update / weight ratio per step", "not measured")
    _noise_panel(axes[1, 0], monitor)
    _sharpness_panel(axes[1, 1], monitor)
    _text_panel(axes[1, 2], monitor)
    for ax in (axes[0, 0], axes[0, 1], axes[0, 2], axes[1, 0], axes[1, 1]):
        if ax.get_lines():  # one time axis for every panel
            ax.set_xlim(-0.02 * monitor.steps, 1.02 * monitor.steps)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=dpi)
    return fig
