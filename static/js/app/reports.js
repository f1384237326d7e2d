// The periodic reports the person's unit files (issue 11, 零报告制度), as the phone shows
// them: /api/v1/me's `reports` as last downloaded (db.js meta `reports:<owner>`), with
// the phone's own outbox on top, so a zero report filed offline counts at once. Pure
// functions (no DOM, no IndexedDB): the home card (reportcard.js) draws what they return.
//
// The rules follow the server's (fieldapp/reports/completeness.py, periods.py): a
// submission counts for the period holding its `report_date` answer, else the day of its
// `start`; the report's form makes a period 已报告, a zero report 零报告, both 已更正;
// nothing is 未报告 once the deadline (the period's last day + deadline_days) has passed,
// 未到截止 before.

export const ZERO_FORM = 'zero_report';
export const STATUS_TEXT = {
  reported: '已报告', zero: '零报告', corrected: '已更正', missing: '未报告', pending: '未到截止',
};
const FILED = ['reported', 'zero', 'corrected'];

// ---- days and periods (plain 'YYYY-MM-DD' strings, computed in UTC: no time zone) ----

const DAY = 86400e3;
const toDate = (iso) => new Date(`${iso}T00:00:00Z`);
const iso = (d) => d.toISOString().slice(0, 10);
export function addDays(day, n) { return iso(new Date(toDate(day).getTime() + n * DAY)); }

function monthStart(year, month) { // month 1…12; 13 rolls into the next year
  return iso(new Date(Date.UTC(year + Math.floor((month - 1) / 12), (month - 1) % 12, 1)));
}

// ISO week-numbering year and week of a day (Monday first; week 1 holds a Thursday).
function isoWeek(day) {
  const d = toDate(day);
  const thursday = new Date(d.getTime() + (3 - ((d.getUTCDay() + 6) % 7)) * DAY);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * DAY));
  return { year, week };
}

// { kind, key, label, start, end } of the period of `kind` holding `day`, as the server
// names it (2026-W48 2026年第48周; 2026-11 2026年11月; 2026-Q4 2026年第4季度). Null for an
// unknown kind.
export function periodOf(kind, day) {
  const [y, m] = day.split('-').map(Number);
  if (kind === 'weekly') {
    const start = addDays(day, -((toDate(day).getUTCDay() + 6) % 7));
    const { year, week } = isoWeek(start);
    const w = String(week).padStart(2, '0');
    return { kind, key: `${year}-W${w}`, label: `${year}年第${week}周`, start, end: addDays(start, 6) };
  }
  if (kind === 'monthly') {
    return {
      kind, key: `${y}-${String(m).padStart(2, '0')}`, label: `${y}年${m}月`,
      start: monthStart(y, m), end: addDays(monthStart(y, m + 1), -1),
    };
  }
  if (kind === 'quarterly') {
    const q = Math.floor((m - 1) / 3) + 1;
    const first = (q - 1) * 3 + 1;
    return {
      kind, key: `${y}-Q${q}`, label: `${y}年第${q}季度`,
      start: monthStart(y, first), end: addDays(monthStart(y, first + 3), -1),
    };
  }
  return null;
}

// ---- what the phone holds ----

// The day an outbox item counts for: its report_date answer, else the day of its start
// (the phone's clock when the form was opened), else the day it was finalized.
export function itemDay(item) {
  if (item.day) return item.day; // a receipt of a sent item keeps only its day
  const xml = String(item.xml || '');
  const rd = /<(?:[\w.-]+:)?report_date>\s*(\d{4}-\d{2}-\d{2})/.exec(xml);
  if (rd) return rd[1];
  const st = /<(?:[\w.-]+:)?start>([^<]+)</.exec(xml);
  if (st && !Number.isNaN(Date.parse(st[1]))) return localDay(new Date(st[1]));
  return item.created ? localDay(new Date(item.created)) : '';
}

// 'YYYY-MM-DD' of `d` in the phone's own time zone.
export function localDay(d = new Date()) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

