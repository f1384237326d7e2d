// The phone's report cards (static/js/app/reports.js): periods named as the server names
// them, the day an outbox item counts for, and a unit's status with the phone's own
// filings on top. Run by `node --test tests/js/` (tests/test_phone_js.py under pytest).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { itemDay, localFilings, periodOf, reportView, shortDay } from '../../static/js/app/reports.js';

test('periods are named and bounded as fieldapp/reports/periods.py does', () => {
  // ISO weeks, Monday to Sunday, named by the ISO year (checked with Python's isocalendar).
  assert.deepEqual(periodOf('weekly', '2026-01-01'),
    { kind: 'weekly', key: '2026-W01', label: '2026年第1周', start: '2025-12-29', end: '2026-01-04' });
  assert.equal(periodOf('weekly', '2027-01-01').key, '2026-W53');
  assert.equal(periodOf('weekly', '2024-12-30').key, '2025-W01');
  assert.equal(periodOf('weekly', '2021-01-03').key, '2020-W53'); // a Sunday
  assert.equal(periodOf('weekly', '2021-01-03').start, '2020-12-28');
  assert.deepEqual(periodOf('monthly', '2024-02-10'),
    { kind: 'monthly', key: '2024-02', label: '2024年2月', start: '2024-02-01', end: '2024-02-29' });
  assert.equal(periodOf('monthly', '2026-12-31').end, '2026-12-31');
  assert.deepEqual(periodOf('quarterly', '2026-11-30'),
    { kind: 'quarterly', key: '2026-Q4', label: '2026年第4季度', start: '2026-10-01', end: '2026-12-31' });
  assert.equal(periodOf('quarterly', '2026-03-31').end, '2026-03-31');
  assert.equal(periodOf('yearly', '2026-03-31'), null);
});

test('an item counts for its report_date, else the day of its start, else when it was finalized', () => {
  assert.equal(itemDay({ xml: '<data><start>2026-11-30T23:00:00.000+08:00</start><report_date>2026-10-31</report_date></data>' }),
    '2026-10-31');
  assert.equal(itemDay({ xml: '<data><n:report_date>2026-10-31</n:report_date></data>' }), '2026-10-31');
  const start = new Date(2026, 10, 30, 23, 30); // the phone's own clock
  assert.equal(itemDay({ xml: `<data><start>${start.toISOString()}</start></data>` }), '2026-11-30');
  assert.equal(itemDay({ xml: '', created: new Date(2026, 0, 2, 8).getTime() }), '2026-01-02');
});

const REPORT = {
  id: 7, name: '月度排查', form_id: 'family_screening', period: 'monthly', level: 'village', deadline_days: 5,
  unit: { code: '339901001001', name: '和平社区' }, zero_form_id: 'zero_report',
  current: {
    key: '2026-12', label: '2026年12月', start: '2026-12-01', end: '2026-12-31', deadline: '2027-01-05',
    report_date: '2026-12-03', status: 'pending', late: null,
  },
  previous: {
    key: '2026-11', label: '2026年11月', start: '2026-11-01', end: '2026-11-30', deadline: '2026-12-05',
    report_date: '2026-11-30', status: 'pending', late: null,
  },
};
const FETCHED = 1000;

function zero(day, { status = 'waiting', sentAt = null, id = `z-${day}` } = {}) {
  return { id, form_id: 'zero_report', status, sentAt, xml: `<data id="zero_report"><report_date>${day}</report_date></data>` };
}
function screening(day, { status = 'waiting', sentAt = null } = {}) {
  return { id: `s-${day}`, form_id: 'family_screening', status, sentAt, xml: `<data><start>${day}T09:00:00.000+08:00</start></data>` };
}
const periods = (outbox, today = '2026-12-03', report = REPORT, fetchedAt = FETCHED) =>
  Object.fromEntries(reportView(report, outbox, fetchedAt, today).periods.map((p) => [p.which, p]));

test('nothing filed: 未到截止 before the deadline, a zero report offered for both periods', () => {
  const { current, previous } = periods([]);
  assert.equal(current.status, 'pending');
  assert.equal(current.reportDate, '2026-12-03');
  assert.equal(current.canZero, true);
  assert.equal(previous.status, 'pending');
  assert.equal(previous.reportDate, '2026-11-30');
  assert.equal(previous.canZero, true);
  // After the previous period's deadline, the same download reads 未报告.
  assert.equal(periods([], '2026-12-06').previous.status, 'missing');
});

test('a zero report waiting in the outbox makes its period 零报告 and 待发送, nothing offered again', () => {
  const { current, previous } = periods([zero('2026-12-03')]);
  assert.equal(current.status, 'zero');
  assert.equal(current.queued, true);
  assert.equal(current.canZero, false);
  assert.equal(current.late, false);
  assert.equal(previous.canZero, true); // another period
  // For the previous period, after its deadline: late.
  const late = periods([zero('2026-11-30')], '2026-12-07').previous;
  assert.deepEqual([late.status, late.late, late.queued], ['zero', true, true]);
});

test('a screening waiting makes it 已报告; with a zero report 已更正 (as the server counts)', () => {
  assert.equal(periods([screening('2026-12-02')]).current.status, 'reported');
  assert.equal(periods([screening('2026-12-02'), zero('2026-12-03')]).current.status, 'corrected');
  const serverZero = { ...REPORT, current: { ...REPORT.current, status: 'zero', late: false } };
  const { current } = periods([screening('2026-12-02')], '2026-12-03', serverZero);
  assert.deepEqual([current.status, current.queued, current.canZero], ['corrected', true, false]);
});

test('sent items count until the next download shows them; refused ones never', () => {
  const sent = zero('2026-12-03', { status: 'sent', sentAt: FETCHED + 5 });
  const p = periods([sent]).current;
  assert.deepEqual([p.status, p.queued, p.canZero], ['zero', false, false]);
  const old = zero('2026-12-03', { status: 'sent', sentAt: FETCHED - 5 }); // the server's status has it
  assert.equal(periods([old]).current.status, 'pending');
  assert.equal(periods([zero('2026-12-03', { status: 'attention' })]).current.canZero, true);
  const other = { id: 'x', form_id: 'court_work', status: 'waiting', xml: '<data><report_date>2026-12-03</report_date></data>' };
  assert.deepEqual(localFilings(REPORT, [other], FETCHED), { real: [], zero: [] });
});

test('a download from before the period changed: today\'s period, the old current as previous', () => {
  const served = { ...REPORT, current: { ...REPORT.current, status: 'zero', late: false } };
  const { current, previous } = periods([], '2027-01-02', served);
  assert.deepEqual([current.key, current.known, current.status, current.reportDate], ['2027-01', false, 'pending', '2027-01-02']);
  assert.equal(current.deadline, '2027-02-05');
  assert.equal(current.label, '2027年1月');
  assert.deepEqual([previous.key, previous.known, previous.status], ['2026-12', true, 'zero']);
});

test('short days name the year only when it is not this year', () => {
  assert.equal(shortDay('2026-12-05', '2026-12-03'), '12月5日');
  assert.equal(shortDay('2027-01-05', '2026-12-03'), '2027年1月5日');
});
