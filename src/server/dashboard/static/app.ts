// The dashboard's browser script (ES module, served at /dashboard/app.js). It polls this node's /status
// once a second (members, gossip counters, lag estimate, every configured node's URLs) and opens one
// WebSocket per node (/ws, msgpack, docs/client-api.md) to watch the chosen keys on every node.
// No framework and no bundler: tsconfig.dashboard.json compiles it as it is.
//
// On a node with users, /status answers 401 and the page shows its login form: the user and password
// go once to /auth/token (HTTP Basic), which returns a bearer token; the page keeps only the token
// (sessionStorage: this tab, until it closes or the token expires) and sends it with every /status
// poll and as a WebSocket subprotocol, the only credential a browser's WebSocket can carry
// (docs/security.md, "HTTP").

import { chart, fmtBytes, fmtMs, WINDOW_MS } from './charts.js';
import { decode, encode } from './msgpack.js';

/** The parts of GET /status the page reads (node.ts builds it). */
interface Status {
  node: { id: string; cluster: string; incarnation: number; version: string; uptimeMs: number };
  nodes?: { id: string; http?: string; ws?: string | null }[];
  members: { id: string; state: string; incarnation: number; address: string; lastHeardMsAgo: number | null }[];
  gossip: {
    rounds: number;
    sent: Record<string, { frames: number; bytes: number }>;
    received: Record<string, { frames: number; bytes: number }>;
    rejected: Record<string, number>;
    transport: { rejected: Record<string, number> };
  };
  keys: { total: number };
  convergence?: { maxLagMs: number };
  clock?: { ok: boolean; offsetMs: number; boundMs: number };
}

/** A frame from the WebSocket API: a reply `{ id, ok | err }` or a push `{ event, key, value }`. */
type Frame = Record<string, unknown>;
interface Sample {
  at: number;
  ms: number;
}
interface KeySample extends Sample {
  key: string;
}
interface Traffic {
  at: number;
  inB: number;
  outB: number;
  inF: number;
  outF: number;
}

const PROBE_KEY = 'tally:probe';
const TOKEN_KEY = 'tally.token';
const USER_KEY = 'tally.user';
/** Marks the page's own requests: a 401 then challenges with Bearer, so the browser shows no Basic prompt. */
const PAGE_HEADER = { 'X-Requested-With': 'tally-dashboard' };

function $<T extends Element = HTMLElement>(sel: string): T {
  const e = document.querySelector<T>(sel);
  if (e === null) throw new Error(`dashboard: no element ${sel}`);
  return e;
}

const params = new URLSearchParams(location.search);

const st = {
  status: null as Status | null, // last /status of this node
  statusOk: false,
  conns: {} as Record<string, Conn>, // node id -> Conn
  order: [] as string[], // node ids in config order
  keys: [] as string[], // watched key names
  values: {} as Record<string, Record<string, string | undefined>>, // key -> node id -> display string
  divergedAt: {} as Record<string, number>, // key -> performance.now() when nodes first disagreed
  samples: [] as KeySample[], // measured convergence times
  lag: [] as Sample[], // the node's own estimate
  traffic: [] as Traffic[], // per second
  prev: null as Traffic | null,
  token: sessionStorage.getItem(TOKEN_KEY),
  user: sessionStorage.getItem(USER_KEY),
  loginShown: false,
};

// ---- one WebSocket per node --------------------------------------------------------------------

class Conn {
  ws: WebSocket | null = null;
  open = false;
  private nextId = 1;
  private pending: Record<number, (m: Frame) => void> = {};
  private backoff = 250;

  constructor(
    readonly id: string,
    readonly url: string,
  ) {
    this.connect();
  }

  connect(): void {
    let ws: WebSocket;
    try {
      // The token rides as a subprotocol next to `tally`, which the node picks (never the token).
      ws = st.token === null ? new WebSocket(this.url) : new WebSocket(this.url, ['tally', 'tally-bearer.' + st.token]);
    } catch {
      this.retry();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.open = true;
      this.backoff = 250;
      if (st.keys.length > 0) void this.request({ watch: st.keys.slice() });
      render();
    };
    ws.onmessage = (ev: MessageEvent<ArrayBuffer>) => {
      let m: Frame;
      try {
        m = decode(new Uint8Array(ev.data)) as Frame;
      } catch {
        return;
      }
      if (m && m.event === 'value') {
        onValue(this.id, String(m.key), m.value);
        return;
      }
      if (m && typeof m.id === 'number' && this.pending[m.id]) {
        const done = this.pending[m.id] as (m: Frame) => void;
        delete this.pending[m.id];
        done(m);
      }
    };
    ws.onclose = () => {
      const was = this.open;
      this.open = false;
      this.ws = null;
      this.pending = {};
      st.keys.forEach((k) => setValue(this.id, k, undefined));
      if (was) render();
      this.retry();
    };
    ws.onerror = () => {};
  }

