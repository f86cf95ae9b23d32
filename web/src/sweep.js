// faultline's sweep report: the pass/fail matrix of variants × seeds from #faultline-data, each
// failing seed linked to its row below with the command that replays it.
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('faultline-data').textContent);
  const app = document.getElementById('app');
  const el = window.faultlineEl;  // web/src/dom.js
  const seeds = data.seeds;
  let failed = 0;
  let total = 0;
  for (const v of data.variants) {
    for (const r of Object.values(v.runs)) {
      total++;
      if (!r.ok) failed++;
    }
  }
  const first = seeds.length ? seeds[0] : 0;
  const last = seeds.length ? seeds[seeds.length - 1] : 0;
  const header = el('header', { class: 'top' },
    el('div', { class: 'eyebrow', text: 'faultline · seed sweep' }),
    el('h1', {}, data.scenario || '(no runs)',
      el('span', { class: 'pill ' + (failed ? 'bad' : 'ok'), text: failed ? `${failed} of ${total} runs failed` : `all ${total} runs passed` })),
    el('div', { class: 'facts' }, el('span', { text: `seeds ${first}..${last}` }),
      el('span', { text: `${data.variants.length} variants` }), el('span', { text: data.file || '' })));
  const main = el('main');
  app.replaceChildren(header, main);

  const matrix = el('section', { class: 'card', id: 'matrix' },
    el('h2', {}, 'Pass/fail by variant and seed', el('small', { text: 'a red cell links to the command that replays it' })));
  const t = el('table', { class: 'grid matrix' });
  const head = el('tr', {}, el('th', { text: 'variant' }), el('th', { text: 'passed' }));
  const CELLS = seeds.length <= 400;
  if (CELLS) for (const s of seeds) head.append(el('th', { class: 'seed', text: s }));
  t.append(head);
  for (const v of data.variants) {
    const runs = Object.values(v.runs);
    const ok = runs.filter((r) => r.ok).length;
    const row = el('tr', {}, el('td', {}, el('b', { text: v.name })),
      el('td', { class: ok === runs.length ? 'ok' : 'bad', text: `${ok}/${runs.length}` }));
    if (CELLS) {
      for (const s of seeds) {
        const r = v.runs[String(s)];
        if (!r) { row.append(el('td', { class: 'cell none', title: `seed ${s}: not run` })); continue; }
        if (r.ok) { row.append(el('td', { class: 'cell ok', title: `seed ${s}: passed` , text: '✓' })); continue; }
        const id = `fail-${v.name}-${s}`;
        row.append(el('td', { class: 'cell bad', title: `seed ${s}: ${r.error || r.failed[0] || 'failed'}` },
          el('a', { href: '#' + id, text: '✗' })));
      }
    }
    t.append(row);
  }
  matrix.append(el('div', { class: 'scroll' }, t));
  if (!CELLS) matrix.append(el('p', { class: 'note', text: `${seeds.length} seeds: the matrix lists counts only; every failing seed is listed below.` }));
  main.append(matrix);

  const list = el('section', { class: 'card', id: 'failures' }, el('h2', {}, 'Failing seeds', el('small', { text: 'each with the command that replays it exactly' })));
  const ft = el('table', { class: 'grid' });
  ft.append(el('tr', {}, ...['variant', 'seed', 'what failed', 'replay'].map((h) => el('th', { text: h }))));
  let any = false;
  for (const v of data.variants) {
    for (const s of seeds) {
      const r = v.runs[String(s)];
      if (!r || r.ok) continue;
      any = true;
      ft.append(el('tr', { id: `fail-${v.name}-${s}` }, el('td', { text: v.name }), el('td', { class: 'num', text: s }),
        el('td', {}, r.error ? 'error: ' + r.error : r.failed.join('; ')),
        el('td', {}, el('code', { class: 'cmd', text: r.reproduce || '' }))));
    }
  }
  list.append(any ? ft : el('p', { class: 'note', text: 'No seed failed.' }));
  main.append(list);
  document.body.append(el('footer', { text: 'faultline sweep report; no wall-clock time is recorded in this page.' }));
  document.body.setAttribute('data-faultline-drawn', String(data.variants.length));
})();
