// The phone's 待办 (static/js/app/todo.js, issue 13): visits overdue / due today / due
// tomorrow, report periods with nothing filed, households newly assigned; a month
// generated with a fixed seed, walked day by day against a plain reading of the rules
// (/work/notes/reminders_contract.md). Run by `node --test tests/js/` (tests/test_phone_js.py).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { addDays } from '../../static/js/app/reports.js';
import {
  ASSIGNED_DAYS, comparable, markOpened, noteSeen, todoCount, todoCounts, todoItems, todoSummary,
} from '../../static/js/app/todo.js';

// A small fixed PRNG (mulberry32): the same month every run.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const row = (name, next, extra = {}) => ({
  name, label: `${name}家`, __version: '1', __trunkVersion: '1', __branchId: `b-${name}`,
  next_visit_date: next, case_status: 'following', ...extra,
});

const kinds = (items) => items.map((i) => i.kind);
const of = (items, kind) => items.find((i) => i.kind === kind) || null;

test('visits: overdue, due today and due tomorrow by the next visit day; closed and undated left out', () => {
  const rows = [
    row('a', '2026-11-28'), row('b', '2026-12-01'), row('c', '2026-12-02'), row('d', '2026-12-03'),
    row('e', '2026-12-04'), row('f', ''), row('g', '2026-11-01', { case_status: 'closed' }),
    row('h', 'soon'), row('i', '2026-12-02T09:00:00'),
  ];
  const items = todoItems({ rows, today: '2026-12-02' });
  assert.deepEqual(kinds(items), ['overdue', 'due_today', 'due_tomorrow']);
  assert.deepEqual(of(items, 'overdue').households, ['a', 'b']); // longest overdue first
  assert.deepEqual(of(items, 'due_today').households, ['c', 'i']);
  assert.deepEqual(of(items, 'due_tomorrow').households, ['d']);
  assert.equal(todoCount(items), 4); // tomorrow is shown, not counted
  assert.deepEqual(todoItems({ rows: [], today: '2026-12-02' }), []);
  assert.throws(() => todoItems({ rows, today: '2.12.2026' }));
});

test('a generated month: every day, the households counted are those a plain reading of the rules gives', () => {
  const rand = rng(13);
  const start = '2026-12-01';
  const rows = [];
  for (let n = 0; n < 120; n += 1) {
    const r = rand();
    const next = r < 0.1 ? '' : addDays(start, Math.floor(rand() * 45) - 7);
    rows.push(row(`hh-${String(n).padStart(3, '0')}`, next, { case_status: rand() < 0.1 ? 'closed' : 'following' }));
  }
  let seenAny = 0;
  for (let d = 0; d < 31; d += 1) {
    const today = addDays(start, d);
    const tomorrow = addDays(today, 1);
    const openRows = rows.filter((r) => r.case_status !== 'closed' && r.next_visit_date);
    const want = {
      overdue: openRows.filter((r) => r.next_visit_date < today).map((r) => r.name).sort(),
      due_today: openRows.filter((r) => r.next_visit_date === today).map((r) => r.name).sort(),
      due_tomorrow: openRows.filter((r) => r.next_visit_date === tomorrow).map((r) => r.name).sort(),
    };
    const items = todoItems({ rows, today });
    for (const k of Object.keys(want)) {
      const got = of(items, k);
      assert.deepEqual(got ? [...got.households].sort() : [], want[k], `${k} on ${today}`);
      if (got) assert.equal(got.count, want[k].length);
      seenAny += want[k].length;
    }
    assert.equal(todoCount(items), want.overdue.length + want.due_today.length);
  }
  assert.ok(seenAny > 100, 'the month has work in it');
});

test("the phone's unsent visit counts at once: a new next visit day moves the household out", () => {
  // caselist.js applies the outbox to the rows before todoItems sees them; here the row
  // as applied (the visit set next_visit_date and marked it __local).
  const before = todoItems({ rows: [row('a', '2026-11-30')], today: '2026-12-02' });
  assert.equal(of(before, 'overdue').count, 1);
  const after = todoItems({ rows: [row('a', '2026-12-16', { __local: 'updated' })], today: '2026-12-02' });
  assert.deepEqual(after, []);
});