  retry(): void {
    setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, 5000);
  }

  /** Reconnects at once (a new token). */
  restart(): void {
    this.backoff = 250;
    if (this.ws !== null) this.ws.close();
    else this.connect();
  }

  request(body: Frame): Promise<Frame> {
    return new Promise((resolve) => {
      if (!this.open || !this.ws) {
        resolve({ err: 'not connected' });
        return;
      }
      const id = this.nextId++;
      body.id = id;
      this.pending[id] = resolve;
      this.ws.send(encode(body));
    });
  }
}

function each(fn: (c: Conn) => void): void {
  st.order.forEach((id) => fn(st.conns[id] as Conn));
}

const initial = (params.get('keys') || localStorage.getItem('tally.keys') || 'pageviews').split(',');
initial.forEach((k) => addKey(k.trim(), false));

// ---- the node's /status ----------------------------------------------------------------------

function authHeaders(): Record<string, string> {
  return st.token === null ? PAGE_HEADER : { ...PAGE_HEADER, Authorization: 'Bearer ' + st.token };
}

function poll(): void {
  // An answer speaks of the credential its request carried. One to a request sent with another than
  // the page holds now (it logged in while the request was on its way) is ignored: its 401 is about
  // no token, and must not end the session the new token began. The login polls at once with it.
  const sent = st.token;
  fetch('/status', { cache: 'no-store', headers: authHeaders() })
    .then((r) => {
      if (sent !== st.token) return null;
      if (r.status === 401) {
        showLogin(sent === null ? '' : 'your session ended: log in again');
        render();
        throw new Error('login required');
      }
      return r.json() as Promise<Status>;
    })
    .then(
      (s) => {
        if (s === null) return;
        hideLogin();
        st.status = s;
        st.statusOk = true;
        setup(s);
        sampleTraffic(s);
        if (s.convergence) st.lag.push({ at: performance.now(), ms: s.convergence.maxLagMs });
        trim(st.lag);
        render();
      },
      () => {
        st.statusOk = false;
        render();
      },
    );
}

function setup(s: Status): void {
  $('#cluster').textContent = 'cluster ' + s.node.cluster;
  $('#self').textContent = 'served by ' + s.node.id + ' · incarnation ' + s.node.incarnation + ' · v' + s.node.version;
  const nodes = s.nodes || [{ id: s.node.id, ws: null }];
  nodes.forEach((n) => {
    if (st.conns[n.id]) return;
    st.order.push(n.id);
    st.conns[n.id] = new Conn(n.id, wsUrl(n, s.node.id));
  });
}

function wsUrl(n: { id: string; ws?: string | null }, selfId: string): string {
  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  if (n.id === selfId || !n.ws) return scheme + location.host + '/ws';
  const u = new URL(n.ws);
  if (u.hostname === '0.0.0.0' || u.hostname === '[::]' || u.hostname === '::') u.hostname = location.hostname;
  return u.toString();
}

function sum(obj: Record<string, { frames: number; bytes: number }>, field: 'frames' | 'bytes'): number {
  let t = 0;
  for (const k in obj) t += obj[k]?.[field] || 0;
  return t;
}

function sampleTraffic(s: Status): void {
  const now = performance.now();
  const g = s.gossip;
  const cur: Traffic = { at: now, inB: sum(g.received, 'bytes'), outB: sum(g.sent, 'bytes'), inF: sum(g.received, 'frames'), outF: sum(g.sent, 'frames') };
  const p = st.prev;
  st.prev = cur;
  if (!p || cur.at <= p.at) return;
  const dt = (cur.at - p.at) / 1000;
  st.traffic.push({ at: now, inB: (cur.inB - p.inB) / dt, outB: (cur.outB - p.outB) / dt, inF: (cur.inF - p.inF) / dt, outF: (cur.outF - p.outF) / dt });
  trim(st.traffic);
}