// The outbox items that count for `report`: { real, zero } lists of
// { item, day, queued } — queued: not yet sent; a sent item counts only when sent after
// the reports were downloaded (`fetchedAt`, ms), since the server's status shows the rest.
// Refused items (需处理, 冲突) never count: they did not arrive.
export function localFilings(report, outbox, fetchedAt = 0) {
  const zeroForm = report.zero_form_id || ZERO_FORM;
  const out = { real: [], zero: [] };
  for (const item of outbox) {
    const kind = item.form_id === report.form_id ? 'real' : item.form_id === zeroForm ? 'zero' : null;
    if (!kind) continue;
    const queued = item.status === 'waiting' || item.status === 'sending';
    const sentLater = item.status === 'sent' && (!item.sentAt || item.sentAt > (fetchedAt || 0));
    if (queued || sentLater) out[kind].push({ item, day: itemDay(item), queued });
  }
  return out;
}

// One period of a report as the card shows it: the server's (or, when the stored
// download does not know this period any more, what the phone can tell alone) with the
// phone's own filings on top.
//   { which: 'current'|'previous', key, label, start, end, deadline, reportDate,
//     status, late, queued (a filing waits in the outbox), known (the server's status),
//     canZero (nothing filed nor queued: a zero report may be offered) }
function periodView(which, period, stored, report, filings, today) {
  const base = stored && stored.key === period.key ? stored : null;
  const deadline = base ? base.deadline : addDays(period.end, report.deadline_days || 0);
  const mine = (list) => list.filter((f) => f.day >= period.start && f.day <= period.end);
  const real = mine(filings.real);
  const zero = mine(filings.zero);
  const server = base ? base.status : null;
  const hasReal = real.length > 0 || server === 'reported' || server === 'corrected';
  const hasZero = zero.length > 0 || server === 'zero' || server === 'corrected';
  // Nothing filed: 未报告 or 未到截止 by today's date (a download may be days old).
  const status = hasReal && hasZero ? 'corrected' : hasReal ? 'reported' : hasZero ? 'zero'
    : today > deadline ? 'missing' : 'pending';
  const queued = [...real, ...zero].some((f) => f.queued);
  let late = false;
  if (base && FILED.includes(base.status)) late = !!base.late;
  else if (FILED.includes(status)) late = today > deadline; // it arrives today at the earliest
  // The day a zero report for this period names: the server's (today for the current
  // period, the last day for the previous one); else today when it lies in the period.
  const reportDate = base && base.report_date ? base.report_date
    : (today >= period.start && today <= period.end ? today : period.end);
  return {
    which, key: period.key, label: base ? base.label : period.label, start: period.start, end: period.end,
    deadline, reportDate, status, late, queued, known: !!base,
    canZero: !FILED.includes(status) && !queued,
  };
}

// The card of one report on `today`: { report, periods: [current, previous] } where the
// current period is the phone's (today's), so a download from before a period ended
// still shows the right one; its status from the download when it covers that period.
export function reportView(report, outbox, fetchedAt, today = localDay()) {
  const filings = localFilings(report, outbox, fetchedAt);
  const stored = [report.current, report.previous].filter(Boolean);
  const find = (key) => stored.find((p) => p.key === key) || null;
  const now = periodOf(report.period, today)
    || (report.current && { ...report.current }); // an unknown kind: trust the server
  if (!now) return { report, periods: [] };
  const before = periodOf(report.period, addDays(now.start, -1)) || (report.previous && { ...report.previous });
  return {
    report,
    periods: [
      periodView('current', now, find(now.key), report, filings, today),
      before ? periodView('previous', before, find(before.key), report, filings, today) : null,
    ].filter(Boolean),
  };
}

// "12月5日", with the year when it is not this year's.
export function shortDay(day, today = localDay()) {
  const [y, m, d] = day.split('-').map(Number);
  return `${day.slice(0, 4) === today.slice(0, 4) ? '' : `${y}年`}${m}月${d}日`;
}
