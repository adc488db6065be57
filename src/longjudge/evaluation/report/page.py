"""The page skeleton, its inline stylesheet and small HTML helpers.

Every piece of judged or user text passes through :func:`esc` (``html.escape`` with quotes);
helpers that take ``html`` arguments expect markup built by this package.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Sequence
from string import Template

CSS = """
:root{--fg:#1f2328;--muted:#59636e;--bg:#f4f6f8;--card:#fff;--line:#d8dee4;--accent:#0b5fcc;
--good:#1a7f37;--good-bg:#dcf5e3;--bad:#c4262e;--bad-bg:#ffe8e6;--warn:#8a5a00;--warn-bg:#fff5cc;
--grey-bg:#eceff2;--mark:#fff0a6;--head:#0f1b2d}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:14px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans",sans-serif}
header{background:var(--head);color:#fff;padding:22px 0 18px}
header .wrap,nav .wrap,main{max-width:1180px;margin:0 auto;padding:0 28px}
header h1{margin:0 0 4px;font-size:22px;font-weight:650;letter-spacing:.2px}
header p{margin:0;color:#b8c4d4}
header code{color:#e6edf3;background:rgba(255,255,255,.08);padding:1px 6px;border-radius:4px}
nav{position:sticky;top:0;z-index:5;background:#fff;border-bottom:1px solid var(--line)}
nav .wrap{display:flex;flex-wrap:wrap;gap:4px 18px;padding-top:9px;padding-bottom:9px}
nav a{color:var(--accent);text-decoration:none;font-weight:550}
nav a:hover{text-decoration:underline}
main{padding-top:22px;padding-bottom:40px}
section.card{background:var(--card);border:1px solid var(--line);border-radius:10px;
padding:18px 24px 20px;margin:0 0 22px;box-shadow:0 1px 2px rgba(15,27,45,.04)}
section.card>h2{margin:0 0 12px;font-size:18px;font-weight:650}
h3{font-size:15px;margin:18px 0 8px}
h4{font-size:14px;margin:14px 0 6px}
p.note,.muted{color:var(--muted)}
p.note{margin:6px 0 10px}
.scroll{overflow-x:auto;margin:6px 0 4px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-size:12px;text-transform:uppercase;letter-spacing:.4px;color:var(--muted);
background:#fafbfc;font-weight:650}
td.num,th.num{text-align:right;white-space:nowrap}
tr.best td:first-child{box-shadow:inset 4px 0 0 var(--good)}
tr.worst td:first-child{box-shadow:inset 4px 0 0 var(--bad)}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:12px;
margin:4px 0 14px}
.tile{border:1px solid var(--line);border-radius:8px;padding:10px 14px;background:#fbfcfd}
.tile b{display:block;font-size:20px;font-weight:650;font-variant-numeric:tabular-nums}
.tile span{color:var(--muted);font-size:12px}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:650;
line-height:18px;white-space:nowrap}
.b-good{background:var(--good-bg);color:var(--good)}
.b-bad{background:var(--bad-bg);color:var(--bad)}
.b-warn{background:var(--warn-bg);color:var(--warn)}
.b-grey{background:var(--grey-bg);color:var(--muted)}
.b-blue{background:#e2edff;color:var(--accent)}
details{margin:6px 0}
details>summary{cursor:pointer;padding:4px 0;font-weight:550}
details.candidate{border:1px solid var(--line);border-radius:8px;padding:4px 14px;margin:8px 0;
background:#fff}
details.candidate[open]{padding-bottom:12px}
details.candidate>summary{display:flex;gap:10px;align-items:center;flex-wrap:wrap}
.text{white-space:pre-wrap;background:var(--bg);border-radius:6px;padding:10px 14px;margin:6px 0;
max-height:420px;overflow:auto}
.dim{border-left:3px solid var(--line);padding:2px 0 2px 12px;margin:12px 0}
.dim h4{margin:0 0 4px;display:flex;gap:8px;align-items:center}
.stmt{padding:8px 0;border-top:1px dashed var(--line)}
.stmt:first-of-type{border-top:0}
.stmt .head{display:flex;gap:8px;align-items:baseline}
.stmt .why{color:var(--muted);margin:2px 0 0 0}
.snippet{font-family:Georgia,"DejaVu Serif",serif;font-size:13px;color:var(--muted);
background:#fbfbf8;border:1px solid #ece9dc;border-radius:6px;padding:8px 12px;margin:6px 0;
white-space:normal}
.snippet .where{display:block;font-family:inherit;font-size:11px;color:var(--muted);
margin-bottom:4px;font-family:system-ui,sans-serif}
mark{background:var(--mark);color:var(--fg);padding:0 1px;border-radius:2px}
mark strong{background:#ffd54a;font-weight:700}
.quote{text-decoration:underline 2px #1a7f37;text-underline-offset:3px;color:var(--fg)}
ol.points{margin:4px 0 4px 20px;padding:0}
ol.points li{margin:2px 0}
.plot{margin:10px 0 4px;text-align:center}
.plot svg{max-width:100%;height:auto}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px}
@media (max-width:900px){.grid2{grid-template-columns:1fr}}
code{font-family:"DejaVu Sans Mono",ui-monospace,monospace;font-size:12.5px}
footer{color:var(--muted);text-align:center;font-size:12px;padding:10px 0 30px}
"""

_PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>$css</style>
</head>
<body>
<header><div class="wrap"><h1>$title</h1><p>$subtitle</p></div></header>
<nav><div class="wrap">$nav</div></nav>
<main>
$body
</main>
<footer>Made by longjudge $version. Self-contained: no scripts, no network.</footer>
</body>
</html>
""")


def esc(value: object) -> str:
    """Escape any value for HTML text or attributes."""
    return html.escape(str(value), quote=True)


def slug(*parts: str) -> str:
    """An HTML id from arbitrary parts: safe characters kept, plus a short hash of the whole."""
    raw = "\x1f".join(parts)
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", "-".join(parts))[:60]
    return f"{safe}-{hashlib.sha1(raw.encode('utf-8', 'surrogatepass')).hexdigest()[:6]}"


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str, str]], version: str) -> str:
    """The whole page; ``sections`` are (anchor id, nav label, section html)."""
    nav = "".join(f'<a href="#{esc(a)}">{esc(label)}</a>' for a, label, _ in sections)
    body = "\n".join(html_ for _, _, html_ in sections)
    return _PAGE.substitute(
        title=esc(title), subtitle=subtitle, nav=nav, body=body, css=CSS, version=esc(version)
    )


def card(anchor: str, title: str, inner: str) -> str:
    return f'<section class="card" id="{esc(anchor)}"><h2>{esc(title)}</h2>\n{inner}\n</section>'


def badge(text: str, tone: str = "grey", title: str | None = None) -> str:
    tip = f' title="{esc(title)}"' if title else ""
    return f'<span class="badge b-{tone}"{tip}>{esc(text)}</span>'


def fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def ci_text(ci: tuple[float, float] | None, percent: bool = False) -> str:
    if ci is None:
        return "—"
    if percent:
        return f"{100 * ci[0]:.1f}–{100 * ci[1]:.1f}%"
    return f"{ci[0]:.3f} – {ci[1]:.3f}"


def score_style(score: float | None) -> str:
    """A background from red (0) through yellow to green (10) for a 0-10 score."""
    if score is None or not 0.0 <= score <= 10.0:
        return ""
    hue = round(12 * score)
    return f' style="background:hsl({hue},72%,91%)"'


def table(
    head: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    numeric: Sequence[int] = (),
    row_classes: Sequence[str] | None = None,
) -> str:
    """A table; ``head`` is plain text (escaped; empty: no header row), cells are html.
    ``numeric`` columns align right."""
    ths = "".join(
        f'<th class="num">{esc(h)}</th>' if i in numeric else f"<th>{esc(h)}</th>"
        for i, h in enumerate(head)
    )
    body = []
    for r, row in enumerate(rows):
        cls = f' class="{row_classes[r]}"' if row_classes and row_classes[r] else ""
        cells = "".join(
            c
            if c.startswith("<td")
            else (f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>")
            for i, c in enumerate(row)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    thead = f"<thead><tr>{ths}</tr></thead>" if any(head) else ""
    return f'<div class="scroll"><table>{thead}<tbody>{"".join(body)}</tbody></table></div>'


def tiles(items: Sequence[tuple[str, str]]) -> str:
    """Big figures: (value, label), both plain text."""
    inner = "".join(
        f'<div class="tile"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for v, k in items
    )
    return f'<div class="tiles">{inner}</div>'


def plot(svg: str, caption: str = "") -> str:
    cap = f'<p class="note">{esc(caption)}</p>' if caption else ""
    return f'<div class="plot">{svg}</div>{cap}'


__all__ = [
    "CSS",
    "badge",
    "card",
    "ci_text",
    "esc",
    "fmt",
    "page",
    "pct",
    "plot",
    "score_style",
    "slug",
    "table",
    "tiles",
]
