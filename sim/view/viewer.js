/* akt-sim view: draws a trace's message sequence chart from the model that
 * akt-sim wrote into the page (sim/view/model.h says what it holds).
 *
 * Lanes are columns, virtual time runs down. Only what falls inside the
 * visible time window is drawn, and at most a fixed number of arrows and
 * events (flagged ones first), so a trace of 100 000 records stays quick:
 * zoom in to see everything in a stretch. The state (window, expanded
 * nodes, layers) is kept in the URL's #fragment, so a view can be shared.
 */
/* A failure shows in the page itself (and a test reading the DOM sees it). */
window.addEventListener("error", function (e) {
  document.body.dataset.state = "error";
  var pre = document.createElement("pre");
  pre.id = "js-error";
  pre.textContent = "viewer error: " + e.message;
  document.body.insertBefore(pre, document.body.firstChild);
});

(function () {
  "use strict";

  var MAX_ARROWS = 4000;  /* arrows drawn at once; beyond, a sample */
  var MAX_EVENTS = 3000;  /* event dots drawn at once */
  var MAX_LABELS = 250;   /* arrow labels drawn at once */
  var AXIS_W = 74;        /* px left of the first lane */
  var MIN_LANE_W = 110;
  var LAYERS = ["message", "frame", "datagram"];
  var F_DROP = 1, F_DUP = 2, F_REORDER = 4, F_DEAD = 8, F_PENDING = 32;

  var D = JSON.parse(document.getElementById("akt-data").textContent);
  var N = D.t.length;
  var tMin = N ? D.t[0] : 0, tMax = N ? D.t[N - 1] : 1;
  if (tMax <= tMin) tMax = tMin + 1000;
  tMax += Math.ceil((tMax - tMin) * 0.02); /* room below the last record */

  var $ = function (id) { return document.getElementById(id); };
  var svg = $("svg"), plot = $("plot"), heads = $("heads");

  /* ---- the model, unpacked -------------------------------------------------- */

  var arrows = [];
  for (var i = 0; i < D.arrows.length; i += 6)
    arrows.push({ from: D.arrows[i], to: D.arrows[i + 1], dst: D.arrows[i + 2],
                  label: D.strs[D.arrows[i + 3]], flags: D.arrows[i + 4],
                  layer: LAYERS[D.arrows[i + 5]], idx: arrows.length });
  var bands = [];
  for (i = 0; i < D.bands.length; i += 7)
    bands.push({ start: D.bands[i], end: D.bands[i + 1], a: D.bands[i + 2], b: D.bands[i + 3],
                 rec: D.bands[i + 4], label: D.strs[D.bands[i + 5]],
                 kind: D.bandKinds[D.bands[i + 6]], idx: bands.length });
  var marks = [];
  for (i = 0; i < D.marks.length; i += 2)
    marks.push({ rec: D.marks[i], cls: D.markClasses[D.marks[i + 1]] });
  var highlights = marks.filter(function (m) { return m.cls === "member" || m.cls === "violation"; });

  /* Actor lanes of each node, in the order they first appear (-1: the node
   * itself: network, logs, faults). */
  var actorsOf = D.lanes.map(function () { return [-1]; });
  for (i = 0; i < N; i++) {
    var ln = D.lane[i], ac = D.actor[i];
    if (ln >= 0 && ac >= 0 && actorsOf[ln].indexOf(ac) < 0) actorsOf[ln].push(ac);
  }

  /* The trace's lines, split on first use (the details panel). */
  var lines = null;
  function line(r) {
    if (!lines) lines = D.text.split("\n");
    return lines[r] || "";
  }

  /* ---- state ------------------------------------------------------------------ */

  var st = { v0: tMin, v1: tMax, f0: tMin, f1: tMax, expanded: {},
             show: { message: true, datagram: true, frame: false, events: true } };
  var cols = [], colOfLane = [], colOfActor = [];
  var W = 0, H = 0, laneW = MIN_LANE_W, selected = null;

  function readHash() {
    var h = location.hash.replace(/^#/, "");
    h.split("&").forEach(function (kv) {
      var p = kv.split("="), k = p[0], v = decodeURIComponent(p[1] || "");
      if (k === "from" && v !== "") st.v0 = st.f0 = Math.max(tMin, parseSeconds(v));
      else if (k === "to" && v !== "") st.v1 = st.f1 = Math.min(tMax, parseSeconds(v));
      else if (k === "expand") v.split(",").forEach(function (n) {
        var l = D.lanes.indexOf(n);
        if (l >= 0) st.expanded[l] = true;
      });
      else if (k === "show") {
        LAYERS.concat(["events"]).forEach(function (x) { st.show[x] = v.split(",").indexOf(x) >= 0; });
      }
    });
    if (!(st.v1 > st.v0)) { st.v0 = st.f0 = tMin; st.v1 = st.f1 = tMax; }
  }

  function writeHash() {
    var ex = Object.keys(st.expanded).filter(function (k) { return st.expanded[k]; })
      .map(function (k) { return D.lanes[k]; });
    var sh = Object.keys(st.show).filter(function (k) { return st.show[k]; });
    var h = "from=" + fmtSeconds(st.v0) + "&to=" + fmtSeconds(st.v1) +
      (ex.length ? "&expand=" + encodeURIComponent(ex.join(",")) : "") + "&show=" + sh.join(",");
    if (history.replaceState) history.replaceState(null, "", "#" + h);
  }

  /* ---- time ---------------------------------------------------------------------- */

  function parseSeconds(s) {
    var m = /^\s*([0-9.]+)\s*(ns|us|ms|s)?\s*$/.exec(s);
    if (!m) return NaN;
    var mul = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 }[m[2] || "s"];
    return Math.round(parseFloat(m[1]) * mul);
  }

  function fmtSeconds(ns) { return (ns / 1e9).toFixed(9).replace(/\.?0+$/, ""); }

  function fmtTime(ns, step) {
    var digits = step >= 1e9 ? 0 : step >= 1e8 ? 1 : step >= 1e7 ? 2 : step >= 1e6 ? 3 :
                 step >= 1e5 ? 4 : step >= 1e4 ? 5 : step >= 1e3 ? 6 : 9;
    return (ns / 1e9).toFixed(digits) + "s";
  }

  function y(t) { return (t - st.v0) * H / (st.v1 - st.v0); }

  /* First record at or after time t. */
  function firstAt(t) {
    var lo = 0, hi = N;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (D.t[mid] < t) lo = mid + 1; else hi = mid; }
    return lo;
  }

  /* ---- lanes ------------------------------------------------------------------------ */

  function layoutLanes() {
    cols = []; colOfLane = []; colOfActor = [];
    D.lanes.forEach(function (name, l) {
      colOfLane[l] = cols.length;
      colOfActor[l] = {};
      if (st.expanded[l]) {
        actorsOf[l].forEach(function (a) {
          colOfActor[l][a] = cols.length;
          cols.push({ lane: l, actor: a, name: a < 0 ? name : D.strs[a] });
        });
      } else {
        cols.push({ lane: l, actor: null, name: name });
      }
    });
    W = plot.clientWidth; H = plot.clientHeight;
    laneW = Math.max(MIN_LANE_W, (W - AXIS_W - 20) / Math.max(1, cols.length));
    W = Math.max(W, AXIS_W + 20 + laneW * cols.length);
    var html = "";
    cols.forEach(function (c, k) {
      var actor = c.actor !== null;
      html += '<div class="lane-head' + (actor ? " actor" : "") + '" data-lane="' + c.lane +
        '" style="left:' + (colX(k) - laneW / 2 + 2) + "px;width:" + (laneW - 4) + 'px" title="' +
        esc(c.name) + (actor ? "" : " — click for its actors") + '">' + esc(shortPath(c.name)) +
        (actor && c.actor >= 0 ? '<span class="sub">' + esc(D.lanes[c.lane]) + "</span>" :
         actor ? '<span class="sub">node</span>' : "") + "</div>";
    });
    heads.innerHTML = html;
  }

  function colX(k) { return AXIS_W + laneW * (k + 0.5); }

  /* The column of record r. */
  function colOf(r) {
    var l = D.lane[r];
    if (l < 0) return -1;
    if (!st.expanded[l]) return colOfLane[l];
    var c = colOfActor[l][D.actor[r]];
    return c === undefined ? colOfActor[l][-1] : c;
  }

  /* The lane's column when an arrow ends on no record of it. */
  function colOfDst(l) { return st.expanded[l] ? colOfActor[l][-1] : colOfLane[l]; }

  function shortPath(p) {
    if (p.length <= 22) return p;
    var parts = p.split("/");
    return "…/" + parts.slice(-2).join("/");
  }

  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }

  /* ---- drawing ------------------------------------------------------------------------ */

  function inView(t0, t1) { return t1 >= st.v0 && t0 <= st.v1 && t1 >= st.f0 && t0 <= st.f1; }

  /* Keeps at most `max` of `items`, flagged ones first, the rest evenly. */
  function sample(items, max, flagged) {
    if (items.length <= max) return items;
    var first = items.filter(flagged), rest = items.filter(function (x) { return !flagged(x); });
    var room = Math.max(0, max - first.length), out = first.slice(0, max);
    var step = rest.length / Math.max(1, room);
    for (var k = 0; k < room && Math.floor(k * step) < rest.length; k++) out.push(rest[Math.floor(k * step)]);
    return out;
  }

  function drawAxis(parts) {
    var span = st.v1 - st.v0, raw = span / Math.max(2, H / 60);
    var p10 = Math.pow(10, Math.floor(Math.log10(raw))), step = p10;
    [1, 2, 5, 10].some(function (m) { step = m * p10; return step >= raw; });
    parts.push('<g class="axis">');
    for (var t = Math.ceil(st.v0 / step) * step; t <= st.v1; t += step) {
      var yy = y(t).toFixed(1);
      parts.push('<line x1="' + (AXIS_W - 6) + '" x2="' + W + '" y1="' + yy + '" y2="' + yy + '"/>' +
        '<text x="' + (AXIS_W - 8) + '" y="' + yy + '" dy="3" text-anchor="end">' + fmtTime(t, step) + "</text>");
    }
    parts.push("</g>");
  }

  function bandCols(b) {
    if (b.a < 0) return cols.map(function (c, k) { return k; });
    var out = [];
    cols.forEach(function (c, k) { if (c.lane === b.a || c.lane === b.b) out.push(k); });
    return out;
  }

  function drawBands(parts) {
    bands.forEach(function (b) {
      if (!inView(b.start, b.end)) return;
      var y0 = Math.max(-2, y(b.start)), y1 = Math.min(H + 2, y(Math.max(b.end, b.start + 1)));
      var ks = bandCols(b);
      if (!ks.length) return;
      /* One band across its lanes: a node's (its actors' too), a link's
       * two ends and what lies between, or every lane. */
      var k0 = Math.min.apply(null, ks), k1 = Math.max.apply(null, ks);
      var h = Math.max(2, y1 - y0).toFixed(1);
      parts.push('<g class="band ' + b.kind + '" data-b="' + b.idx + '">');
      parts.push('<rect x="' + (colX(k0) - laneW / 2 + 3).toFixed(1) + '" y="' + y0.toFixed(1) +
        '" width="' + (laneW * (k1 - k0 + 1) - 6).toFixed(1) + '" height="' + h + '"/>');
      var label = b.kind + (b.kind === "crash" || b.kind === "pause" ? "" : " " + b.label);
      parts.push('<text x="' + (colX(k0) - laneW / 2 + 6).toFixed(1) + '" y="' +
        Math.max(10, y0 + 11).toFixed(1) + '">' + esc(label) + "</text></g>");
    });
  }

  function arrowVisible(a) {
    if (!st.show[a.layer]) return null;
    var c1 = colOf(a.from);
    if (c1 < 0 || a.dst < 0) return null;
    var t0 = D.t[a.from], t1 = a.to >= 0 ? D.t[a.to] : t0;
    if (!inView(t0, t1)) return null;
    var c2 = a.to >= 0 && D.lane[a.to] === a.dst ? colOf(a.to) : colOfDst(a.dst);
    if (c1 === c2) return null; /* within one lane: an event, not an arrow */
    return { a: a, c1: c1, c2: c2, t0: t0, t1: t1 };
  }

  function drawArrows(parts, note) {
    var vis = [];
    arrows.forEach(function (a) { var v = arrowVisible(a); if (v) vis.push(v); });
    var shown = sample(vis, MAX_ARROWS, function (v) { return v.a.flags & (F_DROP | F_DUP | F_REORDER | F_DEAD); });
    if (shown.length < vis.length) note.push("showing " + shown.length + " of " + vis.length + " arrows: zoom in for all");
    var labels = shown.length <= MAX_LABELS;
    shown.forEach(function (v) {
      var a = v.a, x1 = colX(v.c1), x2 = colX(v.c2), y1 = y(v.t0), y2 = y(v.t1);
      var pending = a.flags & F_PENDING;
      var lost = pending || ((a.flags & F_DROP) && D.lane[a.to] !== a.dst);
      if (lost) { /* it never reached its lane: a stub toward it */
        x2 = x1 + (x2 - x1) * (pending ? 0.3 : 0.45);
        if (a.to < 0) y2 = y1 + 14;
      }
      var cls = "arrow " + (a.layer === "message" ? "msg" : a.layer === "datagram" ? "dgram" : "frame") +
        (a.flags & F_DROP ? " drop" : "") + (a.flags & F_DUP ? " dup" : "") +
        (a.flags & F_REORDER ? " reorder" : "") + (a.flags & F_DEAD ? " dead" : "") +
        (pending ? " pending" : "") +
        (selected && selected.arrow === a.idx ? " sel" : "");
      var head = lost ? "" : ' marker-end="url(#head)"';
      parts.push('<path class="' + cls + '" data-a="' + a.idx + '" d="M' + x1.toFixed(1) + " " + y1.toFixed(1) +
        "L" + x2.toFixed(1) + " " + y2.toFixed(1) + '"' + head + "/>");
      if ((lost && !pending) || (a.flags & F_DEAD))
        parts.push('<path class="xmark" d="M' + (x2 - 4).toFixed(1) + " " + (y2 - 4).toFixed(1) + "l8 8m0 -8l-8 8" + '"/>');
      if (labels) {
        var tag = a.flags & F_DUP ? " (dup)" : a.flags & F_REORDER ? " (reordered)" :
                  a.flags & F_DEAD ? " (dead letter)" : a.flags & F_DROP ? " (dropped)" :
                  pending ? " …" : "";
        var name = a.layer === "message" ? a.label.replace(/^.*\./, "") : a.label;
        parts.push('<text class="arrow-label" x="' + ((x1 + x2) / 2).toFixed(1) + '" y="' +
          ((y1 + y2) / 2 - 3).toFixed(1) + '" text-anchor="middle">' + esc(name + tag) + "</text>");
      }
    });
    return shown.length;
  }

  function drawEvents(parts, note) {
    if (!st.show.events) return;
    var r0 = firstAt(Math.max(st.v0, st.f0)), r1 = firstAt(Math.min(st.v1, st.f1) + 1);
    var idx = [];
    for (var r = r0; r < r1; r++) idx.push(r);
    var shown = sample(idx, MAX_EVENTS, function () { return false; });
    if (shown.length < idx.length) note.push("showing " + shown.length + " of " + idx.length + " events");
    shown.forEach(function (r) {
      var c = colOf(r), yy = y(D.t[r]).toFixed(1), sel = selected && selected.rec === r ? " sel" : "";
      if (c < 0) {
        parts.push('<rect class="world-ev' + sel + '" data-r="' + r + '" x="' + (AXIS_W - 4) + '" y="' + (yy - 2) + '" width="6" height="4"/>');
        return;
      }
      parts.push('<circle class="ev k-' + D.kinds[D.kind[r]] + sel + '" data-r="' + r + '" cx="' +
        colX(c).toFixed(1) + '" cy="' + yy + '" r="2.6"/>');
    });
  }

  function drawMarks(parts) {
    marks.forEach(function (m) {
      var t = D.t[m.rec];
      if (!inView(t, t)) return;
      var c = colOf(m.rec), yy = y(t).toFixed(1), text = D.strs[D.type[m.rec]];
      var x = c >= 0 ? colX(c) : AXIS_W + 4;
      parts.push('<g class="mark ' + m.cls + '" data-r="' + m.rec + '">');
      if (m.cls === "violation") {
        var what = line(m.rec).replace(/^.* x=/, "").replace(/_/g, " ");
        parts.push('<line x1="' + AXIS_W + '" x2="' + W + '" y1="' + yy + '" y2="' + yy + '"/>' +
          '<text x="' + (AXIS_W + 6) + '" y="' + yy + '" dy="-4">&#9888; check failed: ' + esc(what) + "</text>");
      } else if (m.cls === "member") {
        parts.push('<line x1="' + (x - laneW / 2 + 4).toFixed(1) + '" x2="' + (x + laneW / 2 - 4).toFixed(1) +
          '" y1="' + yy + '" y2="' + yy + '"/><path d="M' + x.toFixed(1) + " " + (yy - 6) + "l6 6l-6 6l-6 -6z" +
          '"/><text x="' + (x + 8).toFixed(1) + '" y="' + yy + '" dy="-3">' + esc(text) + "</text>");
      } else {
        parts.push('<path d="M' + x.toFixed(1) + " " + (yy - 4.5) + "l4.5 4.5l-4.5 4.5l-4.5 -4.5z" + '"/>');
      }
      parts.push("</g>");
    });
  }

  function render() {
    layoutLanes();
    var parts = [], note = [];
    svg.setAttribute("width", W);
    svg.setAttribute("height", H);
    parts.push('<defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" ' +
      'orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="context-stroke"/></marker>' +
      '<pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
      '<rect width="8" height="8" fill="rgba(232,163,61,.12)"/><line x1="0" y1="0" x2="0" y2="8" ' +
      'stroke="rgba(232,163,61,.55)" stroke-width="3"/></pattern></defs>');
    drawAxis(parts);
    cols.forEach(function (c, k) {
      parts.push('<line class="lane-line" x1="' + colX(k) + '" x2="' + colX(k) + '" y1="0" y2="' + H + '"/>');
    });
    drawBands(parts);
    var drawn = drawArrows(parts, note);
    drawEvents(parts, note);
    drawMarks(parts);
    svg.innerHTML = parts.join("");
    $("note").textContent = note.join("; ");
    $("from").value = fmtSeconds(st.v0);
    $("to").value = fmtSeconds(st.v1);
    $("nodes").classList.toggle("on", !Object.keys(st.expanded).some(function (k) { return st.expanded[k]; }));
    document.body.dataset.arrows = drawn;
    writeHash();
  }

  /* ---- details ---------------------------------------------------------------------- */

  function recordHtml(r, what) {
    return '<div class="what">' + esc(what) + " — record " + (r + 1) + "</div><pre>" + esc(line(r)) + "</pre>";
  }

  function flagWords(f) {
    var w = [];
    if (f & F_DROP) w.push("dropped");
    if (f & F_DUP) w.push("a duplicate");
    if (f & F_REORDER) w.push("reordered: something sent after it on the same path arrived first");
    if (f & F_DEAD) w.push("dead-lettered");
    if (f & F_PENDING) w.push("not arrived when the trace ends");
    return w.join(", ");
  }

  function showArrow(a) {
    selected = { arrow: a.idx };
    var h = "<p>" + esc(a.layer + " " + a.label) + " from " + esc(D.lanes[D.lane[a.from]]) + " to " +
      esc(D.lanes[a.dst] || "?") + (a.flags ? " — " + esc(flagWords(a.flags)) : "") + "</p>";
    h += recordHtml(a.from, "sent");
    if (a.to >= 0) h += recordHtml(a.to, a.flags & F_DROP ? "dropped" : a.flags & F_DEAD ? "dead letter" : "arrived");
    else h += "<p>It had not arrived when the trace ends: still in flight, or lost where the trace does not say.</p>";
    $("record").innerHTML = h;
  }

  function showRecord(r) {
    selected = { rec: r };
    $("record").innerHTML = recordHtml(r, D.kinds[D.kind[r]] + " on " + (D.lane[r] >= 0 ? D.lanes[D.lane[r]] : "the world"));
  }

  function showBand(b) {
    selected = { rec: b.rec };
    $("record").innerHTML = "<p>" + esc(b.kind + " " + b.label) + " from " + fmtSeconds(b.start) + "s to " +
      fmtSeconds(b.end) + "s</p>" + recordHtml(b.rec, "fault");
  }

  /* ---- interaction --------------------------------------------------------------------- */

  function setWindow(v0, v1) {
    var span = v1 - v0;
    if (span < 1000) { var mid = (v0 + v1) / 2; v0 = mid - 500; v1 = mid + 500; span = 1000; }
    var lo = st.f0, hi = st.f1;
    if (span > hi - lo) { v0 = lo; v1 = hi; }
    else if (v0 < lo) { v0 = lo; v1 = lo + span; }
    else if (v1 > hi) { v1 = hi; v0 = hi - span; }
    st.v0 = v0; st.v1 = v1;
    render();
  }

  function zoom(factor, at) {
    var c = at === undefined ? (st.v0 + st.v1) / 2 : at;
    setWindow(c - (c - st.v0) * factor, c + (st.v1 - c) * factor);
  }

  function centerOn(t) {
    var span = st.v1 - st.v0;
    setWindow(t - span / 2, t + span / 2);
  }

  $("zoom-in").onclick = function () { zoom(0.5); };
  $("zoom-out").onclick = function () { zoom(2); };
  $("fit").onclick = function () { setWindow(st.f0, st.f1); };
  $("controls").onsubmit = function (e) {
    e.preventDefault();
    var a = parseSeconds($("from").value), b = parseSeconds($("to").value);
    if (isNaN(a)) a = tMin;
    if (isNaN(b)) b = tMax;
    if (b <= a) return;
    st.f0 = Math.max(tMin, a); st.f1 = Math.min(tMax, b);
    setWindow(st.f0, st.f1);
  };
  $("clear").onclick = function () { st.f0 = tMin; st.f1 = tMax; setWindow(tMin, tMax); };
  $("actors").onclick = function () { D.lanes.forEach(function (n, l) { st.expanded[l] = true; }); render(); };
  $("nodes").onclick = function () { st.expanded = {}; render(); };
  ["message", "datagram", "frame", "events"].forEach(function (k) {
    var box = $("show-" + k);
    box.checked = st.show[k];
    box.onchange = function () { st.show[k] = box.checked; render(); };
  });
  function jumpMark(dir) {
    var mid = (st.v0 + st.v1) / 2, best = null;
    highlights.forEach(function (m) {
      var t = D.t[m.rec];
      if (dir > 0 ? t > mid + 1 && (best === null || t < D.t[best.rec]) :
                    t < mid - 1 && (best === null || t > D.t[best.rec])) best = m;
    });
    if (best) { showRecord(best.rec); centerOn(D.t[best.rec]); }
  }
  $("prev-mark").onclick = function () { jumpMark(-1); };
  $("next-mark").onclick = function () { jumpMark(1); };

  heads.onclick = function (e) {
    var h = e.target.closest(".lane-head");
    if (!h) return;
    var l = +h.dataset.lane;
    st.expanded[l] = !st.expanded[l];
    render();
  };

  svg.onclick = function (e) {
    if (dragMoved) return;
    var el = e.target.closest("[data-a],[data-r],[data-b]");
    if (!el) return;
    if (el.dataset.a !== undefined) showArrow(arrows[+el.dataset.a]);
    else if (el.dataset.b !== undefined) showBand(bands[+el.dataset.b]);
    else showRecord(+el.dataset.r);
    render();
  };

  var dragY = null, dragV0 = 0, dragMoved = false;
  plot.onmousedown = function (e) { dragY = e.clientY; dragV0 = st.v0; dragMoved = false; plot.classList.add("dragging"); };
  window.onmousemove = function (e) {
    if (dragY === null) return;
    var dy = e.clientY - dragY;
    if (Math.abs(dy) > 3) dragMoved = true;
    if (!dragMoved) return;
    var span = st.v1 - st.v0, v0 = dragV0 - dy * span / H;
    setWindow(v0, v0 + span);
  };
  window.onmouseup = function () { dragY = null; plot.classList.remove("dragging"); setTimeout(function () { dragMoved = false; }, 0); };
  plot.onwheel = function (e) {
    e.preventDefault();
    var span = st.v1 - st.v0;
    if (e.ctrlKey || e.metaKey) {
      var at = st.v0 + (e.clientY - plot.getBoundingClientRect().top) * span / H;
      zoom(e.deltaY > 0 ? 1.25 : 0.8, at);
    } else {
      var v0 = st.v0 + e.deltaY * span / H / 2;
      setWindow(v0, v0 + span);
    }
  };
  window.onkeydown = function (e) {
    if (e.target.tagName === "INPUT") return;
    var span = st.v1 - st.v0;
    if (e.key === "+" || e.key === "=") zoom(0.5);
    else if (e.key === "-") zoom(2);
    else if (e.key === "f") setWindow(st.f0, st.f1);
    else if (e.key === "ArrowDown") setWindow(st.v0 + span / 4, st.v1 + span / 4);
    else if (e.key === "ArrowUp") setWindow(st.v0 - span / 4, st.v1 - span / 4);
    else return;
    e.preventDefault();
  };
  window.onresize = function () { render(); };

  /* ---- start ------------------------------------------------------------------------------ */

  var nViol = marks.filter(function (m) { return m.cls === "violation"; }).length;
  var nMember = marks.filter(function (m) { return m.cls === "member"; }).length;
  $("stats").textContent = N + " records, " + D.lanes.length + " nodes, " +
    fmtSeconds(tMax - tMin) + "s of virtual time; " + arrows.length + " messages, frames and datagrams, " +
    bands.length + " faults" + (nMember ? ", " + nMember + " membership changes" : "") +
    (nViol ? ", " + nViol + " failed check" + (nViol > 1 ? "s" : "") : "");
  readHash();
  render();
  document.body.dataset.loadMs = Math.round(performance.now());
  document.body.dataset.state = "ready";
})();
