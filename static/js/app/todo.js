// 待办 (issue 13): what the person has to do, computed on the phone from what it holds
// offline. Pure functions (no DOM, no IndexedDB), so node tests them (tests/js/todo.test.mjs),
// the page draws them (todoview.js, the home entry) and the service worker's periodic sync
// can fall back on them with no network.
//
// The kinds and their rules are those of the server's GET /api/v1/reminders/todo
// (/work/notes/reminders_contract.md, "Shared definitions"), so both give the same list:
//   overdue      households whose next visit day is before today;
//   due_today    ... is today;           due_tomorrow  ... is tomorrow;
//   report       per report the unit files, the current and previous period with nothing
//                filed: 'pending' (deadline not passed) or 'missing' (passed); the phone's
//                own outbox counts as reports.js counts it (a queued zero report is filed);
//   assigned     households newly given to the person: a name that appeared in a
//                downloaded list, was not there before and was not registered on this
//                phone, first seen within ASSIGNED_DAYS days, until the person opens it.
// Households are the person's open ones (closed ones left out), as caselist.js localList
// gives them: the server's last download with the phone's unsent work on top.
import { dueState } from './entities.js';
import { reportView } from './reports.js';

export const ASSIGNED_DAYS = 7; // a household stays "新分配" this many days (0…6 after first seen)
export const KINDS = ['overdue', 'due_today', 'due_tomorrow', 'report', 'assigned'];

const open = (rows) => rows.filter((r) => r && r.name && r.case_status !== 'closed');

function daysFrom(from, to) {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86400e3);
}

// Households by their next visit: { overdue, due_today, due_tomorrow } lists of rows,
// overdue longest first, then by label.
function byVisit(rows, today) {
  const out = { overdue: [], due_today: [], due_tomorrow: [] };
  for (const row of open(rows)) {
    const { state, days } = dueState(row, today);
    if (state === 'overdue') out.overdue.push({ row, days });
    else if (days === 0) out.due_today.push({ row, days });
    else if (days === 1) out.due_tomorrow.push({ row, days });
  }
  const label = (r) => String(r.label || r.name);
  for (const k of Object.keys(out)) {
    out[k] = out[k].sort((a, b) => (a.days - b.days) || label(a.row).localeCompare(label(b.row), 'zh')).map((x) => x.row);
  }
  return out;
}

// The report items: reports is /me's `reports` list, or the stored { reports, fetchedAt }.
function reportItems(reports, outbox, fetchedAt, today) {
  const list = Array.isArray(reports) ? reports : (reports && reports.reports) || [];
  const since = Array.isArray(reports) ? fetchedAt : (reports && reports.fetchedAt) || fetchedAt;
  const items = [];
  for (const report of list) {
    for (const p of reportView(report, outbox || [], since || 0, today).periods) {
      if (p.status !== 'pending' && p.status !== 'missing') continue;
      items.push({
        kind: 'report', report_id: report.id, name: report.name, period: p.key, label: p.label,
        deadline: p.deadline, status: p.status, which: p.which,
      });
    }
  }
  return items;
}

// ---- newly assigned: what the phone has seen of the list ----
//
// `seen` (kept per person in IndexedDB meta 'todoSeen:<owner>', forgotten at logout):
//   { seeded: true, names: { <household id>: { day, own, opened } } }
// day: 'YYYY-MM-DD' the phone first saw it in a downloaded list ('' when it was there at
// the first download after login: nothing is "new" on a fresh phone); own: registered on
// this phone; opened: the person opened it (its visit form, or it in the 待办 list).

// The seen state after a look at `rows` (caselist.js localList) on `today`. `listed`:
// whether a list was ever downloaded (localList's fetchedAt); before that nothing changes.
// Names no longer in the list are dropped (a household given back later is new again, as
// the server counts a new assignment). Returns { seen, changed }.
export function noteSeen(seen, rows, today, { listed = true } = {}) {
  if (!listed) return { seen: seen || null, changed: false };
  const present = open(rows);
  const seeding = !seen || !seen.seeded;
  const before = (seen && seen.names) || {};
  const names = {};
  let changed = seeding;
  for (const row of present) {
    const old = before[row.name];
    if (old) { names[row.name] = old; continue; }
    changed = true;
    const own = row.__local === 'created';
    names[row.name] = { day: seeding || own ? '' : today, own, opened: false };
  }
  if (Object.keys(before).some((n) => !names[n])) changed = true;
  return { seen: { seeded: true, names }, changed };
}