const REPORT = {
  id: 7, name: '月度排查', form_id: 'family_screening', period: 'monthly', deadline_days: 5,
  unit: { code: '339901001001', name: '和平社区' }, zero_form_id: 'zero_report',
  current: { key: '2026-12', label: '2026年12月', start: '2026-12-01', end: '2026-12-31', deadline: '2027-01-05', report_date: '2026-12-03', status: 'pending', late: null },
  previous: { key: '2026-11', label: '2026年11月', start: '2026-11-01', end: '2026-11-30', deadline: '2026-12-05', report_date: '2026-11-30', status: 'pending', late: null },
};
const FETCHED = 1000;
const zeroFor = (day, status = 'waiting') => ({
  id: `uuid:z-${day}-${status}`, form_id: 'zero_report', status, created: 2000, sentAt: status === 'sent' ? 3000 : null,
  xml: `<data><report_date>${day}</report_date></data>`,
});

test('reports: each period with nothing filed is an item, pending before the deadline, missing after', () => {
  const stored = { reports: [REPORT], fetchedAt: FETCHED };
  let items = todoItems({ reports: stored, today: '2026-12-03' });
  assert.deepEqual(items.map((i) => [i.kind, i.report_id, i.period, i.status, i.deadline]), [
    ['report', 7, '2026-12', 'pending', '2027-01-05'],
    ['report', 7, '2026-11', 'pending', '2026-12-05'],
  ]);
  assert.equal(items[1].label, '2026年11月');
  // After the previous period's deadline, by the phone's date (the download is days old).
  items = todoItems({ reports: stored, today: '2026-12-06' });
  assert.deepEqual(items.map((i) => [i.period, i.status]), [['2026-12', 'pending'], ['2026-11', 'missing']]);
  // Filed on the server: no item.
  const filed = { ...REPORT, previous: { ...REPORT.previous, status: 'zero' } };
  assert.deepEqual(todoItems({ reports: [filed], today: '2026-12-06' }).map((i) => i.period), ['2026-12']);
  // A list of reports with its own fetchedAt works the same.
  assert.equal(todoItems({ reports: [REPORT], fetchedAt: FETCHED, today: '2026-12-03' }).length, 2);
});

test("reports: the phone's own outbox counts as reports.js counts it", () => {
  const stored = { reports: [REPORT], fetchedAt: FETCHED };
  // A zero report waiting in the outbox files November: only December is left.
  let items = todoItems({ reports: stored, outbox: [zeroFor('2026-11-30')], today: '2026-12-06' });
  assert.deepEqual(items.map((i) => i.period), ['2026-12']);
  // A real report for December, sent after the download: filed.
  const real = { id: 'uuid:r', form_id: 'family_screening', status: 'sent', sentAt: 5000, created: 4000, xml: '<data><report_date>2026-12-02</report_date></data>' };
  items = todoItems({ reports: stored, outbox: [zeroFor('2026-11-30'), real], today: '2026-12-06' });
  assert.deepEqual(items, []);
  // Refused (需处理) never counts: it did not arrive.
  items = todoItems({ reports: stored, outbox: [zeroFor('2026-11-30', 'attention')], today: '2026-12-06' });
  assert.deepEqual(items.map((i) => [i.period, i.status]), [['2026-12', 'pending'], ['2026-11', 'missing']]);
  // A new month on the phone's clock with an old download: the phone's own periods.
  items = todoItems({ reports: stored, today: '2027-01-02' });
  assert.deepEqual(items.map((i) => [i.period, i.status, i.deadline]), [
    ['2027-01', 'pending', '2027-02-05'], ['2026-12', 'pending', '2027-01-05'],
  ]);
});