function trim(a: { at: number }[]): void {
  const cut = performance.now() - WINDOW_MS;
  while (a.length > 0 && (a[0] as { at: number }).at < cut) a.shift();
}

// ---- keys and convergence ----------------------------------------------------------------------

function addKey(k: string, announce: boolean): void {
  if (k === '' || st.keys.indexOf(k) >= 0) return;
  st.keys.push(k);
  st.values[k] = {};
  if (announce) {
    each((c) => void c.request({ watch: [k] }));
    localStorage.setItem('tally.keys', st.keys.filter((x) => x !== PROBE_KEY).join(','));
  }
  renderKeys();
}

function display(v: unknown): string {
  if (v === null) return '(nil)';
  return String(v);
}

function setValue(node: string, key: string, v: string | undefined): void {
  const vals = st.values[key];
  if (!vals) return;
  vals[node] = v;
}

function onValue(node: string, key: string, value: unknown): void {
  const vals = st.values[key];
  if (!vals) return;
  setValue(node, key, display(value));
  const cell = document.querySelector('td.value[data-key="' + CSS.escape(key) + '"][data-node="' + CSS.escape(node) + '"]');
  if (cell) {
    cell.textContent = vals[node] ?? null;
    cell.classList.add('fresh');
    setTimeout(() => cell.classList.remove('fresh'), 50);
  }
  checkConvergence(key);
}

/** Records how long a key took from the first node showing a new value to all connected nodes agreeing. */
function checkConvergence(key: string): void {
  const vals = st.values[key] ?? {};
  let seen: string | null = null;
  let same = true;
  let complete = true;
  let any = false;
  each((c) => {
    if (!c.open) return;
    any = true;
    const v = vals[c.id];
    if (v === undefined) {
      complete = false;
      return;
    }
    if (seen === null) seen = v;
    else if (v !== seen) same = false;
  });
  const mark = document.querySelector('td.mark[data-key="' + CSS.escape(key) + '"]');
  if (!any || !complete) {
    if (mark) {
      mark.textContent = '';
      mark.className = 'mark';
    }
    return;
  }
  const now = performance.now();
  if (same) {
    const since = st.divergedAt[key];
    if (since !== undefined) {
      st.samples.push({ at: now, ms: now - since, key });
      trim(st.samples);
      delete st.divergedAt[key];
      drawConvergence();
    }
  } else if (st.divergedAt[key] === undefined) {
    st.divergedAt[key] = now;
  }
  if (mark) {
    mark.textContent = same ? '✓' : '…';
    mark.className = 'mark ' + (same ? 'converged' : 'diverged');
  }
}

function probe(): void {
  addKey(PROBE_KEY, true);
  const open = st.order.map((id) => st.conns[id] as Conn).filter((c) => c.open);
  if (open.length === 0) return;
  const c = open[Math.floor(Math.random() * open.length)] as Conn;
  void c.request({ cmd: 'INCR', args: [PROBE_KEY] });
}

// ---- rendering -------------------------------------------------------------------------------

function td(text: string, cls?: string): HTMLTableCellElement {
  const e = document.createElement('td');
  if (cls) e.className = cls;
  e.textContent = text;
  return e;
}

function ago(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return ms + ' ms ago';
  return (ms / 1000).toFixed(1) + ' s ago';
}

function renderMembers(): void {
  const s = st.status;
  const body = $('#members tbody');
  body.textContent = '';
  if (!s) return;
  $('#members-view').textContent = '(as ' + s.node.id + ' sees them)';
  const byId: Record<string, Status['members'][number]> = {};
  s.members.forEach((m) => (byId[m.id] = m));
  const ids = st.order.slice();
  s.members.forEach((m) => {
    if (ids.indexOf(m.id) < 0) ids.push(m.id);
  });
  const cfg: Record<string, NonNullable<Status['nodes']>[number]> = {};
  (s.nodes || []).forEach((n) => (cfg[n.id] = n));
  ids.forEach((id) => {
    const m = byId[id];
    const tr = document.createElement('tr');
    tr.dataset.member = id;
    tr.appendChild(td(id + (id === s.node.id ? ' (this node)' : '')));
    const state = m ? m.state : 'unknown';
    tr.appendChild(td(state, 'state ' + state));
    tr.appendChild(td(m ? String(m.incarnation) : '-', 'num'));
    tr.appendChild(td(m ? (id === s.node.id ? 'now' : ago(m.lastHeardMsAgo)) : '-', 'num'));
    tr.appendChild(td(m ? m.address : '-', 'num'));
    const link = td('');
    const http = cfg[id]?.http;
    if (http) {
      const a = document.createElement('a');
      a.href = http + '/';
      a.textContent = ':' + new URL(http).port;
      a.title = http;
      link.appendChild(a);
    }
    tr.appendChild(link);
    const c = st.conns[id];
    tr.appendChild(td(c ? (c.open ? 'connected' : 'down') : '-', 'feed state ' + (c ? (c.open ? 'alive' : 'down') : '')));
    body.appendChild(tr);
  });
}

