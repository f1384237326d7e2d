// The phone's entity lists (static/js/app/entities.js), run by `node --test tests/js/`
// (tests/test_phone_js.py runs it under pytest).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  adoptServerRows, applyLocal, dueState, householdOrder, listColumns, parseCSV,
  parseXML, pendingItems, readEntityBlock, readEntityBlocks, toCSV,
} from '../../static/js/app/entities.js';

const SERVER_CSV = 'name,label,__version,__trunkVersion,__branchId,risk_level,next_visit_date\n'
  + 'hh-1,"王芳家, 和平社区",2,2,,high,2026-12-10\n'
  + 'hh-2,"李""娟""家",1,1,,low,\n';

const REGISTER = {
  dataset: 'households', create: true, update: false,
  saveto: { '/data/risk_level': 'risk_level', '/data/grp/next_visit_date': 'next_visit_date' },
};
const VISIT = {
  dataset: 'households', create: false, update: true,
  saveto: { '/data/next_visit_date': 'next_visit_date', '/data/case_status': 'case_status' },
};

function registration(id, hh, head, { risk = 'serious', due = '2026-12-08', created = 1 } = {}) {
  const xml = '<?xml version="1.0"?><data xmlns:jr="http://openrosa.org/javarosa" id="family_screening" version="1">'
    + `<head>${head}</head><risk_level>${risk}</risk_level><grp><next_visit_date>${due}</next_visit_date></grp>`
    + `<meta><entity dataset="households" create="1" id="${hh}"><label>${head}家 &amp; 子女</label></entity>`
    + `<instanceID>${id}</instanceID></meta></data>`;
  return { id, xml, form_id: 'family_screening', version: '1', status: 'waiting', created };
}

function visitItem(id, hh, row, { status = 'following', due = '2026-12-20', created = 2, sent = null } = {}) {
  const xml = `<data id="mediation_visit" version="1"><household>${hh}</household>`
    + `<next_visit_date>${due}</next_visit_date><case_status>${status}</case_status>`
    + `<meta><entity dataset="households" id="${hh}" update="1" baseVersion="${row.__version}" `
    + `trunkVersion="${row.__trunkVersion}" branchId="${row.__branchId}"/><instanceID>${id}</instanceID></meta></data>`;
  return {
    id, xml, form_id: 'mediation_visit', version: '1', created,
    status: sent ? 'sent' : 'waiting', sentAt: sent,
  };
}

test('CSV round trip keeps commas, quotes and CJK', () => {
  const { columns, rows } = parseCSV(`\uFEFF${SERVER_CSV.replace(/\n/g, '\r\n')}`);
  assert.deepEqual(columns.slice(0, 5), ['name', 'label', '__version', '__trunkVersion', '__branchId']);
  assert.equal(rows.length, 2);
  assert.equal(rows[0].label, '王芳家, 和平社区');
  assert.equal(rows[1].label, '李"娟"家');
  assert.equal(rows[1].next_visit_date, '');
  assert.deepEqual(parseCSV(toCSV(columns, rows)), { columns, rows });
  assert.deepEqual(parseCSV('name,label\n'), { columns: ['name', 'label'], rows: [] });
});

test('a downloaded row gets a branch, kept while its version stays', () => {
  const { rows } = parseCSV(SERVER_CSV);
  let n = 0;
  const first = adoptServerRows(rows, [], () => `b${++n}`);
  assert.deepEqual(first.map((r) => [r.__branchId, r.__trunkVersion]), [['b1', '2'], ['b2', '1']]);
  const again = adoptServerRows(rows.map((r) => (r.name === 'hh-2' ? { ...r, __version: '2', __trunkVersion: '2' } : r)), first, () => `b${++n}`);
  assert.deepEqual(again.map((r) => [r.__branchId, r.__trunkVersion]), [['b1', '2'], ['b3', '2']]);
});

test('the submission reader finds the entity block, label and saved properties', () => {
  const b = readEntityBlock(registration('uuid:r1', 'hh-9', '陈静').xml, REGISTER);
  assert.deepEqual(b, {
    dataset: 'households', id: 'hh-9', create: true, update: false, label: '陈静家 & 子女',
    baseVersion: '', trunkVersion: '', branchId: '',
    properties: { risk_level: 'serious', next_visit_date: '2026-12-08' },
  });
  assert.equal(parseXML('<a><b x="1"/><c>t&lt;<![CDATA[<z>]]></c></a>').children[1].text, 't<<z>');
  const noCreate = registration('uuid:r2', 'hh-9', '陈静').xml.replace('create="1"', 'create="0"');
  assert.equal(readEntityBlock(noCreate, REGISTER), null);
  assert.equal(readEntityBlock('<data><meta><instanceID>x</instanceID></meta></data>', REGISTER), null);
});

