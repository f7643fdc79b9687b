"""What `make gpu-smoke` prints and writes: one summary of a whole-graph run on a GPU.

Pure: plain dicts in (the run's materialization metadata, the trainer's log history, report.json,
the GPU torch saw, the VRAM estimate), a JSON-ready dict and its text out. benchmarks/gpu_smoke.py
gathers the inputs; tests build them by hand.
"""

from __future__ import annotations

import math
import re
import statistics
from pathlib import Path
from typing import Any

from gastown_assets.atomic import write_text
from gastown_assets.training.vram import VramEstimate, compare

KIND = "gastown-gpu-smoke"
SCHEMA = 1
AXOLOTL_PEAK = "memory/max_allocated (GiB)"  # Axolotl's per-log peak (reset at each log)
REPLAY_KEYS = ("parse_rate", "tool_accuracy", "command_accuracy", "latency_p50_s", "latency_p95_s")


def _last(history: list[dict], key: str) -> Any:
    values = [h[key] for h in history if key in h]
    return values[-1] if values else None


def _round(value: Any, digits: int = 4) -> Any:
    return round(value, digits) if isinstance(value, float) and math.isfinite(value) else value


def train_figures(history: list[dict], adapter_meta: dict[str, Any]) -> dict[str, Any]:
    """Steps, throughput, losses and peak memory of the trainer, from its log history (Axolotl's
    token counts and HF's final speed metrics) and lora_adapter's metadata (the reporter's
    `cuda_*` figures, measured by torch in the trainer process)."""
    final = next((h for h in reversed(history) if "train_runtime" in h), {})
    runtime = final.get("train_runtime")
    trained, slots = _last(history, "tokens/trainable"), _last(history, "tokens/total")
    losses = [h["loss"] for h in history if "loss" in h]
    intervals = [h["tokens/train_per_sec_per_gpu"] for h in history if "tokens/train_per_sec_per_gpu" in h]
    peak, source = adapter_meta.get("cuda_peak_allocated_gib"), "reporter (torch.cuda.max_memory_allocated)"
    if peak is None:
        logged = [h[AXOLOTL_PEAK] for h in history if h.get(AXOLOTL_PEAK)]
        peak, source = (max(logged), "axolotl log history") if logged else (None, None)

    def per_s(n):
        return n / runtime if n and runtime else None

    figures = {
        "steps": adapter_meta.get("steps", _last(history, "step")),
        "resumed_from_step": adapter_meta.get("resumed_from_step", 0),
        "runtime_s": runtime,
        "steps_per_s": final.get("train_steps_per_second"),
        "trained_tokens": trained,
        "token_slots": slots,
        "trained_tokens_per_s": per_s(trained),
        "token_slots_per_s": per_s(slots),
        "median_interval_tokens_per_s": statistics.median(intervals) if intervals else None,
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "axolotl_eval_loss": _last(history, "eval_loss"),
        "peak_allocated_gib": peak,
        "peak_source": source,
        "peak_reserved_gib": adapter_meta.get("cuda_peak_reserved_gib"),
        "allocated_at_start_gib": adapter_meta.get("cuda_allocated_at_start_gib"),
        "device": adapter_meta.get("cuda_device"),
    }
    return {k: _round(v) for k, v in figures.items()}


def eval_figures(report: dict[str, Any], eval_peak_gib: float | None) -> dict[str, Any]:
    """Held-out loss and the replay of held-out decisions, base and adapter (report.json)."""
    replay = report.get("replay") or {}
    return {
        "base_val_loss": report.get("base_val_loss"),
        "adapter_val_loss": report.get("adapter_val_loss"),
        "val_rows": report.get("val_rows"),
        "replay_points": replay.get("points"),
        "replay_dtype": replay.get("dtype"),
        "base": {k: (replay.get("base") or {}).get(k) for k in REPLAY_KEYS},
        "adapter": {k: (replay.get("adapter") or {}).get(k) for k in REPLAY_KEYS},
        "adapter_beats_base": report.get("adapter_beats_base"),
        "gate_failures": report.get("gate_failures") or [],
        "peak_allocated_gib": _round(eval_peak_gib),
    }


