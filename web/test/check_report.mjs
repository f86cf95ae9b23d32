// Opens faultline HTML reports in headless Chromium as a person would, and fails unless each
// one draws completely: no JavaScript error, no request leaving the file (the page must open
// offline), a non-blank plot for every observation, and a space-time diagram with lanes and
// messages. Saves a screenshot of each page. Used by the CTest tests in tests/report/.
//
// usage: node check_report.mjs [--chromium PATH] [--shots DIR] [--max-ms N] [--max-bytes N]
//                              [--width PX] [--full-page | --element SELECTOR] PAGE.html...
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = { chromium: '/usr/bin/chromium', shots: '', maxMs: 0, maxBytes: 0, width: 1500, fullPage: false, element: '' };
const pages = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--chromium') opt.chromium = args[++i];
  else if (a === '--shots') opt.shots = args[++i];
  else if (a === '--max-ms') opt.maxMs = Number(args[++i]);
  else if (a === '--max-bytes') opt.maxBytes = Number(args[++i]);
  else if (a === '--width') opt.width = Number(args[++i]);
  else if (a === '--full-page') opt.fullPage = true;
  else if (a === '--element') opt.element = args[++i];
  else pages.push(a);
}
if (!pages.length) {
  console.error('check_report: no page given');
  process.exit(2);
}
if (!fs.existsSync(opt.chromium)) {
  console.error(`check_report: no Chromium at ${opt.chromium}; install Debian's chromium (tools/deps.sh does)`);
  process.exit(2);
}