// `seen` with household `name` marked as opened (no longer 新分配). Returns the same
// object when nothing changes.
export function markOpened(seen, name) {
  const e = seen && seen.names && seen.names[name];
  if (!e || e.opened) return seen;
  return { ...seen, names: { ...seen.names, [name]: { ...e, opened: true } } };
}

function assignedRows(rows, seen, today) {
  if (!seen || !seen.names) return [];
  return open(rows).filter((r) => {
    const e = seen.names[r.name];
    if (!e || !e.day || e.own || e.opened || r.__local === 'created') return false;
    const age = daysFrom(e.day, today);
    return age >= 0 && age < ASSIGNED_DAYS;
  });
}

// ---- the list ----

// The 待办 items on `today` ('YYYY-MM-DD', the phone's localDay()), in the shape of the
// server's GET /api/v1/reminders/todo `items` (kinds with nothing left out):
//   { kind: 'overdue'|'due_today'|'due_tomorrow'|'assigned', count, households: [id…], rows }
//   { kind: 'report', report_id, name, period, label, deadline, status, which }
// `rows`: households (localList rows); `reports`: /me's reports as stored ({ reports,
// fetchedAt }) or a list (then `fetchedAt`, ms); `outbox`: the person's outbox records;
// `seen`: the state noteSeen keeps (null: no household counts as newly assigned).
// `rows` in a household item are the rows themselves, for drawing (not in the server's).
export function todoItems({ rows = [], reports = null, outbox = [], seen = null, today, fetchedAt = 0 }) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(String(today || ''))) throw new Error('todoItems: today must be YYYY-MM-DD');
  const visits = byVisit(rows, today);
  const items = [];
  const households = (kind, list) => {
    if (list.length) items.push({ kind, count: list.length, households: list.map((r) => r.name), rows: list });
  };
  households('overdue', visits.overdue);
  households('due_today', visits.due_today);
  households('due_tomorrow', visits.due_tomorrow);
  items.push(...reportItems(reports, outbox, fetchedAt, today));
  households('assigned', assignedRows(rows, seen, today));
  return items;
}

// How many things wait today (the home entry's number): households overdue and due
// today, report periods with nothing filed, newly assigned households. Tomorrow's visits
// are shown but not counted.
export function todoCount(items) {
  return items.reduce((n, i) => n + (i.kind === 'report' ? 1 : i.kind === 'due_tomorrow' ? 0 : i.count), 0);
}

// { kind: count } with every kind (0 when absent), reports counted per period.
export function todoCounts(items) {
  const c = Object.fromEntries(KINDS.map((k) => [k, 0]));
  for (const i of items) c[i.kind] += i.kind === 'report' ? 1 : i.count;
  return c;
}

// A notification's text from the items: counts and kinds only, never a name, a household
// label or a place (it shows on the lock screen). { title, body } or null when nothing waits.
export function todoSummary(items) {
  const c = todoCounts(items);
  const parts = [];
  if (c.due_today) parts.push(`您有${c.due_today}户今日待走访`);
  if (c.overdue) parts.push(`${parts.length ? '' : '您有'}${c.overdue}户已逾期`);
  if (c.due_tomorrow && !c.due_today && !c.overdue) parts.push(`您有${c.due_tomorrow}户明日待走访`);
  const missing = items.filter((i) => i.kind === 'report' && i.status === 'missing').length;
  const pending = c.report - missing;
  if (missing) parts.push(`${missing}期报告已过截止未报`);
  if (pending) parts.push(`${pending}期报告待报`);
  if (c.assigned) parts.push(`新分配${c.assigned}户`);
  if (!parts.length) return null;
  return { title: '平安家庭', body: `${parts.join('，')}` };
}

// The server's items (GET /api/v1/reminders/todo) in the same shape as todoItems' (no
// rows; ids sorted), for comparing the two: [{ kind, count, households }|{ kind: 'report',
// report_id, period, status }].
export function comparable(items) {
  return items.map((i) => (i.kind === 'report'
    ? { kind: 'report', report_id: i.report_id, period: i.period, status: i.status }
    : { kind: i.kind, count: i.count, households: [...i.households].sort() }))
    .sort((a, b) => (KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind))
      || String(a.report_id ?? '').localeCompare(String(b.report_id ?? ''))
      || String(a.period ?? '').localeCompare(String(b.period ?? '')));
}
