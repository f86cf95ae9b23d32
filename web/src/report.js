// faultline's run report: draws the page from the JSON in #faultline-data with uPlot (embedded
// beside this script) for the plots and plain SVG for the space-time diagram. Everything shown
// comes from that JSON; nothing here reads the clock, so the same data draws the same page.
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('faultline-data').textContent);
  const app = document.getElementById('app');

  // Colours: the incident (base) in red, its fixes in a fixed order after it.
  const PALETTE = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b',
    '#e377c2', '#7f7f7f', '#bcbd22', '#393b79', '#637939', '#843c39', '#7b4173'];
  const MESSAGE_COLOUR = { req: '#1f77b4', resp: '#2ca02c', refused: '#e67e00', other: '#6b7280' };
  const colour = {};
  data.variants.forEach((v, i) => { colour[v.name] = PALETTE[i % PALETTE.length]; });

  // --- small helpers ---------------------------------------------------------------------------
  const el = window.faultlineEl;  // web/src/dom.js
  const SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }
  // A time since the start: "850ms", "19.5s", "2h19m", "1h05m30s".
  function fmtT(s) {
    if (s == null || !isFinite(s)) return '';
    const neg = s < 0;
    s = Math.abs(s);
    let out;
    if (s === 0) out = '0';
    else if (s < 1e-3) out = +(s * 1e6).toPrecision(3) + 'µs';
    else if (s < 1) out = +(s * 1e3).toPrecision(3) + 'ms';
    else if (s < 60) out = +s.toPrecision(4) + 's';
    else {
      const h = Math.floor(s / 3600);
      const m = Math.floor((s % 3600) / 60);
      const sec = s % 60;
      const secText = Number.isInteger(sec) ? String(sec).padStart(2, '0')
        : sec.toFixed(s < 600 ? 2 : 1).padStart(s < 600 ? 5 : 4, '0');
      out = (h ? h + 'h' : '') + (h ? String(m).padStart(2, '0') : m) + 'm' +
        (sec ? secText + 's' : '');
    }
    return (neg ? '-' : '') + out;
  }
  function fmtNum(v) {
    if (v == null || !isFinite(v)) return '—';
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
    return String(+v.toPrecision(4));
  }
  function fmtBound(x, e) {
    return e.duration_valued ? fmtT(x) : fmtNum(x);
  }
  function section(id, title, sub) {
    const s = el('section', { class: 'card', id });
    s.append(el('h2', {}, title, sub ? el('small', { text: sub }) : null));
    return s;
  }

  // --- header ----------------------------------------------------------------------------------
  const failedRuns = data.variants.filter((v) => !v.ok).length;
  let failedExpectations = 0;
  let totalVerdicts = 0;
  for (const e of data.expectations) {
    for (const r of Object.values(e.results)) {
      totalVerdicts++;
      if (!r.ok) failedExpectations++;
    }
  }
  const header = el('header', { class: 'top' },
    el('div', { class: 'eyebrow', text: 'faultline · scenario report' }),
    el('h1', {}, data.scenario,
      el('span', {
        class: 'pill ' + (failedRuns ? 'bad' : 'ok'),
        text: failedRuns ? `${failedExpectations} of ${totalVerdicts} expectations failed`
          : `all ${totalVerdicts} expectations met`,
      })),
    el('div', { class: 'facts' },
      el('span', { text: `model ${data.model}` }),
      el('span', { text: `${fmtT(data.duration_s)} simulated from ${data.epoch}` }),
      el('span', { text: `${data.variants.length} variant${data.variants.length === 1 ? '' : 's'}` }),
      el('span', { text: data.file })));
  const errorsBox = el('div', { id: 'errors' });
  const nav = el('nav', { class: 'sections' });
  for (const [id, label] of [['story', 'What happened'], ['runs', 'Variants and run facts'],
    ['plots', 'Observations'], ['expectations', 'Expectations'], ['diagram', 'Space-time diagram']]) {
    nav.append(el('a', { href: '#' + id, text: label }));
  }
  const main = el('main');
  app.replaceChildren(header, errorsBox, nav, main);

  // --- story -----------------------------------------------------------------------------------
  {
    const s = section('story', 'What happened');
    s.append(el('p', { class: 'summary', text: data.story.summary || '(the scenario has no story)' }));
    if (data.story.sources && data.story.sources.length) {
      const ol = el('ol', { class: 'sources' });
      for (const src of data.story.sources) {
        const li = el('li');
        // Link the URL inside a source line, keep the rest as text.
        const m = /(https?:\/\/\S+)/.exec(src);
        if (m) {
          li.append(src.slice(0, m.index), el('a', { href: m[1], text: m[1] }), src.slice(m.index + m[1].length));
        } else {
          li.textContent = src;
        }
        ol.append(li);
      }
      s.append(el('div', { class: 'note', text: 'Sources' }), ol);
    }
    if (data.faults.length) {
      const ul = el('ul', { class: 'fault-list' });
      for (const f of data.faults) {
        const when = f.at_s == null ? 'seeded at random' :
          `at ${fmtT(f.at_s)}` + (f.for_s != null ? ` for ${fmtT(f.for_s)}` : '');
        const scope = f.variants.length === data.variants.length ? 'every variant' : f.variants.join(', ');
        let extra = '';
        if (f.at_s == null && f.spec.mean_interval) extra = `, about every ${f.spec.mean_interval}`;
        ul.append(el('li', {}, el('b', { text: f.label }), ` ${when}${extra} (${scope})`));
      }
      s.append(el('div', { class: 'note', text: 'Injected faults' }), ul);
    }
    main.append(s);
  }

  // --- variants and run facts ------------------------------------------------------------------
  {
    const s = section('runs', 'Variants and run facts', 'same seed for every variant unless stated');
    const t = el('table', { class: 'grid' });
    t.append(el('tr', {}, ...['variant', 'expectations', 'availability', 'attempts/request',
      'throughput/s', 'p50', 'p99', 'seed', 'config hash', 'trace hash', 'events', 'reproduce']
      .map((h) => el('th', { text: h }))));
    for (const v of data.variants) {
      let n = 0;
      let bad = 0;
      for (const e of data.expectations) {
        const r = e.results[v.name];
        if (r) { n++; if (!r.ok) bad++; }
      }
      const k = v.key || {};
      t.append(el('tr', {},
        el('td', { class: 'variant' }, el('span', { class: 'swatch', style: `background:${colour[v.name]}` }),
          el('b', { text: v.name }), v.description ? el('div', { class: 'note', text: v.description }) : null),
        el('td', { class: bad ? 'bad' : 'ok', text: bad ? `✗ ${bad} of ${n} failed` : `✓ ${n} met` }),
        el('td', { class: 'num', text: fmtNum(k.availability) }),
        el('td', { class: 'num', text: fmtNum(k.retry_amplification) }),
        el('td', { class: 'num', text: fmtNum(k.throughput_per_s) }),
        el('td', { class: 'num', text: fmtT(k.latency_p50_s) }),
        el('td', { class: 'num', text: fmtT(k.latency_p99_s) }),
        el('td', { class: 'num', text: v.seed }),
        el('td', { class: 'mono', text: v.config_hash }),
        el('td', { class: 'mono', text: v.trace_hash }),
        el('td', { class: 'num', text: (v.events || 0).toLocaleString('en') }),
        el('td', {}, el('code', { class: 'cmd', text: v.reproduce }))));
    }
    s.append(el('div', { class: 'scroll' }, t));
    s.append(el('p', {
      class: 'note',
      text: 'Same seed and same file give the same trace hash on every machine: the reproduce ' +
        'command replays the run exactly. This page holds no wall-clock time, so the same results ' +
        'give the same page byte for byte.',
    }));
    main.append(s);
  }

  // Tick steps of the time axis in seconds: round units of a clock, so labels stay short.
  const TIME_INCRS = [1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01,
    0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
    10800, 21600, 43200, 86400];

  // --- plots -----------------------------------------------------------------------------------
  const plotsSection = section('plots', 'Observations',
    'drag across a plot to zoom (all plots follow), double-click to reset; hover for values');
  const grid = el('div', { class: 'plots' });
  plotsSection.append(grid);
  if (data.downsampled.length) {
    plotsSection.append(el('p', {
      class: 'note warn',
      text: 'Long series are downsampled for drawing: each bucket keeps its first, lowest and ' +
        'highest sample, so spikes and dips survive. ' + data.downsampled.map((d) =>
        `${d.series} (${d.variant}): ${d.points} samples drawn as ${d.drawn}`).join('; ') + '.',
    }));
  }
  main.append(plotsSection);

  const plots = [];
  let syncing = false;
  function syncZoom(u) {
    if (syncing) return;
    syncing = true;
    const { min, max } = u.scales.x;
    for (const p of plots) {
      if (p !== u) p.setScale('x', { min, max });
    }
    syncing = false;
  }

  function faultBands(u) {
    const ctx = u.ctx;
    const { top, height } = u.bbox;
    ctx.save();
    ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
    let row = 0;
    for (const f of data.faults) {
      if (f.at_s == null) continue;
      const x0 = u.valToPos(f.at_s, 'x', true);
      const x1 = f.for_s != null ? u.valToPos(f.at_s + f.for_s, 'x', true) : x0;
      ctx.fillStyle = 'rgba(198,40,40,0.10)';
      ctx.strokeStyle = 'rgba(198,40,40,0.75)';
      ctx.lineWidth = devicePixelRatio;
      if (x1 - x0 >= 2) ctx.fillRect(x0, top, x1 - x0, height);
      ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(x0, top);
      ctx.lineTo(x0, top + height);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = '#a61b1b';
      ctx.fillText(f.label, x0 + 4 * devicePixelRatio, top + (12 + 13 * row) * devicePixelRatio);
      row++;
    }
    ctx.restore();
  }

  function expectationMarks(obsName) {
    return data.expectations.filter((e) => e.plot === obsName);
  }

  function drawExpectations(u, marks) {
    const ctx = u.ctx;
    const dpr = devicePixelRatio;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    ctx.font = `${Math.round(10.5 * dpr)}px system-ui, sans-serif`;
    // uPlot leaves the context right-aligned after drawing the y axis.
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
    marks.forEach((e, i) => {
      const variants = Object.keys(e.results);
      const single = variants.length === 1 ? variants[0] : null;
      const allOk = variants.every((v) => e.results[v].ok);
      const c = single ? colour[single] : '#333';
      const x0 = u.valToPos(e.from_s, 'x', true);
      const x1 = u.valToPos(e.to_s == null ? data.duration_s : e.to_s, 'x', true);
      // The window: the bound's dashed line between brackets at the window's ends.
      const lines = [];
      if (e.min != null) lines.push(['≥', e.min]);
      if (e.max != null) lines.push(['≤', e.max]);
      if (e.threshold != null) lines.push(['recovers to ≥', e.threshold]);
      for (const [op, val] of lines) {
        const y = u.valToPos(val, 'y', true);
        ctx.strokeStyle = c;
        ctx.lineWidth = 1.6 * dpr;
        ctx.setLineDash([6 * dpr, 4 * dpr]);
        ctx.beginPath();
        ctx.moveTo(x0, y);
        ctx.lineTo(x1, y);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.beginPath();
        ctx.moveTo(x0, y - 4 * dpr);
        ctx.lineTo(x0, y + 4 * dpr);
        ctx.moveTo(x1, y - 4 * dpr);
        ctx.lineTo(x1, y + 4 * dpr);
        ctx.stroke();
        const who = single || (variants.length === data.variants.length ? 'all'
          : variants.length <= 2 ? variants.join(', ') : `${variants.length} variants`);
        const shown = op === 'recovers to ≥' ? fmtNum(val) : fmtBound(val, e);
        const label = `${op} ${shown} ${who} ${allOk ? '✓' : '✗'}`;
        ctx.fillStyle = allOk ? c : '#c62828';
        const tx = Math.min(Math.max(x0 + 3 * dpr, left + 2), left + width - ctx.measureText(label).width - 2);
        ctx.fillText(label, tx, y - (3 + (i % 3) * 11) * dpr);
      }
    });
    ctx.restore();
  }

  function yRangeWith(marks) {
    return (u, min, max) => {
      let lo = min;
      let hi = max;
      for (const e of marks) {
        for (const v of [e.min, e.max, e.threshold]) {
          if (v != null && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
        }
      }
      if (lo == null || hi == null || !isFinite(lo) || !isFinite(hi)) return [0, 1];
      if (lo === hi) { const d = Math.abs(lo) || 1; return [lo - d * 0.1, hi + d * 0.1]; }
      const pad = (hi - lo) * 0.08;
      return [lo >= 0 && lo - pad < 0 ? 0 : lo - pad, hi + pad];
    };
  }

  // A plot fills its card (the grid decides how many cards share a row).
  function plotWidth(card) {
    return Math.max(320, Math.floor(card.getBoundingClientRect().width - 22));
  }

  for (const obs of data.observations) {
    const perVariant = data.series[obs.name] || {};
    const names = data.variants.map((v) => v.name).filter((n) => perVariant[n]);
    const card = el('div', { class: 'plot', 'data-observation': obs.name });
    card.append(el('h3', {}, obs.name, el('span', { class: 'sub', text: obs.label })));
    grid.append(card);
    if (!names.length) {
      card.append(el('p', { class: 'note', text: 'No samples were recorded.' }));
      continue;
    }
    const tables = names.map((n) => [perVariant[n].map((p) => p[0]), perVariant[n].map((p) => p[1])]);
    const aligned = tables.length === 1 ? tables[0] : uPlot.join(tables);
    const marks = expectationMarks(obs.name);
    const opts = {
      width: plotWidth(card),
      height: 250,
      cursor: { sync: { key: 'faultline' }, drag: { x: true, y: false, setScale: true } },
      scales: { x: { time: false }, y: { range: yRangeWith(marks) } },
      legend: { live: true },
      axes: [
        { values: (u, vals) => vals.map(fmtT), incrs: TIME_INCRS, space: 70, grid: { stroke: '#eceef2' }, ticks: { stroke: '#dde1e8' } },
        { size: 58, values: (u, vals) => vals.map(fmtNum), grid: { stroke: '#eceef2' }, ticks: { stroke: '#dde1e8' } },
      ],
      series: [{ label: 'T+', value: (u, v) => (v == null ? '—' : fmtT(v)) }].concat(names.map((n) => ({
        label: n,
        stroke: colour[n],
        width: n === data.variants[0].name ? 2 : 1.5,
        value: (u, v) => fmtNum(v),
        // Sparse series (a value in a few intervals only) are dots, or they would not show.
        points: { show: perVariant[n].filter((p) => p[1] != null).length <= 40, size: 6 },
      }))),
      hooks: {
        drawClear: [faultBands],
        draw: [(u) => drawExpectations(u, marks)],
        setScale: [(u, key) => { if (key === 'x') syncZoom(u); }],
      },
    };
    const u = new uPlot(opts, aligned, card);
    plots.push(u);
  }
  window.addEventListener('resize', () => {
    for (const p of plots) p.setSize({ width: plotWidth(p.root.parentNode), height: 250 });
  });

  // --- expectations ----------------------------------------------------------------------------
  {
    const s = section('expectations', 'Expectations',
      'checked against what each run measured; ✓ met, ✗ failed, — does not apply to that variant');
    const t = el('table', { class: 'grid' });
    t.append(el('tr', {}, el('th', { text: 'expectation' }), el('th', { text: 'bound' }),
      ...data.variants.map((v) => el('th', {}, el('span', { class: 'swatch', style: `background:${colour[v.name]}` }), v.name))));
    for (const e of data.expectations) {
      const bound = Object.values(e.results).map((r) => r.bound).find((b) => b) || '';
      t.append(el('tr', { id: 'exp-' + e.pointer.replace(/[^a-z0-9]+/gi, '-') },
        el('td', {}, e.description, el('div', { class: 'note mono', text: e.pointer })),
        el('td', { class: 'num', text: bound }),
        ...data.variants.map((v) => {
          const r = e.results[v.name];
          if (!r) return el('td', { class: 'na', text: '—' });
          return el('td', { class: r.ok ? 'ok' : 'bad', text: (r.ok ? '✓ ' : '✗ ') + r.measured });
        })));
    }
    s.append(el('div', { class: 'scroll' }, t));
    main.append(s);
  }

  // --- space-time diagram ----------------------------------------------------------------------
  const diagramSection = section('diagram', 'Space-time diagram');
  main.append(diagramSection);
  drawDiagram(diagramSection, data.diagram);

  function drawDiagram(s, d) {
    if (!d || d.missing) {
      s.append(el('p', { class: 'note warn', text: 'No diagram: ' + ((d && d.missing) || 'not recorded') + '.' }));
      return;
    }
    const fromNs = d.from_ns;
    const endNs = d.capped ? d.capped_at_ns : d.to_ns;
    const nodeById = new Map(d.nodes.map((n) => [n[0], { id: n[0], name: n[1], group: n[2], host: n[3] }]));
    const byName = new Map(d.nodes.map((n) => [n[1], n[0]]));
    const count = new Map();
    for (const m of d.messages) {
      count.set(m[0], (count.get(m[0]) || 0) + 1);
      count.set(m[1], (count.get(m[1]) || 0) + 1);
    }
    // Lifecycle events, mapped to node ids (a host event marks every node on the host).
    const events = [];
    for (const [t, src, who, kind] of d.node_events) {
      const ids = src === 'host' ? d.nodes.filter((n) => n[3] === who).map((n) => n[0])
        : (byName.has(who) ? [byName.get(who)] : []);
      for (const id of ids) events.push({ t, id, kind: src === 'host' ? 'host ' + kind : kind });
    }
    for (const e of events) {
      if (e.t >= fromNs && e.t <= endNs && !count.has(e.id)) count.set(e.id, 0);
    }
    const MAX_LANES = 40;
    let laneIds = [...count.keys()].filter((id) => nodeById.has(id));
    let lanesCapped = 0;
    if (laneIds.length > MAX_LANES) {
      laneIds.sort((a, b) => count.get(b) - count.get(a) || a - b);
      lanesCapped = laneIds.length - MAX_LANES;
      laneIds = laneIds.slice(0, MAX_LANES);
    }
    laneIds.sort((a, b) => {
      const ga = nodeById.get(a).group;
      const gb = nodeById.get(b).group;
      return ga < gb ? -1 : ga > gb ? 1 : a - b;
    });
    const lane = new Map(laneIds.map((id, i) => [id, i]));

    const sub = `${d.variant} · from ${fmtT(fromNs / 1e9)} to ${fmtT(endNs / 1e9)}` +
      ` · ${d.messages.length.toLocaleString('en')} messages`;
    s.querySelector('h2').append(el('small', { text: sub }));
    const notes = [];
    if (d.capped) {
      notes.push(`Capped: at most ${d.max_messages} messages are drawn; the cap was reached at ` +
        `${fmtT(d.capped_at_ns / 1e9)}, so the drawing stops there instead of at ${fmtT(d.to_ns / 1e9)} ` +
        `(${d.sends_left_out.toLocaleString('en')} later sends left out). Choose a narrower window ` +
        `with faultline report --diagram-window.`);
    }
    if (d.left_out_before) {
      notes.push(`${d.left_out_before.toLocaleString('en')} messages sent between ` +
        `${fmtT(d.requested_from_ns / 1e9)} and ${fmtT(fromNs / 1e9)} are left out, so that the ` +
        `drawing opens shortly before ${fmtT(d.anchor_ns / 1e9)}, the moment it is about.`);
    }
    if (d.slid_from_ns !== undefined) {
      notes.push(`No message was sent between ${fmtT(d.slid_from_ns / 1e9)} and ` +
        `${fmtT((d.slid_from_ns + (d.to_ns - d.from_ns)) / 1e9)} (the default window, a tenth ` +
        `into the run), so the diagram opens at the first message sent after it. Choose another ` +
        `window with faultline report --diagram-window.`);
    }
    if (lanesCapped) {
      notes.push(`${lanesCapped} quieter nodes are left out: the diagram draws the ${MAX_LANES} ` +
        'nodes that sent or received most messages in the window.');
    }
    for (const n of notes) s.append(el('p', { class: 'note warn', text: n }));
    if (!d.nodes.length) {
      s.append(el('p', { class: 'note', text: 'This model has no network of nodes (it does not ' +
        'build a simulated world), so there are no messages to draw.' }));
      return;
    }
    if (!laneIds.length) {
      s.append(el('p', { class: 'note', text: `No messages were recorded and no node ` +
        `crashed, paused or restarted between ${fmtT(fromNs / 1e9)} and ${fmtT(endNs / 1e9)}. ` +
        'Choose another window with faultline report --diagram-window.' }));
      return;
    }

    const W = Math.max(900, Math.floor(s.getBoundingClientRect().width - 42));
    const LEFT = 190;
    const RIGHT = 16;
    const TOP = 30;
    const LANE = laneIds.length > 24 ? 16 : laneIds.length > 12 ? 24 : 32;
    const H = TOP + LANE * laneIds.length + 24;
    const span = Math.max(1, endNs - fromNs);
    const x = (t) => LEFT + ((Math.min(Math.max(t, fromNs), endNs) - fromNs) / span) * (W - LEFT - RIGHT);
    const y = (id) => TOP + LANE * lane.get(id) + LANE / 2;
    const root = svg('svg', { class: 'spacetime', width: W, height: H, viewBox: `0 0 ${W} ${H}` });
    const defs = svg('defs');
    for (const [name, c] of Object.entries(MESSAGE_COLOUR)) {
      const mk = svg('marker', { id: 'arrow-' + name, viewBox: '0 0 10 10', refX: '10', refY: '5',
        markerWidth: '6', markerHeight: '6', orient: 'auto-start-reverse' });
      mk.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: c }));
      defs.append(mk);
    }
    root.append(defs);

    // Time axis.
    const axis = svg('g', { class: 'axis' });
    const ticks = 8;
    for (let i = 0; i <= ticks; i++) {
      const t = fromNs + (span * i) / ticks;
      const xx = x(t);
      axis.append(svg('line', { x1: xx, x2: xx, y1: TOP - 6, y2: H - 20, stroke: '#eceef2' }));
      const label = svg('text', { x: xx, y: TOP - 10, 'text-anchor': 'middle' });
      label.textContent = fmtT(t / 1e9);
      axis.append(label);
    }
    root.append(axis);

    // Partitions (and other faults with an end) as bands across every lane; instants as lines.
    const open = new Map();
    const faultMarks = [];
    for (const [t, kind, target, origin] of d.faults) {
      if (kind === 'heal' || kind === 'restart' || kind === 'resume' || origin === 'undo') {
        const start = open.get(target);
        if (start) { faultMarks.push({ from: start.t, to: t, label: `${start.kind} ${target}` }); open.delete(target); }
        else faultMarks.push({ from: t, to: null, label: `${kind} ${target}` });
      } else {
        open.set(target, { t, kind });
      }
    }
    for (const [target, o] of open) faultMarks.push({ from: o.t, to: endNs + 1, label: `${o.kind} ${target}` });
    faultMarks.forEach((f, i) => {
      if ((f.to ?? f.from) < fromNs || f.from > endNs) return;
      const g = svg('g');
      if (f.to != null && f.to > f.from) {
        g.append(svg('rect', { x: x(f.from), y: TOP - 4, width: Math.max(1, x(f.to) - x(f.from)),
          height: LANE * laneIds.length + 8, fill: 'rgba(198,40,40,0.09)' }));
      }
      g.append(svg('line', { x1: x(f.from), x2: x(f.from), y1: TOP - 4, y2: H - 18,
        stroke: '#c62828', 'stroke-dasharray': '4 3' }));
      const label = svg('text', { x: x(f.from) + 4, y: H - 6 - 0 * i, fill: '#a61b1b' });
      label.textContent = f.label + (f.to != null && f.to <= endNs ? ` (until ${fmtT(f.to / 1e9)})` : '');
      g.append(label);
      root.append(g);
    });

    if (d.anchor_ns != null && d.anchor_ns >= fromNs && d.anchor_ns <= endNs) {
      root.append(svg('line', { x1: x(d.anchor_ns), x2: x(d.anchor_ns), y1: TOP - 6, y2: H - 18,
        stroke: '#1d2330', 'stroke-width': 1.2 }));
    }

    // Lanes: a line per node, red while it is down, amber while paused.
    const lanes = svg('g');
    for (const id of laneIds) {
      const n = nodeById.get(id);
      const yy = y(id);
      const label = svg('text', { x: LEFT - 8, y: yy + 3.5, 'text-anchor': 'end', class: 'lane-label' });
      label.textContent = n.name;
      const title = svg('title');
      title.textContent = `${n.name} (node ${id}, group ${n.group}, host ${n.host})`;
      label.append(title);
      lanes.append(label);
      lanes.append(svg('line', { x1: LEFT, x2: W - RIGHT, y1: yy, y2: yy, stroke: '#c3c8d2' }));
      // Down and paused stretches from the events (state before the window included).
      const evs = events.filter((e) => e.id === id).sort((a, b) => a.t - b.t);
      let state = 'up';
      let since = fromNs;
      const stretches = [];
      for (const e of evs) {
        const next = /crash/.test(e.kind) ? 'down' : e.kind === 'pause' ? 'paused' : 'up';
        if (next !== state) {
          if (state !== 'up') stretches.push([state, since, e.t]);
          state = next;
          since = e.t;
        }
        if (e.t >= fromNs && e.t <= endNs) {
          const mark = svg('text', { x: x(e.t), y: yy - 5, 'text-anchor': 'middle', fill: next === 'up' ? '#1a7f37' : '#c62828' });
          mark.textContent = next === 'down' ? '✕' : next === 'paused' ? '⏸' : '▲';
          const tt = svg('title');
          tt.textContent = `${n.name}: ${e.kind} at ${fmtT(e.t / 1e9)}`;
          mark.append(tt);
          lanes.append(mark);
        }
      }
      if (state !== 'up') stretches.push([state, since, endNs]);
      for (const [st, a, b] of stretches) {
        if (b < fromNs || a > endNs) continue;
        lanes.append(svg('line', { x1: x(a), x2: x(b), y1: yy, y2: yy,
          stroke: st === 'down' ? '#c62828' : '#e0a100', 'stroke-width': 3, 'stroke-opacity': 0.7 }));
      }
    }
    root.append(lanes);

    // Messages: an arrow from send to delivery; a drop ends in a red cross.
    const arrows = svg('g', { class: 'messages' });
    let unplaced = 0;
    let inFlight = 0;
    let dropped = 0;
    for (const [src, dst, sent, done, kind, reason] of d.messages) {
      if (!lane.has(src) || !lane.has(dst)) { unplaced++; continue; }
      const cls = kind === 'request' ? 'req' : kind === 'reply' ? 'resp' : kind === 'refused' ? 'refused' : 'other';
      const c = MESSAGE_COLOUR[cls];
      const x1 = x(sent);
      const y1 = y(src);
      let x2;
      let y2;
      let line;
      if (reason) {
        dropped++;
        // Dropped: a short stub towards the receiver, ending where it was dropped.
        const frac = src === dst ? 0 : 0.35;
        x2 = Math.max(x(done), x1 + 8);
        y2 = y1 + (y(dst) - y1) * frac;
        line = svg('line', { x1, y1, x2, y2, stroke: '#c62828', 'stroke-width': 1.1, 'stroke-opacity': 0.85 });
        const cross = svg('text', { x: x2, y: y2 + 4, 'text-anchor': 'middle', fill: '#c62828' });
        cross.textContent = '×';
        arrows.append(cross);
      } else {
        const late = done < 0 || done > endNs;
        if (late) inFlight++;
        x2 = late ? W - RIGHT : x(done);
        y2 = y(dst);
        line = svg('line', { x1, y1, x2, y2, stroke: c, 'stroke-width': 1, 'stroke-opacity': 0.8,
          'marker-end': `url(#arrow-${cls})` });
        if (late) line.setAttribute('stroke-dasharray', '3 3');
      }
      const tt = svg('title');
      const a = nodeById.get(src).name;
      const b = nodeById.get(dst).name;
      tt.textContent = `${kind} ${a} → ${b}, sent ${fmtT(sent / 1e9)}, ` + (reason ? `dropped at ${fmtT(done / 1e9)} (${reason})`
        : done < 0 ? 'never delivered in the run' : `delivered ${fmtT(done / 1e9)} (${fmtT((done - sent) / 1e9)})`);
      line.append(tt);
      arrows.append(line);
    }
    root.append(arrows);
    s.append(el('div', { class: 'diagram-wrap' }, root));
    s.append(el('div', { class: 'legend-row' },
      el('span', {}, el('span', { class: 'swatch', style: 'background:#1f77b4' }), 'request'),
      el('span', {}, el('span', { class: 'swatch', style: 'background:#2ca02c' }), 'reply'),
      el('span', {}, el('span', { class: 'swatch', style: 'background:#e67e00' }), 'refused (connection reset)'),
      el('span', {}, el('span', { class: 'swatch', style: 'background:#6b7280' }), 'one-way message'),
      el('span', {}, el('b', { style: 'color:#c62828', text: '×' }), `dropped (${dropped})`),
      el('span', {}, '- - still in flight at the window\'s end', ` (${inFlight})`),
      el('span', {}, el('b', { style: 'color:#c62828', text: '✕' }), 'crash, ', el('b', { style: 'color:#1a7f37', text: '▲' }), 'start / restart'),
      el('span', {}, el('span', { class: 'swatch', style: 'background:rgba(198,40,40,0.25)' }), 'fault in force (partition, crash...)'),
      el('span', { text: 'hover an arrow for its times' })));
    if (unplaced) {
      s.append(el('p', { class: 'note', text: `${unplaced} messages to or from nodes left out are not drawn.` }));
    }
    s.append(el('p', {
      class: 'note',
      text: `Recorded from the trace of ${d.variant} (seed ${d.seed}); sends come from trace notes, ` +
        'which are neither hashed nor counted, so recording them leaves the run and its trace hash ' +
        'unchanged.',
    }));
  }

  // --- footer ----------------------------------------------------------------------------------
  document.body.append(el('footer', {
    text: `faultline report of ${data.file}. Plots drawn with uPlot ${data.uplot_version} (MIT), ` +
      'embedded in this file: it opens offline.',
  }));

  function showErrors() {
    if (window.faultlineErrors.length) {
      errorsBox.style.display = 'block';
      errorsBox.textContent = 'This page hit an error while drawing: ' + window.faultlineErrors.join('; ');
    }
  }
  showErrors();
  // For the browser test (and a curious reader's console): the uPlot instances by observation.
  window.faultlinePlots = Object.fromEntries(plots.map((p) => [p.root.parentNode.getAttribute('data-observation'), p]));
  document.body.setAttribute('data-faultline-drawn', String(plots.length));
})();
