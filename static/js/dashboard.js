// The dashboard page of a form (/data/<form_id>/dashboard): fetch the aggregates the
// server computed for the page's filters and draw them. Online only; no data is kept.
import { barsAcross, barsOverTime, useFont, wrap } from './dashboard/charts.js';

const root = document.getElementById('dashboard');
const TEXT = JSON.parse(document.getElementById('dashboard-text').textContent);
const status = document.getElementById('dash-status');
const number = new Intl.NumberFormat(root.dataset.lang === 'en' ? 'en' : 'zh-CN', { maximumFractionDigits: 2 });

const t = (key, params = {}) => TEXT[key].replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
const percent = (n, of) => (of ? `${Math.round((100 * n) / of)}%` : '');

function show(id) {
  const section = document.getElementById(id);
  section.hidden = false;
  return section;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text; // labels come from forms: never HTML
  return node;
}

function drawTime({ unit, labels, counts }) {
  if (!labels.length) return;
  const section = show('chart-time');
  section.querySelector('.unit').textContent = t(unit);
  const sameYear = labels.every((l) => l.slice(0, 4) === labels[0].slice(0, 4));
  const shown = unit === 'month' || !sameYear ? labels : labels.map((l) => l.slice(5));
  barsOverTime(section.querySelector('canvas'), shown, counts, { label: t('count') });
}

function drawAreas(byArea, total) {
  const section = show('chart-area');
  section.querySelector('h2 .muted').textContent = t('under', { name: byArea.name });
  const rows = byArea.areas;
  const labels = rows.map((a) => wrap(a.own_level ? t('own_level', { name: a.name }) : a.name));
  const counts = rows.map((a) => a.count);
  barsAcross(section.querySelector('canvas'), labels, counts, {
    label: t('count'),
    format: (n) => String(n),
    tooltip: (c) => `${c.raw}（${percent(c.raw, total)}）`,
  });
}

function drawSelect(list, q) {
  const card = el('article', 'card chart-card select-card');
  card.dataset.name = q.name;
  card.append(el('h3', '', q.label));
  const note = t(q.in_repeat ? 'answers_repeat' : 'answers', { n: q.answered });
  card.append(el('p', 'muted small', q.type === 'select_multiple' ? `${note} · ${t('multiple')}` : note));
  list.append(card);
  if (!q.answered) {
    card.append(el('p', 'muted', t('no_answers')));
    return;
  }
  const box = el('div', 'chart-box');
  const canvas = el('canvas');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', q.label);
  box.append(canvas);
  card.append(box);
  const counts = q.choices.map((c) => c.count);
  barsAcross(canvas, q.choices.map((c) => wrap(c.label)), counts, {
    label: t('count'),
    format: (n) => `${n} · ${percent(n, q.answered)}`,
    tooltip: (c) => `${c.raw}（${percent(c.raw, q.answered)}）`,
  });
}

// Two rows per question (its label, then its five numbers): fits a 360 px screen.
function fillNumbers(rows) {
  if (!rows.length) return;
  const table = show('numbers').querySelector('table');
  const fmt = (x, approx) => (x === null ? '—' : `${approx ? `${t('approximate')} ` : ''}${number.format(x)}`);
  for (const q of rows) {
    const body = el('tbody');
    body.dataset.name = q.name;
    const head = el('tr', 'question');
    const th = el('th', '', q.in_repeat ? `${q.label}${t('in_repeat')}` : q.label);
    th.colSpan = 5;
    th.scope = 'rowgroup';
    head.append(th);
    const values = el('tr', 'values');
    for (const cell of [String(q.n), fmt(q.mean), fmt(q.median, q.approximate), fmt(q.min), fmt(q.max)]) {
      values.append(el('td', 'num', cell));
    }
    body.append(head, values);
    table.append(body);
  }
}

function draw(data) {
  status.textContent = data.total ? t('total', { n: data.total }) : t('none');
  if (!data.total) return;
  drawTime(data.over_time);
  drawAreas(data.by_area, data.total);
  if (data.selects.length) {
    const list = show('selects').querySelector('.list');
    data.selects.forEach((q) => drawSelect(list, q));
  }
  fillNumbers(data.numbers);
  root.dataset.ready = 'true';
}

async function main() {
  useFont(getComputedStyle(document.body).fontFamily);
  let response;
  try {
    response = await fetch(root.dataset.src, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  } catch {
    status.textContent = t('offline');
    return;
  }
  const body = await response.json().catch(() => null);
  if (!response.ok || !body || body.error) {
    status.textContent = t('failed', { msg: body?.error?.message || `HTTP ${response.status}` });
    status.classList.add('error-box');
    return;
  }
  draw(body);
}

main();
