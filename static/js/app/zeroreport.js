// A zero report in one tap (issue 11, 零报告制度): the stored zero_report XForm opened
// with the form engine (offline, from IndexedDB, as the fill view opens a form), its
// report_date set to the period's day, and its submission put straight into the outbox
// the way a finalized questionnaire goes there (instanceID, `end` stamped once, title,
// summary). No form on screen. Loaded on demand: it brings the engine.
import * as store from '../db.js';
import { mediaBase } from '../sync.js';
import { openForm } from '../form/engine.js';
import { endPaths, nowWithOffset, stampEnd } from '../form/preload.js';
import { localDay, reportView, ZERO_FORM } from './reports.js';

export class ZeroReportError extends Error {}

// The first question called `name`, anywhere in the form, or null.
function question(form, name) {
  const walk = (node) => {
    for (const child of form.children(node)) {
      if (form.name(child) === name && form.kind(child) !== 'group') return child;
      const inner = form.children(child).length ? walk(child) : null;
      if (inner) return inner;
    }
    return null;
  };
  return walk(form.root);
}

// Form media from Cache Storage first (offline), else the network; the zero report has none.
async function fetchAttachment(href) {
  if (typeof caches !== 'undefined') {
    const hit = await caches.match(href);
    if (hit) return hit;
  }
  return fetch(href, { credentials: 'same-origin' });
}

// Queue a zero report of `owner` for `period` (a period of reportView) of `report` (one
// of /me's reports, downloaded at `fetchedAt`). Returns the outbox item's id, or null when
// the period has its report already (filed or queued, perhaps from another tab).
// Throws ZeroReportError (a message for the worker) when it cannot be made.
export async function fileZeroReport(owner, report, period, fetchedAt) {
  const formId = report.zero_form_id || ZERO_FORM;
  const formRec = await store.currentForm(owner, formId);
  if (!formRec) throw new ZeroReportError('本机没有零报告问卷，请联网同步后再试。');
  let form;
  try {
    form = await openForm(formRec.xml, { mediaBase: mediaBase(formRec.xform_url), fetchAttachment });
  } catch (err) {
    throw new ZeroReportError(`零报告问卷打开失败：${err && err.message ? err.message : err}`);
  }
  // The period's day; never after the phone's today (the form allows no future date).
  const today = localDay();
  let xml;
  let files;
  let id;
  try {
    let day = period.reportDate;
    if (day > today && today >= period.start) day = today;
    const node = question(form, 'report_date');
    if (!node) throw new ZeroReportError('零报告问卷缺少“本报告所属日期”（report_date），请联系管理员。');
    form.setValue(node, day);
    if (form.value(node).slice(0, 10) !== day) throw new ZeroReportError(`无法把日期设为 ${day}。`);
    if (form.violations().length) {
      throw new ZeroReportError('零报告问卷不能一键填写（有必答题或日期不符合要求），请在“填写新问卷”中打开“零报告”填写。');
    }
    ({ xml, files } = form.payload());
    id = form.instanceID();
  } finally {
    form.release(); // done with the engine: the form as read may serve the next one
  }
  if (!id) throw new ZeroReportError('零报告问卷没有编号（instanceID），请联系管理员。');
  const added = await store.addToOutbox(owner, {
    id, form_id: formRec.form_id, version: formRec.version, title: formRec.title,
    summary: `${period.label} · ${report.unit && report.unit.name ? `${report.unit.name} · ` : ''}本期无新增`,
    // `end` is stamped once, here: every re-send of this item is the same XML.
    xml: stampEnd(xml, endPaths(formRec.xml), nowWithOffset()),
    files: Object.fromEntries(files.map((f) => [f.name, f])),
    entities: formRec.entities || null,
  }, {
    refuse: (items) => !reportView(report, items, fetchedAt, today).periods
      .some((p) => p.key === period.key && p.canZero),
  });
  return added ? id : null;
}