test('an unsent registration appears at once; a visit of it continues its branch', () => {
  const server = adoptServerRows(parseCSV(SERVER_CSV).rows, [], () => 'srv');
  const reg = registration('uuid:reg-1', 'hh-new', '孙梅');
  let rows = applyLocal(server, [reg], { family_screening: REGISTER });
  const created = rows.find((r) => r.name === 'hh-new');
  assert.deepEqual(
    [created.label, created.__version, created.__trunkVersion, created.__branchId, created.risk_level, created.__local],
    ['孙梅家 & 子女', '1', '', 'reg-1', 'serious', 'created'],
  );
  // Built again later: the same branch (the visit made from it must continue it).
  assert.equal(applyLocal(server, [reg], { family_screening: REGISTER }).find((r) => r.name === 'hh-new').__branchId, 'reg-1');

  const visit = visitItem('uuid:v1', 'hh-new', created, { due: '2026-12-22' });
  assert.match(visit.xml, /baseVersion="1" trunkVersion="" branchId="reg-1"/);
  const specs = { family_screening: REGISTER, 'mediation_visit@1': VISIT };
  rows = applyLocal(server, [reg, visit], specs);
  const after = rows.find((r) => r.name === 'hh-new');
  assert.deepEqual(
    [after.__version, after.__branchId, after.next_visit_date, after.case_status, after.__local],
    ['2', 'reg-1', '2026-12-22', 'following', 'created'],
  );
  assert.equal(rows.length, 3);
  assert.equal(server.length, 2, 'the server rows are not changed in place');
});

test('a correction of a sent visit changes nothing on the list, as on the server', () => {
  const server = adoptServerRows(parseCSV(SERVER_CSV).rows, [], () => 'branch-x');
  const visit = visitItem('uuid:v9', 'hh-1', server[0], { status: 'paired' });
  const correction = { ...visit, id: 'uuid:v10', deprecatedID: 'uuid:v9' };
  assert.deepEqual(applyLocal(server, [correction], { mediation_visit: VISIT }), server);
});

test('a chain of offline visits of a downloaded household is one branch', () => {
  const server = adoptServerRows(parseCSV(SERVER_CSV).rows, [], () => 'branch-x');
  const hh1 = server[0];
  const v1 = visitItem('uuid:v1', 'hh-1', hh1, { created: 1 });
  const mid = applyLocal(server, [v1], { mediation_visit: VISIT })[0];
  assert.deepEqual([mid.__version, mid.__trunkVersion, mid.__branchId, mid.__local], ['3', '2', 'branch-x', 'updated']);
  const v2 = visitItem('uuid:v2', 'hh-1', mid, { created: 2, status: 'paired' });
  assert.match(v2.xml, /baseVersion="3" trunkVersion="2" branchId="branch-x"/);
  const end = applyLocal(server, [v1, v2], { mediation_visit: VISIT })[0];
  assert.deepEqual([end.__version, end.case_status, end.label], ['4', 'paired', '王芳家, 和平社区']);

  // The server moved on (someone else's visit): the new download starts a new branch;
  // an unsent visit made on the old branch shows its values but builds no version.
  const newer = adoptServerRows([{ ...parseCSV(SERVER_CSV).rows[0], __version: '3', __trunkVersion: '3' }], server, () => 'branch-y');
  const shown = applyLocal(newer, [v1], { mediation_visit: VISIT })[0];
  assert.deepEqual([shown.__version, shown.__branchId, shown.case_status], ['3', 'branch-y', 'following']);
});