function renderKeys(): void {
  const head = $('#keys thead tr');
  head.textContent = '';
  const th = document.createElement('th');
  th.textContent = 'key';
  head.appendChild(th);
  st.order.forEach((id) => {
    const h = document.createElement('th');
    h.textContent = id;
    head.appendChild(h);
  });
  head.appendChild(document.createElement('th'));
  const body = $('#keys tbody');
  body.textContent = '';
  st.keys.forEach((k) => {
    const tr = document.createElement('tr');
    tr.dataset.key = k;
    tr.appendChild(td(k));
    st.order.forEach((id) => {
      const v = st.values[k]?.[id];
      const cell = td(v === undefined ? '…' : v, 'value');
      cell.dataset.key = k;
      cell.dataset.node = id;
      tr.appendChild(cell);
    });
    const mark = td('', 'mark');
    mark.dataset.key = k;
    tr.appendChild(mark);
    body.appendChild(tr);
    checkConvergence(k);
  });
}

function render(): void {
  const conn = $('#conn');
  const open = st.order.filter((id) => st.conns[id]?.open).length;
  conn.textContent = st.loginShown ? 'login required' : st.statusOk ? open + '/' + st.order.length + ' nodes connected' : 'node unreachable';
  conn.className = 'pill ' + (st.statusOk && open === st.order.length ? 'ok' : 'bad');
  renderMembers();
  if ($('#keys thead tr').children.length !== st.order.length + 2) renderKeys();
  else
    st.keys.forEach((k) => {
      st.order.forEach((id) => {
        const cell = document.querySelector('td.value[data-key="' + CSS.escape(k) + '"][data-node="' + CSS.escape(id) + '"]');
        const v = st.values[k]?.[id];
        if (cell) cell.textContent = v === undefined ? '…' : v;
      });
      checkConvergence(k);
    });
  drawTraffic();
  drawConvergence();
  const s = st.status;
  if (s) $('#footer').textContent = 'keys on ' + s.node.id + ': ' + s.keys.total + ' · gossip rounds ' + s.gossip.rounds + ' · up ' + Math.round(s.node.uptimeMs / 1000) + ' s';
  // A clock beyond the bound: the node refuses windowed writes until it is fixed (docs/consistency.md).
  const clock = $('#clock');
  const c = s?.clock;
  clock.hidden = c === undefined || c.ok;
  if (c !== undefined && !c.ok) clock.textContent = 'clock ' + Math.round(c.offsetMs) + ' ms off its peers (tolerated ' + c.boundMs + ' ms): windowed writes refused';
}

// ---- charts ------------------------------------------------------------------------------------

function drawTraffic(): void {
  const t = st.traffic;
  chart(
    $<HTMLCanvasElement>('#traffic'),
    [
      { color: '#2f6fdb', points: t.map((p) => ({ at: p.at, v: p.inB })) },
      { color: '#c2410c', points: t.map((p) => ({ at: p.at, v: p.outB })) },
    ],
    fmtBytes,
  );
  const last = t[t.length - 1];
  const s = st.status;
  let rejected = 0;
  if (s) {
    for (const r in s.gossip.rejected) rejected += s.gossip.rejected[r] ?? 0;
    for (const q in s.gossip.transport.rejected) rejected += s.gossip.transport.rejected[q] ?? 0;
  }
  const legend = $('#traffic-legend');
  legend.innerHTML = '';
  const parts: [string, string][] = [
    ['#2f6fdb', 'in ' + (last ? fmtBytes(last.inB) + '/s, ' + last.inF.toFixed(1) + ' frames/s' : '-')],
    ['#c2410c', 'out ' + (last ? fmtBytes(last.outB) + '/s, ' + last.outF.toFixed(1) + ' frames/s' : '-')],
  ];
  parts.forEach((p) => {
    const span = document.createElement('span');
    const sw = document.createElement('span');
    sw.className = 'swatch';
    sw.style.background = p[0];
    span.appendChild(sw);
    span.appendChild(document.createTextNode(p[1]));
    legend.appendChild(span);
  });
  const extra = document.createElement('span');
  extra.className = 'muted';
  extra.textContent = s ? 'rounds ' + s.gossip.rounds + ' · rejected frames ' + rejected : '';
  legend.appendChild(extra);
}

