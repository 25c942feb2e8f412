"""The design page's inline stylesheet and script (kept apart from the markup)."""

from __future__ import annotations

__all__ = ["PALETTE", "SCRIPT", "STYLE"]

#: Entity colours, in declaration order (hues far apart, readable on white).
PALETTE = ("#2563eb", "#c2410c", "#15803d", "#7c3aed", "#be123c", "#0e7490", "#a16207",
           "#4d7c0f", "#9d174d", "#334155")

STYLE = """\
*,*::before,*::after{box-sizing:border-box}
html{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,
  sans-serif;color:#1e293b;background:#f8fafc}
body{margin:0}
main{max-width:1500px;margin:0 auto;padding:16px 24px 40px}
h1{font-size:1.6em;margin:.2em 0}
h2{font-size:1.25em;margin:1.6em 0 .5em;border-bottom:1px solid #cbd5e1;padding-bottom:.2em}
h3{font-size:1.05em;margin:.6em 0 .4em}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
code{overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f1f5f9;padding:8px;margin:4px 0;
  border-radius:4px;max-width:100%}
td,th{overflow-wrap:anywhere;word-break:break-word;vertical-align:top;text-align:left}
.meta{color:#475569;margin:.2em 0}
nav a{margin-right:14px;color:#2563eb;text-decoration:none}
table.plain{border-collapse:collapse;width:100%;background:#fff;table-layout:fixed}
table.plain td,table.plain th{border:1px solid #e2e8f0;padding:5px 8px}
table.plain thead th{background:#f1f5f9}
.matrix td.none{color:#94a3b8;text-align:center}
.tpl{display:flex;gap:6px;align-items:baseline}
.tpl code{min-width:0}
.lbl{font-size:.75em;color:#64748b;width:2em;flex:none}
.keyname{font-size:.8em;color:#64748b;overflow-wrap:anywhere}
.badge{display:inline-block;max-width:100%;padding:1px 7px;border-radius:9px;color:#fff;
  background:var(--entity,#64748b);font-size:.85em;overflow-wrap:anywhere}
ul.warnings{list-style:none;padding:0;margin:0}
ul.warnings li{background:#fff;border-left:4px solid #94a3b8;padding:6px 10px;margin:4px 0;
  overflow-wrap:anywhere}
ul.warnings li.warning{border-left-color:#d97706;background:#fffbeb}
.tag{font-size:.75em;text-transform:uppercase;letter-spacing:.04em;color:#475569;
  margin-right:6px}
.tabs{display:flex;flex-wrap:wrap;gap:4px;margin:8px 0}
.tabs button{font:inherit;padding:4px 14px;border:1px solid #cbd5e1;background:#fff;
  border-radius:4px 4px 0 0;cursor:pointer}
.tabs button.active{background:#1e293b;color:#fff;border-color:#1e293b}
.js .view:not(.active){display:none}
.js .view h3{display:none}
table.grid{border-collapse:collapse;width:100%;table-layout:fixed;background:#fff}
table.grid col.c-pk{width:17%}
table.grid col.c-sk{width:21%}
table.grid col.c-entity{width:9%}
table.grid th{background:#1e293b;color:#fff;padding:6px 8px;font-weight:600}
table.grid th code{color:#e2e8f0}
table.grid td{border:1px solid #e2e8f0;padding:5px 8px}
table.grid td.pk{background:#f1f5f9;font-weight:600;font-family:ui-monospace,Menlo,
  Consolas,monospace;font-size:.9em}
table.grid td.sk{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;
  border-left:4px solid var(--entity,#94a3b8)}
table.grid tbody.partition{border-top:3px solid #94a3b8}
tr.generated td.sk,tr.generated td.attrs{font-style:italic;color:#64748b}
.attr{display:inline-flex;flex-direction:column;max-width:100%;min-width:0;
  border:1px solid #e2e8f0;border-radius:3px;padding:1px 6px;margin:0 4px 4px 0;
  vertical-align:top;background:#f8fafc}
.attr .name{font-size:.72em;color:#64748b}
.attr .value{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.88em;
  overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:12px}
.card{background:#fff;border:1px solid #e2e8f0;border-top:4px solid var(--entity,#94a3b8);
  padding:6px 10px;min-width:0}
details summary{cursor:pointer;color:#2563eb;font-size:.85em}
.empty{color:#64748b}
footer{margin-top:30px;color:#64748b;font-size:.85em}
"""

SCRIPT = """\
(function () {
  document.documentElement.classList.add('js');
  var buttons = document.querySelectorAll('.tabs button');
  function show(name) {
    buttons.forEach(function (b) { b.classList.toggle('active', b.dataset.view === name); });
    document.querySelectorAll('.view').forEach(function (v) {
      v.classList.toggle('active', v.dataset.view === name);
    });
  }
  buttons.forEach(function (b) {
    b.addEventListener('click', function () { show(b.dataset.view); });
  });
})();
"""
