// The dashboard's HTML and CSS, served at / and /dashboard/style.css. Everything the page needs comes
// from the node that serves it (no CDN, no web fonts): see routes.ts and docs/operations.md.

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tally dashboard</title>
<link rel="stylesheet" href="/dashboard/style.css">
<script src="/dashboard/msgpack.js" defer></script>
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<header>
  <h1>tally</h1>
  <span id="cluster" class="muted">connecting…</span>
  <span id="self" class="muted"></span>
  <form id="auth" hidden><input id="password" type="password" placeholder="cluster password" autocomplete="current-password"><button>log in</button></form>
  <span id="conn" class="pill">…</span>
</header>
<main>
  <section id="members-panel">
    <h2>Members <span class="muted small" id="members-view"></span></h2>
    <div class="scroll"><table id="members">
      <thead><tr><th>node</th><th>state</th><th>incarnation</th><th>last heard</th><th>gossip address</th><th>page</th><th>feed</th></tr></thead>
      <tbody></tbody>
    </table></div>
    <p class="muted small">State, incarnation and last heard are this node's view (SWIM-style failure detection). Feed: this page's own WebSocket to that node.</p>
  </section>
  <section id="keys-panel">
    <h2>Keys on every node</h2>
    <form id="add-key"><input id="key-input" placeholder="key names, comma separated" spellcheck="false"><button>watch</button></form>
    <div class="scroll"><table id="keys">
      <thead><tr><th>key</th></tr></thead>
      <tbody></tbody>
    </table></div>
    <p class="muted small">Values are pushed by each node over its WebSocket API (/ws) as they change. ✓ marks a key that reads the same everywhere.</p>
  </section>
  <section id="traffic-panel">
    <h2>Gossip traffic <span class="muted small">(this node, per second)</span></h2>
    <canvas id="traffic" width="560" height="150"></canvas>
    <div id="traffic-legend" class="legend"></div>
  </section>
  <section id="convergence-panel">
    <h2>Convergence time</h2>
    <canvas id="convergence" width="560" height="150"></canvas>
    <div class="legend"><span id="convergence-summary" class="muted">no change observed yet</span>
      <label><input type="checkbox" id="probe-auto"> probe every 5 s</label>
      <button id="probe-now" type="button">probe now</button></div>
    <p class="muted small">Bars: time from the first node showing a new value of a watched key to every node showing it, seen by this page.
      A probe increments the key <code>tally:probe</code> on a random node. Line: the node's own lag estimate (<code>tally_convergence_lag_seconds</code>).</p>
  </section>
</main>
<footer class="muted small" id="footer"></footer>
</body>
</html>
`;

export const STYLE_CSS = `:root { --bg: #f7f7f5; --panel: #fff; --ink: #1d2127; --muted: #6b7280; --line: #e3e3df;
  --alive: #1a9e55; --suspect: #d98e04; --dead: #d1373a; --left: #8a8f98; --in: #2f6fdb; --out: #c2410c; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; background: var(--bg); color: var(--ink); }
header { display: flex; align-items: baseline; gap: 14px; padding: 12px 20px; background: var(--panel); border-bottom: 1px solid var(--line); }
h1 { margin: 0; font-size: 20px; letter-spacing: .5px; }
h2 { margin: 0 0 8px; font-size: 15px; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 14px; padding: 14px 20px; }
#members-panel, #keys-panel { grid-column: 1 / -1; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; min-width: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num, td.value { font-variant-numeric: tabular-nums; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.muted { color: var(--muted); }
.small { font-size: 12px; font-weight: normal; }
.state::before { content: ""; display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 6px; background: var(--left); }
.state.alive::before { background: var(--alive); } .state.suspect::before { background: var(--suspect); }
.state.dead::before { background: var(--dead); } .state.down::before { background: var(--dead); }
.pill { margin-left: auto; padding: 1px 8px; border-radius: 10px; background: var(--line); font-size: 12px; }
.pill.ok { background: #dcf3e5; color: var(--alive); } .pill.bad { background: #fbe0e0; color: var(--dead); }
.converged { color: var(--alive); } .diverged { color: var(--suspect); }
td.value.fresh { background: #fff6c8; transition: none; } td.value { transition: background 1s; }
canvas { width: 100%; height: 150px; display: block; }
.legend { display: flex; gap: 14px; align-items: center; font-size: 12px; margin-top: 6px; flex-wrap: wrap; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: -1px; }
form { display: inline-flex; gap: 6px; margin-bottom: 8px; }
input { font: inherit; padding: 3px 6px; border: 1px solid var(--line); border-radius: 4px; min-width: 260px; }
input[type=checkbox] { min-width: 0; margin: 0 4px 0 0; vertical-align: -2px; }
.scroll { overflow-x: auto; }
button { font: inherit; padding: 3px 10px; border: 1px solid var(--line); border-radius: 4px; background: #f0f0ec; cursor: pointer; }
footer { padding: 0 20px 14px; }
code { font-size: 12px; }
`;