function drawConvergence(): void {
  chart(
    $<HTMLCanvasElement>('#convergence'),
    [
      { color: '#1a9e55', bars: true, points: st.samples.map((p) => ({ at: p.at, v: p.ms })) },
      { color: '#8a8f98', points: st.lag.map((p) => ({ at: p.at, v: p.ms })) },
    ],
    fmtMs,
  );
  const n = st.samples.length;
  const last = st.samples[n - 1];
  if (last !== undefined) {
    const sorted = st.samples.map((p) => p.ms).sort((a, b) => a - b);
    $('#convergence-summary').textContent =
      'last ' + fmtMs(last.ms) + ' (' + last.key + ') · median ' + fmtMs(sorted[Math.floor(n / 2)] as number) + ' · max ' + fmtMs(sorted[n - 1] as number) + ' over ' + n + ' change(s)';
  }
}

// ---- controls ------------------------------------------------------------------------------------

$('#add-key').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>('#key-input');
  input.value.split(',').forEach((k) => addKey(k.trim(), true));
  input.value = '';
});
// ---- login ---------------------------------------------------------------------------------------

function showLogin(message: string): void {
  if (st.token !== null) {
    st.token = null;
    st.user = null;
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
  }
  // The poll asks every second while the form is up, with no message: that keeps the one shown
  // (a wrong password) until the next attempt, rather than erasing it within a second.
  const err = $('#login-error');
  if (message !== '' || !st.loginShown) {
    err.textContent = message;
    err.hidden = message === '';
  }
  if (st.loginShown) return;
  st.loginShown = true;
  $('#login').hidden = false;
  $('#who').hidden = true;
  $('#logout').hidden = true;
  $<HTMLInputElement>('#password').focus();
}

function hideLogin(): void {
  if (st.loginShown) {
    st.loginShown = false;
    $('#login').hidden = true;
  }
  const who = $('#who');
  who.hidden = st.user === null;
  who.textContent = st.user === null ? '' : 'logged in as ' + st.user;
  $('#logout').hidden = st.user === null;
}

/** base64 of the UTF-8 bytes of `s` (btoa alone takes Latin-1 only). */
function base64Utf8(s: string): string {
  let bin = '';
  new TextEncoder().encode(s).forEach((b) => (bin += String.fromCharCode(b)));
  return btoa(bin);
}

$('#auth').addEventListener('submit', (e) => {
  e.preventDefault();
  const user = $<HTMLInputElement>('#username').value.trim() || 'default';
  const password = $<HTMLInputElement>('#password').value;
  fetch('/auth/token', { cache: 'no-store', headers: { ...PAGE_HEADER, Authorization: 'Basic ' + base64Utf8(user + ':' + password) } })
    .then(async (r) => {
      const body = (await r.json()) as { token?: string; user?: string; error?: string };
      if (r.status === 200 && typeof body.token === 'string') {
        st.token = body.token;
        st.user = body.user ?? user;
        sessionStorage.setItem(TOKEN_KEY, st.token);
        sessionStorage.setItem(USER_KEY, st.user);
        $<HTMLInputElement>('#password').value = '';
        $('#login-error').hidden = true;
        hideLogin();
        each((c) => c.restart());
        poll();
        return;
      }
      const why = r.status === 429 ? 'too many failed attempts: try again in ' + (r.headers.get('retry-after') ?? 'a few') + ' s' : r.status === 401 ? 'wrong user or password' : body.error ?? 'HTTP ' + r.status;
      $('#login-error').textContent = why;
      $('#login-error').hidden = false;
    })
    .catch(() => {
      $('#login-error').textContent = 'the node did not answer';
      $('#login-error').hidden = false;
    });
});
$('#logout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
  location.reload();
});
$('#probe-now').addEventListener('click', probe);
setInterval(() => {
  if ($<HTMLInputElement>('#probe-auto').checked) probe();
}, 5000);

poll();
setInterval(poll, 1000);