test('newly assigned: the first download seeds silently; a new name counts 7 days until opened', () => {
  const day0 = '2026-12-01';
  // Before any download nothing is recorded.
  assert.deepEqual(noteSeen(null, [], day0, { listed: false }), { seen: null, changed: false });
  let { seen, changed } = noteSeen(null, [row('a', ''), row('b', '')], day0);
  assert.ok(changed && seen.seeded);
  assert.deepEqual(todoItems({ rows: [row('a', ''), row('b', '')], seen, today: day0 }), []);
  // Two days later a new one, and one registered on this phone (not yet sent).
  const day2 = addDays(day0, 2);
  const rows = [row('a', ''), row('b', ''), row('c', ''), row('mine', '', { __local: 'created' })];
  ({ seen, changed } = noteSeen(seen, rows, day2));
  assert.ok(changed);
  assert.deepEqual(seen.names.c, { day: day2, own: false, opened: false });
  assert.equal(seen.names.mine.own, true);
  // Looking again changes nothing.
  assert.equal(noteSeen(seen, rows, addDays(day2, 1)).changed, false);
  // Once sent, "mine" comes back in the server's list without __local: still not assigned.
  const served = rows.map((r) => ({ ...r, __local: undefined }));
  for (let d = 0; d < ASSIGNED_DAYS; d += 1) {
    const items = todoItems({ rows: served, seen, today: addDays(day2, d) });
    assert.deepEqual(of(items, 'assigned')?.households, ['c'], `day ${d}`);
  }
  assert.equal(of(todoItems({ rows: served, seen, today: addDays(day2, ASSIGNED_DAYS) }), 'assigned'), null);
  // Opened: gone at once.
  const opened = markOpened(seen, 'c');
  assert.equal(of(todoItems({ rows: served, seen: opened, today: day2 }), 'assigned'), null);
  assert.equal(markOpened(opened, 'c'), opened);
  assert.equal(markOpened(opened, 'nobody'), opened);
  // Given to a colleague (leaves the list), then back: new again from the day it returns.
  ({ seen } = noteSeen(seen, served.filter((r) => r.name !== 'a'), addDays(day2, 1)));
  assert.equal(seen.names.a, undefined);
  ({ seen } = noteSeen(seen, served, addDays(day2, 3)));
  assert.deepEqual(of(todoItems({ rows: served, seen, today: addDays(day2, 3) }), 'assigned').households, ['a', 'c']);
  // Closed: not the person's to do any more.
  const closed = served.map((r) => (r.name === 'c' ? { ...r, case_status: 'closed' } : r));
  assert.deepEqual(of(todoItems({ rows: closed, seen, today: addDays(day2, 3) }), 'assigned').households, ['a']);
});

test('the summary says counts and kinds only, never a name', () => {
  const rows = [row('王秀英', '2026-11-30'), row('李娟', '2026-12-02'), row('赵敏', '2026-12-02'), row('钱芳', '2026-12-03')];
  const items = todoItems({ rows, reports: { reports: [REPORT], fetchedAt: FETCHED }, today: '2026-12-06' });
  const s = todoSummary(items);
  assert.equal(s.title, '平安家庭');
  assert.equal(s.body, '您有4户已逾期，1期报告已过截止未报，1期报告待报');
  for (const r of rows) assert.ok(!s.body.includes(r.name) && !s.body.includes(r.label));
  assert.equal(todoSummary(todoItems({ rows, today: '2026-12-02' })).body, '您有2户今日待走访，1户已逾期');
  assert.equal(todoSummary(todoItems({ rows: [row('x', '2026-12-03')], today: '2026-12-02' })).body, '您有1户明日待走访');
  assert.equal(todoSummary([]), null);
  assert.deepEqual(todoCounts(items), { overdue: 4, due_today: 0, due_tomorrow: 0, report: 2, assigned: 0 });
});

test("comparable() gives the server's shape and the phone's the same form", () => {
  const rows = [row('b', '2026-11-30'), row('a', '2026-11-29')];
  const phone = todoItems({ rows, reports: [REPORT], fetchedAt: FETCHED, today: '2026-12-02' });
  const server = [
    { kind: 'report', report_id: 7, name: '月度排查', period: '2026-11', label: '2026年11月', deadline: '2026-12-05', status: 'pending' },
    { kind: 'overdue', count: 2, households: ['b', 'a'] },
    { kind: 'report', report_id: 7, name: '月度排查', period: '2026-12', label: '2026年12月', deadline: '2027-01-05', status: 'pending' },
  ];
  assert.deepEqual(comparable(phone), comparable(server));
});
