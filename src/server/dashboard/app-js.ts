// The dashboard's browser script, served at /dashboard/app.js. It polls this node's /status once a
// second (members, gossip counters, lag estimate, every configured node's URLs) and opens one
// WebSocket per node (/ws, msgpack, docs/client-api.md) to watch the chosen keys on every node.
// Plain ES2020, no framework, no build step: it is a string so `tsc` ships it inside dist/.

export const APP_JS = String.raw`// tally dashboard (served by every node at /)
'use strict';
(function () {
  var MP = window.TallyMsgpack;
  var PROBE_KEY = 'tally:probe';
  var WINDOW_MS = 120000;
  var $ = function (sel) { return document.querySelector(sel); };
  var params = new URLSearchParams(location.search);

  var st = {
    status: null,          // last /status of this node
    statusOk: false,
    conns: {},             // node id -> Conn
    order: [],             // node ids in config order
    keys: [],              // watched key names
    values: {},            // key -> node id -> display string
    divergedAt: {},        // key -> performance.now() when nodes first disagreed
    samples: [],           // [{at, ms, key}] measured convergence times
    lag: [],               // [{at, ms}] the node's own estimate
    traffic: [],           // [{at, inB, outB, inF, outF}] per second
    prev: null,
    password: null,
  };

  var initial = (params.get('keys') || localStorage.getItem('tally.keys') || 'pageviews').split(',');
  initial.forEach(function (k) { addKey(k.trim(), false); });

  // ---- the node's /status ----------------------------------------------------------------------

  function poll() {
    fetch('/status', { cache: 'no-store' }).then(function (r) { return r.json(); }).then(function (s) {
      st.status = s;
      st.statusOk = true;
      setup(s);
      sampleTraffic(s);
      if (s.convergence) st.lag.push({ at: performance.now(), ms: s.convergence.maxLagMs });
      trim(st.lag);
      render();
    }, function () {
      st.statusOk = false;
      render();
    });
  }

  function setup(s) {
    $('#cluster').textContent = 'cluster ' + s.node.cluster;
    $('#self').textContent = 'served by ' + s.node.id + ' · incarnation ' + s.node.incarnation + ' · v' + s.node.version;
    var nodes = s.nodes || [{ id: s.node.id, ws: null }];
    nodes.forEach(function (n) {
      if (st.conns[n.id]) return;
      st.order.push(n.id);
      st.conns[n.id] = new Conn(n.id, wsUrl(n, s.node.id));
    });
  }

  function wsUrl(n, selfId) {
    var scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    if (n.id === selfId || !n.ws) return scheme + location.host + '/ws';
    var u = new URL(n.ws);
    if (u.hostname === '0.0.0.0' || u.hostname === '[::]' || u.hostname === '::') u.hostname = location.hostname;
    return u.toString();
  }

  function sum(obj, field) {
    var t = 0;
    for (var k in obj) t += obj[k][field] || 0;
    return t;
  }

  function sampleTraffic(s) {
    var now = performance.now();
    var g = s.gossip;
    var cur = { at: now, inB: sum(g.received, 'bytes'), outB: sum(g.sent, 'bytes'), inF: sum(g.received, 'frames'), outF: sum(g.sent, 'frames') };
    var p = st.prev;
    st.prev = cur;
    if (!p || cur.at <= p.at) return;
    var dt = (cur.at - p.at) / 1000;
    st.traffic.push({ at: now, inB: (cur.inB - p.inB) / dt, outB: (cur.outB - p.outB) / dt, inF: (cur.inF - p.inF) / dt, outF: (cur.outF - p.outF) / dt });
    trim(st.traffic);
  }

  function trim(a) {
    var cut = performance.now() - WINDOW_MS;
    while (a.length > 0 && a[0].at < cut) a.shift();
  }

  // ---- one WebSocket per node --------------------------------------------------------------------

  function Conn(id, url) {
    this.id = id;
    this.url = url;
    this.ws = null;
    this.open = false;
    this.nextId = 1;
    this.pending = {};
    this.backoff = 250;
    this.connect();
  }
  Conn.prototype.connect = function () {
    var self = this;
    var ws;
    try { ws = new WebSocket(this.url); } catch (e) { this.retry(); return; }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = function () {
      self.open = true;
      self.backoff = 250;
      if (st.password !== null) self.request({ cmd: 'AUTH', args: [st.password] });
      if (st.keys.length > 0) self.request({ watch: st.keys.slice() });
      render();
    };
    ws.onmessage = function (ev) {
      var m;
      try { m = MP.decode(new Uint8Array(ev.data)); } catch (e) { return; }
      if (m && m.event === 'value') { onValue(self.id, m.key, m.value); return; }
      if (m && typeof m.id === 'number' && self.pending[m.id]) {
        var done = self.pending[m.id];
        delete self.pending[m.id];
        done(m);
      }
      if (m && typeof m.err === 'string' && m.err.indexOf('NOAUTH') === 0) $('#auth').hidden = false;
    };
    ws.onclose = function () {
      var was = self.open;
      self.open = false;
      self.ws = null;
      self.pending = {};
      st.keys.forEach(function (k) { setValue(self.id, k, undefined); });
      if (was) render();
      self.retry();
    };
    ws.onerror = function () {};
  };
  Conn.prototype.retry = function () {
    var self = this;
    setTimeout(function () { self.connect(); }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, 5000);
  };
  Conn.prototype.request = function (body) {
    var self = this;
    return new Promise(function (resolve) {
      if (!self.open || !self.ws) { resolve({ err: 'not connected' }); return; }
      var id = self.nextId++;
      body.id = id;
      self.pending[id] = resolve;
      self.ws.send(MP.encode(body));
    });
  };

  function each(fn) { st.order.forEach(function (id) { fn(st.conns[id]); }); }

  // ---- keys and convergence ----------------------------------------------------------------------

  function addKey(k, announce) {
    if (k === '' || st.keys.indexOf(k) >= 0) return;
    st.keys.push(k);
    st.values[k] = {};
    if (announce) {
      each(function (c) { c.request({ watch: [k] }); });
      localStorage.setItem('tally.keys', st.keys.filter(function (x) { return x !== PROBE_KEY; }).join(','));
    }
    renderKeys();
  }

  function display(v) {
    if (v === null) return '(nil)';
    return String(v);
  }

  function setValue(node, key, v) {
    if (!st.values[key]) return;
    st.values[key][node] = v;
  }

  function onValue(node, key, value) {
    if (!st.values[key]) return;
    setValue(node, key, display(value));
    var cell = document.querySelector('td.value[data-key="' + CSS.escape(key) + '"][data-node="' + CSS.escape(node) + '"]');
    if (cell) {
      cell.textContent = st.values[key][node];
      cell.classList.add('fresh');
      setTimeout(function () { cell.classList.remove('fresh'); }, 50);
    }
    checkConvergence(key);
  }

  /** Records how long a key took from the first node showing a new value to all connected nodes agreeing. */
  function checkConvergence(key) {
    var vals = st.values[key];
    var seen = null, same = true, complete = true, any = false;
    each(function (c) {
      if (!c.open) return;
      any = true;
      var v = vals[c.id];
      if (v === undefined) { complete = false; return; }
      if (seen === null) seen = v; else if (v !== seen) same = false;
    });
    var mark = document.querySelector('td.mark[data-key="' + CSS.escape(key) + '"]');
    if (!any || !complete) { if (mark) { mark.textContent = ''; mark.className = 'mark'; } return; }
    var now = performance.now();
    if (same) {
      var since = st.divergedAt[key];
      if (since !== undefined) {
        st.samples.push({ at: now, ms: now - since, key: key });
        trim(st.samples);
        delete st.divergedAt[key];
        drawConvergence();
      }
    } else if (st.divergedAt[key] === undefined) {
      st.divergedAt[key] = now;
    }
    if (mark) { mark.textContent = same ? '✓' : '…'; mark.className = 'mark ' + (same ? 'converged' : 'diverged'); }
  }

  function probe() {
    addKey(PROBE_KEY, true);
    var open = st.order.map(function (id) { return st.conns[id]; }).filter(function (c) { return c.open; });
    if (open.length === 0) return;
    var c = open[Math.floor(Math.random() * open.length)];
    c.request({ cmd: 'INCR', args: [PROBE_KEY] });
  }

  // ---- rendering -------------------------------------------------------------------------------

  function td(text, cls) {
    var e = document.createElement('td');
    if (cls) e.className = cls;
    e.textContent = text;
    return e;
  }

  function ago(ms) {
    if (ms === null || ms === undefined) return '-';
    if (ms < 1000) return ms + ' ms ago';
    return (ms / 1000).toFixed(1) + ' s ago';
  }

  function renderMembers() {
    var s = st.status;
    var body = $('#members tbody');
    body.textContent = '';
    if (!s) return;
    $('#members-view').textContent = '(as ' + s.node.id + ' sees them)';
    var byId = {};
    s.members.forEach(function (m) { byId[m.id] = m; });
    var ids = st.order.slice();
    s.members.forEach(function (m) { if (ids.indexOf(m.id) < 0) ids.push(m.id); });
    var cfg = {};
    (s.nodes || []).forEach(function (n) { cfg[n.id] = n; });
    ids.forEach(function (id) {
      var m = byId[id];
      var tr = document.createElement('tr');
      tr.dataset.member = id;
      tr.appendChild(td(id + (id === s.node.id ? ' (this node)' : '')));
      var state = m ? m.state : 'unknown';
      var stCell = td(state, 'state ' + state);
      tr.appendChild(stCell);
      tr.appendChild(td(m ? String(m.incarnation) : '-', 'num'));
      tr.appendChild(td(m ? (id === s.node.id ? 'now' : ago(m.lastHeardMsAgo)) : '-', 'num'));
      tr.appendChild(td(m ? m.address : '-', 'num'));
      var link = td('');
      if (cfg[id] && cfg[id].http) {
        var a = document.createElement('a');
        a.href = cfg[id].http + '/';
        a.textContent = ':' + new URL(cfg[id].http).port;
        a.title = cfg[id].http;
        link.appendChild(a);
      }
      tr.appendChild(link);
      var c = st.conns[id];
      tr.appendChild(td(c ? (c.open ? 'connected' : 'down') : '-', 'feed state ' + (c ? (c.open ? 'alive' : 'down') : '')));
      body.appendChild(tr);
    });
  }

  function renderKeys() {
    var head = $('#keys thead tr');
    head.textContent = '';
    var th = document.createElement('th');
    th.textContent = 'key';
    head.appendChild(th);
    st.order.forEach(function (id) { var h = document.createElement('th'); h.textContent = id; head.appendChild(h); });
    head.appendChild(document.createElement('th'));
    var body = $('#keys tbody');
    body.textContent = '';
    st.keys.forEach(function (k) {
      var tr = document.createElement('tr');
      tr.dataset.key = k;
      tr.appendChild(td(k));
      st.order.forEach(function (id) {
        var v = st.values[k][id];
        var cell = td(v === undefined ? '…' : v, 'value');
        cell.dataset.key = k;
        cell.dataset.node = id;
        tr.appendChild(cell);
      });
      var mark = td('', 'mark');
      mark.dataset.key = k;
      tr.appendChild(mark);
      body.appendChild(tr);
      checkConvergence(k);
    });
  }

  function render() {
    var conn = $('#conn');
    var open = st.order.filter(function (id) { return st.conns[id].open; }).length;
    conn.textContent = st.statusOk ? open + '/' + st.order.length + ' nodes connected' : 'node unreachable';
    conn.className = 'pill ' + (st.statusOk && open === st.order.length ? 'ok' : 'bad');
    renderMembers();
    if ($('#keys thead tr').children.length !== st.order.length + 2) renderKeys();
    else st.keys.forEach(function (k) {
      st.order.forEach(function (id) {
        var cell = document.querySelector('td.value[data-key="' + CSS.escape(k) + '"][data-node="' + CSS.escape(id) + '"]');
        var v = st.values[k][id];
        if (cell) cell.textContent = v === undefined ? '…' : v;
      });
      checkConvergence(k);
    });
    drawTraffic();
    drawConvergence();
    var s = st.status;
    if (s) $('#footer').textContent = 'keys on ' + s.node.id + ': ' + s.keys.total + ' · gossip rounds ' + s.gossip.rounds + ' · up ' + Math.round(s.node.uptimeMs / 1000) + ' s';
  }

  // ---- charts (canvas, no library) ---------------------------------------------------------------

  function fmtBytes(v) {
    if (v >= 1048576) return (v / 1048576).toFixed(1) + ' MB';
    if (v >= 1024) return (v / 1024).toFixed(1) + ' kB';
    return Math.round(v) + ' B';
  }
  function fmtMs(v) { return v >= 1000 ? (v / 1000).toFixed(1) + ' s' : Math.round(v) + ' ms'; }

  /** Draws time series over the last WINDOW_MS: series = [{points:[{at, v}], color, bars}]. */
  function chart(canvas, series, fmt) {
    var dpr = window.devicePixelRatio || 1;
    var w = canvas.clientWidth || canvas.width, h = canvas.clientHeight || canvas.height;
    if (canvas.width !== Math.round(w * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
    var g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    var left = 58, top = 8, bottom = 18, pw = w - left - 8, ph = h - top - bottom;
    var max = 0;
    series.forEach(function (s) { s.points.forEach(function (p) { if (p.v > max) max = p.v; }); });
    max = max <= 0 ? 1 : max * 1.15;
    var now = performance.now();
    var x = function (at) { return left + pw * (1 - (now - at) / WINDOW_MS); };
    var y = function (v) { return top + ph * (1 - v / max); };
    g.strokeStyle = '#e3e3df'; g.fillStyle = '#6b7280'; g.font = '11px system-ui, sans-serif'; g.lineWidth = 1;
    for (var i = 0; i <= 3; i++) {
      var v = max * i / 3, yy = Math.round(y(v)) + 0.5;
      g.beginPath(); g.moveTo(left, yy); g.lineTo(left + pw, yy); g.stroke();
      g.fillText(fmt(v), 4, yy + 4);
    }
    g.fillText('-2 min', left, h - 4);
    g.fillText('now', left + pw - 20, h - 4);
    series.forEach(function (s) {
      g.strokeStyle = s.color; g.fillStyle = s.color; g.lineWidth = 1.5;
      if (s.bars) {
        s.points.forEach(function (p) { g.fillRect(x(p.at) - 2, y(p.v), 4, top + ph - y(p.v)); });
        return;
      }
      g.beginPath();
      s.points.forEach(function (p, j) { if (j === 0) g.moveTo(x(p.at), y(p.v)); else g.lineTo(x(p.at), y(p.v)); });
      g.stroke();
    });
  }

  function drawTraffic() {
    var t = st.traffic;
    chart($('#traffic'), [
      { color: '#2f6fdb', points: t.map(function (p) { return { at: p.at, v: p.inB }; }) },
      { color: '#c2410c', points: t.map(function (p) { return { at: p.at, v: p.outB }; }) },
    ], fmtBytes);
    var last = t[t.length - 1];
    var s = st.status;
    var rejected = 0;
    if (s) { for (var r in s.gossip.rejected) rejected += s.gossip.rejected[r]; for (var q in s.gossip.transport.rejected) rejected += s.gossip.transport.rejected[q]; }
    $('#traffic-legend').innerHTML = '';
    var parts = [
      ['#2f6fdb', 'in ' + (last ? fmtBytes(last.inB) + '/s, ' + last.inF.toFixed(1) + ' frames/s' : '-')],
      ['#c2410c', 'out ' + (last ? fmtBytes(last.outB) + '/s, ' + last.outF.toFixed(1) + ' frames/s' : '-')],
    ];
    parts.forEach(function (p) {
      var span = document.createElement('span');
      var sw = document.createElement('span');
      sw.className = 'swatch'; sw.style.background = p[0];
      span.appendChild(sw);
      span.appendChild(document.createTextNode(p[1]));
      $('#traffic-legend').appendChild(span);
    });
    var extra = document.createElement('span');
    extra.className = 'muted';
    extra.textContent = s ? 'rounds ' + s.gossip.rounds + ' · rejected frames ' + rejected : '';
    $('#traffic-legend').appendChild(extra);
  }

  function drawConvergence() {
    chart($('#convergence'), [
      { color: '#1a9e55', bars: true, points: st.samples.map(function (p) { return { at: p.at, v: p.ms }; }) },
      { color: '#8a8f98', points: st.lag.map(function (p) { return { at: p.at, v: p.ms }; }) },
    ], fmtMs);
    var n = st.samples.length;
    if (n > 0) {
      var sorted = st.samples.map(function (p) { return p.ms; }).sort(function (a, b) { return a - b; });
      var last = st.samples[n - 1];
      $('#convergence-summary').textContent = 'last ' + fmtMs(last.ms) + ' (' + last.key + ') · median ' + fmtMs(sorted[Math.floor(n / 2)]) + ' · max ' + fmtMs(sorted[n - 1]) + ' over ' + n + ' change(s)';
    }
  }

  // ---- controls ------------------------------------------------------------------------------------

  $('#add-key').addEventListener('submit', function (e) {
    e.preventDefault();
    $('#key-input').value.split(',').forEach(function (k) { addKey(k.trim(), true); });
    $('#key-input').value = '';
  });
  $('#auth').addEventListener('submit', function (e) {
    e.preventDefault();
    st.password = $('#password').value;
    $('#auth').hidden = true;
    each(function (c) { if (c.open) { c.request({ cmd: 'AUTH', args: [st.password] }); c.request({ watch: st.keys.slice() }); } });
  });
  $('#probe-now').addEventListener('click', probe);
  setInterval(function () { if ($('#probe-auto').checked) probe(); }, 5000);

  poll();
  setInterval(poll, 1000);
})();
`;
