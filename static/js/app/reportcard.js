// The home screen's "本期报告" cards (issue 11, 零报告制度): per report the unit files, the
// current and the previous period with the deadline and the unit's status (已报告 / 零报告
// / 未报告 / 已更正 / 未到截止; "待发送" while the phone's own filing waits in the outbox),
// and, while a period has nothing filed or queued, one button that files a zero report
// (after a confirmation; zeroreport.js, loaded on tap). Works offline: the status comes
// from the last download (reports.js) with the outbox on top.
import * as store from '../db.js';
import { localDay, reportView, shortDay, STATUS_TEXT, ZERO_FORM } from './reports.js';
import { ago, choose, h } from './util.js';

const WHICH = { current: '本期', previous: '上期' };

const unitName = (report) => (report.unit && report.unit.name) || '本单位';

function deadlineText(p, today) {
  const when = `截止 ${shortDay(p.deadline, today)}`;
  if (p.status === 'missing') return `${when}（已过截止，仍可补报）`;
  if (p.status !== 'pending') return when;
  const days = Math.round((Date.parse(p.deadline) - Date.parse(today)) / 86400e3);
  return `${when}（${days === 0 ? '今天截止' : `还有 ${days} 天`}）`;
}

// Why no button when the zero report cannot be filed on this phone ('' when it can).
function zeroMissing(report, forms) {
  if (!report.zero_form_id) return '零报告问卷没有发布到您所在的区域，本机不能报零报告。请联系督导。';
  if (!forms.some((f) => f.form_id === (report.zero_form_id || ZERO_FORM))) {
    return navigator.onLine === false
      ? '零报告问卷还没有下载到本机，请联网后再试。'
      : '零报告问卷正在下载，请稍候，或点“立即同步”。';
  }
  return '';
}

async function fileZero(owner, view, p, fetchedAt, { button, error, onQueued }) {
  const { report } = view;
  const ok = await choose(
    `确认${WHICH[p.which]}（${p.label}）报“零报告”吗？\n`
    + `零报告表示：${WHICH[p.which]}本单位（${unitName(report)}）已排查、无新增重点关注家庭。\n`
    + '确认后放入发送箱，有网络时自动发送。',
    [
      { text: `确认：${WHICH[p.which]}无新增`, value: true, class: 'primary' },
      { text: '取消', value: null },
    ]);
  if (!ok) return;
  button.disabled = true;
  button.textContent = '正在放入发送箱…';
  error.hidden = true;
  try {
    const { fileZeroReport } = await import('./zeroreport.js');
    const id = await fileZeroReport(owner, report, p, fetchedAt);
    onQueued(id
      ? `${p.label}的零报告已放入发送箱。有网络时会自动发送，请留意“待发送”变为“已发送”。`
      : `${p.label}已有报告或零报告，没有再放入发送箱。`);
  } catch (err) {
    console.error(err);
    button.disabled = false;
    button.textContent = `${WHICH[p.which]}无新增（零报告）`;
    error.textContent = err && err.message ? err.message : String(err);
    error.hidden = false;
  }
}

function periodRow(owner, view, p, { fetchedAt, forms, today, onQueued }) {
  const status = h('span', { class: `st st-${p.status}` }, STATUS_TEXT[p.status] || p.status);
  const row = h('div', {
    class: `report-period period-${p.which}`,
    dataset: { period: p.key, status: p.status, queued: p.queued ? '1' : '0' },
  },
  h('div', { class: 'period-head' },
    h('span', { class: 'period-which' }, WHICH[p.which]),
    h('b', { class: 'period-label' }, p.label),
    h('span', { class: 'period-status' }, status,
      p.late ? h('span', { class: 'st-late' }, '迟报') : null,
      p.queued ? h('span', { class: 'badge badge-waiting' }, '待发送') : null)),
  h('div', { class: 'period-deadline' }, deadlineText(p, today)));
  if (!p.canZero) return row;
  const missing = zeroMissing(view.report, forms);
  if (missing) {
    row.append(h('p', { class: 'zero-missing' }, missing));
    return row;
  }
  const error = h('p', { class: 'zero-error', role: 'alert', hidden: true });
  const button = h('button', { type: 'button', class: 'zero-report', dataset: { period: p.key } },
    `${WHICH[p.which]}无新增（零报告）`);
  button.addEventListener('click', () => fileZero(owner, view, p, fetchedAt, { button, error, onQueued }));
  row.append(button, error);
  return row;
}

// The cards for `owner` (an empty list when the unit files no report). `outbox` and
// `forms`: the owner's, as the home screen read them. `onQueued(notice)`: a zero report
// went into the outbox (send it; show the notice).
export async function reportCards(owner, { outbox, forms, onQueued }) {
  const stored = await store.getReports(owner);
  if (!stored || !stored.reports || !stored.reports.length) return [];
  const today = localDay();
  return stored.reports.map((report) => {
    const view = reportView(report, outbox, stored.fetchedAt, today);
    return h('section', { class: 'report-card', dataset: { report: report.id } },
      h('h2', { class: 'report-title' }, '本期报告', h('span', { class: 'report-name' }, report.name)),
      ...view.periods.map((p) => periodRow(owner, view, p, { fetchedAt: stored.fetchedAt, forms, today, onQueued })),
      h('p', { class: 'report-updated' },
        `${unitName(report)} · 状态更新：${ago(stored.fetchedAt)}`));
  });
}