// Root in CI: Chromium's sandbox needs an unprivileged user, so it is turned off there.
const browser = await chromium.launch({
  executablePath: opt.chromium,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--font-render-hinting=none'],
});
let failures = 0;
let passed = 0;
try {
  for (const file of pages) {
    const problems = [];
    const bytes = fs.statSync(file).size;
    if (opt.maxBytes && bytes > opt.maxBytes) problems.push(`${bytes} bytes, more than ${opt.maxBytes}`);
    const context = await browser.newContext({ viewport: { width: opt.width, height: 1000 } });
    const page = await context.newPage();
    const external = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      external.push(url);
      return route.abort();
    });
    page.on('pageerror', (e) => problems.push('JavaScript error: ' + e.message));
    page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
    await page.goto(pathToFileURL(path.resolve(file)).href);
    let ms = NaN;
    try {
      await page.waitForSelector('body[data-faultline-drawn]', { timeout: 15000 });
      ms = await page.evaluate(() => performance.now());
    } catch (e) {
      problems.push('the page never finished drawing (body[data-faultline-drawn] missing)');
    }
    if (opt.maxMs && !(ms <= opt.maxMs)) problems.push(`drew in ${Math.round(ms)} ms, more than ${opt.maxMs} ms`);
    const report = await page.evaluate(async () => {
      const settle = () => new Promise((r) => setTimeout(r, 0));  // uPlot redraws in a microtask
      const out = { errors: window.faultlineErrors || [], plots: [], kind: null };
      const node = document.getElementById('faultline-data');
      if (!node) return out;
      const data = JSON.parse(node.textContent);
      out.kind = data.kind;
      if (data.kind === 'sweep') {
        out.cells = document.querySelectorAll('table.matrix td.cell').length;
        out.rows = document.querySelectorAll('table.matrix tr').length - 1;
        out.variants = data.variants.length;
        // Every failing cell links to a row that holds its replay command.
        out.failedCells = 0;
        out.brokenLinks = 0;
        for (const a of document.querySelectorAll('table.matrix td.cell.bad a')) {
          out.failedCells++;
          const row = document.getElementById(decodeURIComponent(a.getAttribute('href').slice(1)));
          if (!row || !/faultline run .* --seed \d+/.test(row.textContent)) out.brokenLinks++;
        }
        return out;
      }
      // A plot drew its series when hiding them takes coloured pixels away: axes, grid, fault
      // bands and bound lines stay when the series are hidden, so they cannot pass for a plot.
      const coloured = (canvas) => {
        const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 0; i < px.length; i += 4) {
          const hi = Math.max(px[i], px[i + 1], px[i + 2]);
          const lo = Math.min(px[i], px[i + 1], px[i + 2]);
          if (px[i + 3] > 0 && hi - lo > 60) n++;
        }
        return n;
      };
      for (const obs of data.observations) {
        const card = document.querySelector(`.plot[data-observation="${CSS.escape(obs.name)}"]`);
        const canvas = card && card.querySelector('canvas');
        const u = (window.faultlinePlots || {})[obs.name];
        let inked = 0;
        if (canvas && canvas.width && canvas.height && u) {
          const shown = coloured(canvas);
          for (let i = 1; i < u.series.length; i++) u.setSeries(i, { show: false });
          await settle();
          const hidden = coloured(canvas);
          for (let i = 1; i < u.series.length; i++) u.setSeries(i, { show: true });
          await settle();
          inked = shown - hidden;
        }
        out.plots.push({ name: obs.name, canvas: !!canvas, inked, hasData: !!data.series[obs.name] });
      }
      const d = data.diagram || {};
      out.diagram = {
        missing: d.missing || null,
        svg: !!document.querySelector('svg.spacetime'),
        lanes: document.querySelectorAll('svg.spacetime .lane-label').length,
        arrows: document.querySelectorAll('svg.spacetime g.messages line').length,
        messages: (d.messages || []).length,
        nodes: (d.nodes || []).length,
        noNetworkNote: /no network of nodes/.test((document.getElementById('diagram') || {}).textContent || ''),
        capped: !!d.capped,
        capNote: [...document.querySelectorAll('#diagram .note.warn')].some((n) => /Capped/.test(n.textContent)),
      };
      out.expectationRows = document.querySelectorAll('#expectations tr').length - 1;
      out.expectations = data.expectations.length;
      return out;
    });
    for (const e of report.errors) problems.push('error caught by the page: ' + e);
    if (external.length) problems.push('requests outside the file (the page must open offline): ' + external.join(', '));
    if (report.kind === 'run') {
      if (!report.plots.length) problems.push('no plot');
      for (const p of report.plots) {
        if (!p.canvas) problems.push(`plot ${p.name}: no canvas`);
        else if (p.hasData && p.inked < 100) problems.push(`plot ${p.name}: no series drawn (hiding them removes only ${p.inked} coloured pixels)`);
      }
      const d = report.diagram;
      if (d.missing) problems.push('no space-time diagram: ' + d.missing);
      else if (d.nodes === 0) {
        // A model without a simulated world (contention) has nothing to draw and must say so.
        if (!d.noNetworkNote) problems.push('space-time diagram: no nodes and no note saying why');
      } else {
        if (!d.svg) problems.push('space-time diagram: no SVG');
        if (d.lanes < 2) problems.push(`space-time diagram: ${d.lanes} lanes`);
        if (d.messages > 0 && d.arrows === 0) problems.push('space-time diagram: messages recorded but no arrow drawn');
        if (d.capped && !d.capNote) problems.push('space-time diagram capped without saying so');
      }
      if (report.expectationRows !== report.expectations) {
        problems.push(`expectations table has ${report.expectationRows} rows for ${report.expectations} expectations`);
      }
    } else if (report.kind === 'sweep') {
      if (report.rows !== report.variants) problems.push(`sweep matrix has ${report.rows} rows for ${report.variants} variants`);
      if (report.brokenLinks) problems.push(`${report.brokenLinks} of ${report.failedCells} failing cells do not link to a replay command`);
    } else {
      problems.push('no #faultline-data in the page');
    }
    if (opt.shots) {
      fs.mkdirSync(opt.shots, { recursive: true });
      const shot = path.join(opt.shots, path.basename(file).replace(/\.html$/, '') + '.png');
      if (opt.element) await page.locator(opt.element).screenshot({ path: shot });
      else await page.screenshot({ path: shot, fullPage: opt.fullPage });
    }
    await context.close();
    const summary = report.kind === 'run'
      ? `${report.plots.length} plots, diagram ${report.diagram.lanes} lanes/${report.diagram.arrows} arrows${report.diagram.capped ? ' (capped)' : ''}`
      : `${report.rows} variants, ${report.failedCells} failing cells linked`;
    if (problems.length) {
      failures++;
      console.log(`FAIL ${file} (${bytes} bytes, ${Math.round(ms)} ms, ${summary})`);
      for (const p of problems) console.log('  - ' + p);
    } else {
      passed++;
      console.log(`ok   ${file} (${bytes} bytes, drawn in ${Math.round(ms)} ms, ${summary})`);
    }
  }
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
