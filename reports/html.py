"""index.html: the figures and a table of every trial, in one self-contained page.

No script, no stylesheet or font from the network: the page opens straight from the file
system, offline. Every string that comes from the data (trial ids, protocols, messages,
paths, baseline names) goes through html.escape.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from html import escape
from typing import Any

from reports.protocols import other_scores
from reports.searched import searched_axis
from reports.selection import score_kind
from reports.sweepdata import Sweep, Trial

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
.meta, .caption { color: #555; } .notes li { color: #8a3b00; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.frontier { background: #fff1f1; } td.protocol, td.path { font-size: 0.85em; color: #555; }
"""


@dataclass(frozen=True)
class FigureEntry:
    stem: str  # stem.png and stem.svg beside index.html
    title: str
    caption: str


@dataclass(frozen=True)
class Page:
    sweep: Sweep
    frontier: list[Trial]
    best: list[Trial]
    notes: list[str]
    sections: dict[str, list[FigureEntry]]  # "frontier", "beta_norm", "curves", "best", ...
    traversal_notes: list[str]
    generated_at: str


def render(page: Page) -> str:
    sweep = page.sweep
    statuses = Counter(t.status for t in sweep.trials)
    status_text = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Sweep {_e(sweep.name)}: β-VAE report</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Sweep {_e(sweep.name)}</h1>",
        f'<p class="meta">{len(sweep.trials)} trials ({_e(status_text)}) from '
        f"<code>{_e(sweep.directory)}</code>; report written {_e(page.generated_at)}.</p>",
    ]
    if page.notes:
        parts.append(
            '<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in page.notes) + "</ul>"
        )
    parts += [
        "<h2>Reconstruction–disentanglement frontier</h2>",
        *_figures(page.sections.get("frontier", [])),
        "<p>The Pareto frontier: the trials no other trial beats on both lower "
        "reconstruction loss and higher disentanglement score.</p>",
        _trial_table(page.frontier, page, numbered=True),
        f"<h2>{_e(searched_axis(sweep.trials).title)}</h2>",
        *_figures(page.sections.get("beta_norm", [])),
        "<h2>Learning curves</h2>",
        *_figures(page.sections.get("curves", [])),
        "<h2>Best trials</h2>",
        f"<p>The {len(page.best)} trials with the highest score among those with a score "
        "that did not diverge (ties: lower reconstruction loss first).</p>",
        _trial_table(page.best, page, numbered=True),
    ]
    if page.traversal_notes:
        parts.append(
            '<ul class="notes">'
            + "".join(f"<li>{_e(n)}</li>" for n in page.traversal_notes)
            + "</ul>"
        )
    parts += _figures(page.sections.get("best", []))
    parts.append("<h2>Baselines</h2>")
    if sweep.baselines is None:
        parts.append(
            "<p>No baselines: run <code>sweep baselines --out FILE</code> and pass "
            "<code>--baselines FILE</code>, or leave <code>baselines.parquet</code> in the "
            "sweep directory.</p>"
        )
    else:
        parts += [_baseline_table(sweep, page.best), *_figures(page.sections.get("baselines", []))]
    parts += [
        f"<h2>All trials ({len(sweep.trials)})</h2>",
        "<p>Scores are Higgins test accuracies in percent, each trial's latest score under "
        "the one protocol the report ranks by (<em>final</em>: measured at the trial's last "
        "step, <em>in-loop</em>: while training), so that every ranked score is comparable: "
        f"<code>{_e(sweep.protocol or '—')}</code>. Scores under other protocols (such as a "
        "finished trial's final-protocol score) are listed under <em>other protocols</em>, "
        "never ranked. Reconstruction: Bernoulli negative log-likelihood summed over "
        "pixels, nats per image, reported with the score.</p>",
        _trial_table(sweep.trials, page, numbered=False, full=True),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _num(value: float | None, spec: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return format(value, spec)


def _figures(entries: list[FigureEntry]) -> list[str]:
    return [
        f'<figure><a href="{_e(f.stem)}.png"><img src="{_e(f.stem)}.svg" alt="{_e(f.title)}">'
        f'</a><figcaption class="caption">{_e(f.caption)} '
        f'(<a href="{_e(f.stem)}.png">PNG</a>, <a href="{_e(f.stem)}.svg">SVG</a>)'
        "</figcaption></figure>"
        for f in entries
    ]


def _trial_table(trials: list[Trial], page: Page, numbered: bool, full: bool = False) -> str:
    if not trials:
        return "<p>None.</p>"
    frontier = {t.trial_id for t in page.frontier}
    best = {t.trial_id: rank for rank, t in enumerate(page.best, start=1)}
    head = ["#"] if numbered else []
    capacity = searched_axis(page.sweep.trials).objective == "capacity"
    searched = ("C_max", "γ") if capacity else ("β", "β_norm")
    head += ["trial", "status", *searched, "M", "score (%)", "active units", "score"]
    head += ["score step"]
    head += ["reconstruction (nats)", "protocol"]
    if full:
        head += ["other protocols", "steps done / planned", "frontier", "best", "message"]
        head += ["checkpoint"]
    rows = ["<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"]
    for index, t in enumerate(trials, start=1):
        cells = [f'<td class="num">{index}</td>'] if numbered else []
        cells += [
            f"<td><code>{_e(t.trial_id)}</code></td>",
            f"<td>{_e(t.status)}</td>",
            f'<td class="num">{_e(_num(t.capacity_max if capacity else t.beta, ".4g"))}</td>',
            f'<td class="num">{_e(_num(t.gamma if capacity else t.beta_norm, ".3g"))}</td>',
            f'<td class="num">{t.latent_size}</td>',
            f'<td class="num">{_e(_num(None if t.score is None else 100 * t.score, ".1f"))}</td>',
            f'<td class="num">{_e(_active(t))}</td>',
            f"<td>{_e(score_kind(t))}</td>",
            f'<td class="num">{_e(_num(t.score_step, "d"))}</td>',
            f'<td class="num">{_e(_num(t.recon, ".2f"))}</td>',
            f'<td class="protocol">{_e(t.score_protocol or "—")}</td>',
        ]
        if full:
            cells += [
                f'<td class="protocol">{_e(_other_scores(t))}</td>',
                f'<td class="num">{_e(_num(t.steps_done, "d"))} / {_e(_num(t.steps, "d"))}</td>',
                f"<td>{'yes' if t.trial_id in frontier else ''}</td>",
                f"<td>{best.get(t.trial_id, '')}</td>",
                f"<td>{_e(t.message or '')}</td>",
                f'<td class="path">{_e(t.checkpoint_path or "")}</td>',
            ]
        css = ' class="frontier"' if full and t.trial_id in frontier else ""
        rows.append(f"<tr{css}>" + "".join(cells) + "</tr>")
    return "\n".join([*rows, "</table>"])


def _other_scores(trial: Trial) -> str:
    """The trial's latest scores under the protocols the report does not rank by."""
    return "; ".join(
        f"{100 * s.value:.1f}% at step {s.step}{' (final)' if s.final else ''}: {s.protocol}"
        for s in other_scores(trial)
    )


def _baseline_table(sweep: Sweep, best: list[Trial]) -> str:
    head = ["model", "paper (%)", "ours (%)", "seeds", "active units", "protocol"]
    rows = ["<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"]
    for row in sweep.baselines or []:
        rows.append(
            "<tr>"
            f"<td>{_e(row['model'])}</td>"
            f'<td class="num">{_e(_pm(row.get("paper_score"), row.get("paper_std")))}</td>'
            f'<td class="num">{_e(_pm(row.get("score_mean"), row.get("score_std")))}</td>'
            f'<td class="num">{_e(_num(row.get("seeds"), "d"))}</td>'
            f'<td class="num">{_e(_seed_units(row.get("active_units")))}</td>'
            f'<td class="protocol">{_e(row.get("protocol") or "—")}</td>'
            "</tr>"
        )
    for rank, t in enumerate(best, start=1):
        label = f"best trial #{rank}: {t.trial_id} ({searched_axis([t]).describe(t)}, M = {t.latent_size})"
        rows.append(
            '<tr class="frontier">'
            f"<td>{_e(label)}</td><td></td>"
            f'<td class="num">{_e(_num(100 * t.score, ".1f"))} ({_e(score_kind(t))})</td>'
            f'<td class="num">1</td><td class="num">{_e(_active(t))}</td>'
            f'<td class="protocol">{_e(t.score_protocol or "—")}</td>'
            "</tr>"
        )
    source = f'<p class="meta">Baselines from <code>{_e(sweep.baselines_source)}</code>.</p>'
    return source + "\n".join([*rows, "</table>"])


def _active(t: Trial) -> str:
    """Active units out of M beside the score: 0/M is a collapsed model."""
    return "—" if t.active_units is None else f"{t.active_units}/{t.latent_size}"


def _seed_units(units: list[int | None] | None) -> str:
    if not units:
        return "—"
    return ", ".join("—" if u is None else str(u) for u in units)


def _pm(mean: float | None, std: float | None) -> str:
    if mean is None:
        return "—"
    return f"{mean:.2f}" if std is None else f"{mean:.2f} ± {std:.2f}"