def vram_figures(
    est: VramEstimate | None, inputs: dict[str, Any] | None, train: dict[str, Any], preflight_gib: float | None
) -> dict[str, Any]:
    """The pre-flight estimate (parts, and what it was computed from) next to the measured peak."""
    out: dict[str, Any] = {"preflight_estimate_gib": _round(preflight_gib), **(inputs or {})}
    if est is None:
        return out
    out.update(
        estimate_gib=_round(est.total_gib),
        estimate_parts={k: _round(v) for k, v in est.parts.items()},
        lora_params=est.lora_params,
        base_params=est.base_params,
    )
    if train.get("peak_allocated_gib"):
        cmp = compare(est, train["peak_allocated_gib"], train.get("allocated_at_start_gib"))
        out.update(
            estimated_tensors_gib=_round(cmp.estimated_tensors_gib),
            measured_over_estimate=_round(cmp.ratio, 3),
            dominant_part=cmp.dominant,
            largest_gap=cmp.largest_gap,
            comparison=cmp.describe(),
        )
    return out


def asset_times(step_seconds: dict[str, float], step_assets: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Wall time per step of the run, with the assets (or check) each step produced, in run order."""
    return [
        {"step": step, "assets": sorted(step_assets.get(step, [])), "seconds": _round(seconds, 2)}
        for step, seconds in step_seconds.items()
    ]


def build_summary(
    *,
    role: str,
    profile: str,
    created: str,
    run_id: str,
    success: bool,
    wall_s: float,
    gpu: dict[str, Any] | None,
    adapter_meta: dict[str, Any],
    history: list[dict],
    report: dict[str, Any] | None,
    eval_peak_gib: float | None,
    estimate: VramEstimate | None,
    estimate_inputs: dict[str, Any] | None,
    step_seconds: dict[str, float],
    step_assets: dict[str, list[str]],
    failure: str | None = None,
) -> dict[str, Any]:
    train = train_figures(history, adapter_meta)
    summary = {
        "kind": KIND,
        "schema": SCHEMA,
        "constructed": False,
        "created": created,
        "role": role,
        "profile": profile,
        "run_id": run_id,
        "success": success,
        "failure": failure,
        "wall_s": _round(wall_s, 2),
        "gpu": gpu,
        "train": train,
        "vram": vram_figures(estimate, estimate_inputs, train, adapter_meta.get("vram_estimate_gib")),
        "eval": eval_figures(report or {}, eval_peak_gib),
        "assets": asset_times(step_seconds, step_assets),
    }
    summary["problems"] = problems(summary)
    return summary


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def problems(summary: dict[str, Any]) -> list[str]:
    """Why the smoke did not prove the GPU path: each one makes `make gpu-smoke` exit non-zero."""
    out = []
    if not summary["success"]:
        out.append(f"the run failed: {summary.get('failure') or 'see the Dagster run log'}")
    train, ev = summary["train"], summary["eval"]
    if summary["success"] and not train.get("steps"):
        out.append("the trainer reported no steps")
    losses = [train.get("first_loss"), train.get("last_loss")]
    if train.get("steps") and not all(_finite(v) and v > 0 for v in losses):
        out.append(
            f"training loss {losses[0]} -> {losses[1]}: a zero or non-finite loss means nothing was "
            "learned (sdpa with sample packing in bf16 gives 0.0 on cards older than sm_90)"
        )
    if summary["gpu"] and summary["success"] and not train.get("peak_allocated_gib"):
        out.append("no peak GPU memory came back from the trainer (the reporter's cuda_* metadata)")
    if summary["success"] and not all(_finite(ev.get(k)) for k in ("base_val_loss", "adapter_val_loss")):
        out.append(f"held-out loss base {ev.get('base_val_loss')} / adapter {ev.get('adapter_val_loss')} is not finite")
    return out


def _num(value: Any, fmt: str = "{:,.0f}", none: str = "n/a") -> str:
    return none if value is None else fmt.format(value)


def _pct(value: Any) -> str:
    return _num(value, "{:.0%}")


def format_summary(s: dict[str, Any]) -> str:
    """The text `make gpu-smoke` prints."""
    g, t, v, e = s["gpu"], s["train"], s["vram"], s["eval"]
    if g:
        where = (
            f"{g['name']} ({g['compute_capability']}, {g['memory_gib']:.1f} GiB; torch {g['torch']}, "
            f"CUDA {g['cuda']}, bitsandbytes {g.get('bitsandbytes') or 'n/a'})"
        )
    else:
        where = "no GPU (CPU run: no GPU figures)"
    lines = [f"gpu-smoke: role {s['role']}, profile {s['profile']}, on {where}"]
    lines.append(
        f"  training : {_num(t['steps'])} steps in {_num(t['runtime_s'], '{:.1f}')} s, "
        f"{_num(t['steps_per_s'], '{:.2f}')} steps/s, {_num(t['trained_tokens_per_s'])} trained tokens/s "
        f"({_num(t['token_slots_per_s'])} token slots/s with padding; median between logs "
        f"{_num(t['median_interval_tokens_per_s'])} trained tokens/s)"
    )
    lines.append(
        f"             loss {_num(t['first_loss'], '{:.3f}')} at the first step -> "
        f"{_num(t['last_loss'], '{:.3f}')} at the last; Axolotl's eval loss {_num(t['axolotl_eval_loss'], '{:.3f}')}"
    )
    peak = t.get("peak_allocated_gib")
    lines.append(
        f"  VRAM     : trainer peak {_num(peak, '{:.2f}')} GiB allocated "
        f"({_num(t.get('peak_reserved_gib'), '{:.2f}')} GiB reserved) by torch; pre-flight estimate "
        f"{_num(v.get('estimate_gib'), '{:.2f}')} GiB, {_num(v.get('estimated_tensors_gib'), '{:.2f}')} GiB "
        f"without CUDA context and margin; measured/estimate {_num(v.get('measured_over_estimate'), '{:.2f}')}"
    )
    if v.get("dominant_part"):
        lines.append(
            f"             largest estimated part: {v['dominant_part']} "
            f"({v['estimate_parts'][v['dominant_part']]:.2f} GiB)"
            + (f"; largest gap: {v['largest_gap']}" if v.get("largest_gap") else "")
        )
    lines.append(f"             eval peak {_num(e.get('peak_allocated_gib'), '{:.2f}')} GiB allocated (eval_report)")
    lines.append(
        f"  eval     : held-out loss base {_num(e['base_val_loss'], '{:.4f}')} -> adapter "
        f"{_num(e['adapter_val_loss'], '{:.4f}')} ({_num(e['val_rows'])} val rows)"
    )
    lines.append(f"  replay   : {_num(e['replay_points'])} held-out decisions ({e.get('replay_dtype') or 'n/a'})")
    lines.append("             model    parse  tool  command  latency p50  p95")
    for name in ("base", "adapter"):
        m = e[name]
        lines.append(
            f"             {name:<8} {_pct(m['parse_rate']):>5}  {_pct(m['tool_accuracy']):>4}  "
            f"{_pct(m['command_accuracy']):>7}  {_num(m['latency_p50_s'], '{:.2f} s'):>11}  "
            f"{_num(m['latency_p95_s'], '{:.2f} s')}"
        )
    gate = e.get("adapter_beats_base")
    if gate is not None:
        lines.append(
            f"             promotion gate: {'passes' if gate else 'does not pass: ' + '; '.join(e['gate_failures'])}"
        )
    lines.append(
        "  assets   : "
        + ", ".join(
            f"{a['step']}{' (' + ', '.join(a['assets']) + ')' if a['assets'] and a['assets'] != [a['step']] else ''} "
            f"{a['seconds']:.1f} s"
            for a in s["assets"]
        )
    )
    lines.append(f"  wall     : {s['wall_s']:.1f} s for the whole run")
    for p in s["problems"]:
        lines.append(f"  PROBLEM  : {p}")
    return "\n".join(lines)


def file_name(summary: dict[str, Any]) -> str:
    """gpu-smoke-<UTC time>-<gpu>.json, safe as a file name."""
    gpu = re.sub(r"[^a-z0-9]+", "-", ((summary["gpu"] or {}).get("name") or "cpu").lower()).strip("-")
    stamp = re.sub(r"[^0-9T]", "", summary["created"][:19])  # ISO 8601 in UTC, to the second
    return f"gpu-smoke-{stamp}Z-{gpu}.json"


def _json_safe(value: Any) -> Any:
    """NaN and infinity as null (strict JSON); `problems` has already named them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def write_summary(summary: dict[str, Any], out_dir: Path) -> Path:
    """The summary as JSON under out_dir, written atomically."""
    import json

    path = out_dir / file_name(summary)
    write_text(path, json.dumps(_json_safe(summary), indent=2, allow_nan=False) + "\n")
    return path