test('items the downloaded list already shows are not applied twice', () => {
  const items = [
    { id: 'a', xml: '<x/>', status: 'sent', sentAt: 100, created: 1 },
    { id: 'b', xml: '<x/>', status: 'sent', sentAt: 300, created: 2 },
    { id: 'c', xml: '<x/>', status: 'attention', created: 4 },
    { id: 'd', xml: '<x/>', status: 'waiting', created: 3 },
    { id: 'e', xml: '', status: 'sent', sentAt: 50, created: 0 }, // pruned receipt
  ];
  assert.deepEqual(pendingItems(items, 200).map((i) => i.id), ['b', 'd', 'c']);
  assert.deepEqual(pendingItems(items, 0).map((i) => i.id), ['a', 'b', 'd', 'c']);
  // A registration sent again (create of an id the list has) changes nothing.
  const server = adoptServerRows(parseCSV(SERVER_CSV).rows, [], () => 'b');
  const dup = registration('uuid:r', 'hh-1', '王芳');
  assert.deepEqual(applyLocal(server, [dup], { family_screening: REGISTER }), server);
  // An update of a household not on this phone is skipped; other datasets too.
  const stray = visitItem('uuid:v', 'hh-zzz', server[0]);
  assert.deepEqual(applyLocal(server, [stray], { mediation_visit: VISIT }), server);
  assert.deepEqual(applyLocal(server, [visitItem('uuid:w', 'hh-1', server[0])], { mediation_visit: { ...VISIT, dataset: 'trees' } }), server);
});

test('one entity per repeat instance (entities spec 2025.1)', () => {
  const spec = {
    dataset: 'households', create: true, saveto: { '/data/head': 'head' },
    blocks: [
      { container: '/data', dataset: 'households', create: true, update: false, saveto: { '/data/head': 'head' } },
      { container: '/data/members', dataset: 'people', create: true, update: false, saveto: { '/data/members/age': 'age' } },
    ],
  };
  const xml = '<data><head>周红</head>'
    + '<members><age>9</age><meta><entity dataset="people" create="1" id="p-1"><label>小明</label></entity></meta></members>'
    + '<members><age>81</age><meta><entity dataset="people" create="1" id="p-2"><label>奶奶</label></entity></meta></members>'
    + '<meta><entity dataset="households" create="1" id="hh-7"><label>周红家</label></entity><instanceID>uuid:s1</instanceID></meta></data>';
  const blocks = readEntityBlocks(xml, spec);
  assert.deepEqual(blocks.map((b) => [b.dataset, b.id, b.label, b.properties]), [
    ['households', 'hh-7', '周红家', { head: '周红' }],
    ['people', 'p-1', '小明', { age: '9' }],
    ['people', 'p-2', '奶奶', { age: '81' }],
  ]);
  const item = { id: 'uuid:s1', xml, form_id: 'f', version: '1', status: 'waiting', created: 1, entities: spec };
  assert.deepEqual(applyLocal([], [item], {}, 'people').map((r) => [r.name, r.age, r.__branchId]), [['p-1', '9', 's1'], ['p-2', '81', 's1']]);
  assert.deepEqual(applyLocal([], [item]).map((r) => r.name), ['hh-7']);
});

test('columns: the server order, then properties only the phone has', () => {
  const rows = [{ name: 'a', member_count: '3', __local: 'created' }];
  assert.deepEqual(listColumns(['name', 'label', '__version', '__trunkVersion', '__branchId', 'risk_level'], rows),
    ['name', 'label', '__version', '__trunkVersion', '__branchId', 'risk_level', 'member_count']);
});

test('due and overdue households come first', () => {
  const rows = [
    { name: 'a', label: '甲', next_visit_date: '2026-12-30' },
    { name: 'b', label: '乙', next_visit_date: '' },
    { name: 'c', label: '丙', next_visit_date: '2026-11-28' },
    { name: 'd', label: '丁', next_visit_date: '2026-12-04' },
    { name: 'e', label: '戊', next_visit_date: '2026-12-01' },
    { name: 'f', label: '己', next_visit_date: '2026-12-02', case_status: 'closed' },
  ];
  const order = householdOrder(rows, '2026-12-02');
  assert.deepEqual(order.map((x) => [x.row.name, x.due.state]), [
    ['c', 'overdue'], ['e', 'overdue'], ['d', 'due'], ['a', 'later'], ['b', 'none'],
  ]);
  assert.deepEqual(dueState({ next_visit_date: '2026-12-02' }, '2026-12-02'), { state: 'due', days: 0 });
  assert.deepEqual(dueState({ next_visit_date: '2026-13-45' }, '2026-12-02'), { state: 'none', days: null });
});
