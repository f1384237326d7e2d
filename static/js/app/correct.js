// Correcting a sent record (#/correct/<instanceID>, issue 12). Sent work does not stay on
// the phone: the record is fetched from the server (GET /api/v1/submissions/<id>/correction,
// which refuses what the person may not correct now, with a message) and opened in the
// fill view as a draft. As ODK Collect and Central's Web Forms edit a submission, the
// draft's instance gets a new meta/instanceID and meta/deprecatedID = the one it
// replaces; finalizing sends it through the normal outbox and the server keeps it as the
// new version. The engine restores only the nodes a form declares, so the draft keeps the
// replaced ID beside its XML (`deprecatedID`) and withDeprecatedID() writes it back into
// every XML the fill view saves or sends.
import * as store from '../db.js';
import { needsLogin } from '../net.js';

const META_NS = 'http://openrosa.org/xforms';

// Whether the home screen offers 修改 on a sent outbox item: the person's role corrects
// (`corrections` of /me), the item was sent within their days (the server counts from the
// record's first version and has the last word), and no correction of it is on the phone.
export function mayOfferCorrection(item, corrections, replacedHere, now = Date.now()) {
  if (!corrections || !corrections.allowed || item.status !== 'sent') return false;
  if (replacedHere.has(item.id)) return false;
  return corrections.days == null || !item.sentAt || now - item.sentAt <= corrections.days * 86400e3;
}

// The instance IDs that a draft or an outbox item on this phone replaces.
export function replacedOnPhone(drafts, outbox) {
  const ids = new Set(drafts.map((d) => d.deprecatedID).filter(Boolean));
  for (const i of outbox) {
    const id = i.deprecatedID || deprecatedIDOf(i.xml || '');
    if (id) ids.add(id);
  }
  return ids;
}

export function deprecatedIDOf(xml) {
  const m = /<(?:[\w.-]+:)?deprecatedID>([^<]+)</.exec(xml);
  return m ? m[1].trim() : '';
}

// `xml` with meta/deprecatedID set to `id` (added after meta/instanceID when missing).
export function withDeprecatedID(xml, id) {
  if (!id) return xml;
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const meta = metaOf(doc);
  if (!meta) return xml;
  const instanceID = child(meta, 'instanceID');
  let dep = child(meta, 'deprecatedID');
  if (!dep) {
    const ns = (instanceID || meta).namespaceURI;
    const prefix = (instanceID || meta).prefix;
    dep = ns ? doc.createElementNS(ns, prefix ? `${prefix}:deprecatedID` : 'deprecatedID') : doc.createElement('deprecatedID');
    meta.insertBefore(dep, instanceID ? instanceID.nextSibling : meta.firstChild);
  }
  if (dep.textContent === id) return xml;
  dep.textContent = id;
  return new XMLSerializer().serializeToString(doc);
}

// `xml` with meta/instanceID set to `id`.
function withInstanceID(xml, id) {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const meta = metaOf(doc);
  let node = meta && child(meta, 'instanceID');
  if (!meta) throw new Error('记录中没有 meta 部分');
  if (!node) {
    node = doc.createElementNS(meta.namespaceURI || META_NS, meta.prefix ? `${meta.prefix}:instanceID` : 'instanceID');
    meta.prepend(node);
  }
  node.textContent = id;
  return new XMLSerializer().serializeToString(doc);
}

function metaOf(doc) {
  return [...doc.documentElement.children].find((c) => c.localName === 'meta') || null;
}
function child(el, name) { return [...el.children].find((c) => c.localName === name) || null; }

// Fetch sent record `id` and make it a draft on this phone; resolves to { draftId } or
// { error } (a message for the person). A correction already on the phone is reused.
export async function openCorrection(owner, id) {
  const here = (await store.listDrafts(owner)).find((d) => d.deprecatedID === id);
  if (here) return { draftId: here.id };
  const queued = (await store.listOutbox(owner)).find((i) => i.status !== 'sent' && (i.deprecatedID || deprecatedIDOf(i.xml || '')) === id);
  if (queued) return { error: '这份问卷的修改已在发送箱中，等待发送。' };
  if (navigator.onLine === false) return { error: '需要联网才能修改已发送的问卷。' };
  let res;
  try {
    res = await fetch(`/api/v1/submissions/${encodeURIComponent(id)}/correction`, {
      credentials: 'same-origin', cache: 'no-store', redirect: 'manual',
    });
  } catch {
    return { error: '需要联网才能修改已发送的问卷（现在连不上服务器）。' };
  }
  if (needsLogin(res)) return { error: '登录已过期，请重新登录后再修改。' };
  const body = await res.json().catch(() => null);
  if (!res.ok || !body) {
    return { error: (body && body.error && body.error.message) || `服务器暂时无法取回这份问卷（${res.status}），请稍后再试。` };
  }
  try {
    const formRec = await formVersion(owner, body.form);
    const files = {};
    for (const a of body.attachments) {
      const r = await fetch(a.url, { credentials: 'same-origin', cache: 'no-store' });
      if (!r.ok) throw new Error(`附件 ${a.filename}：HTTP ${r.status}`);
      files[a.filename] = new File([await r.blob()], a.filename, { type: a.content_type });
    }
    const draftId = `uuid:${crypto.randomUUID()}`;
    const xml = withDeprecatedID(withInstanceID(body.xml, draftId), id);
    const sent = await store.getOutbox(id);
    const r = await store.saveDraft({
      id: draftId, owner, form_id: formRec.form_id, version: formRec.version,
      title: `${formRec.title}（修改）`, xml, files, progress: { answered: 0, total: 0 },
      summary: (sent && sent.owner === owner && sent.summary) || '', typed: {},
      deprecatedID: id, correctUntil: body.correct_until,
    });
    if (r !== 'saved') throw new Error('无法保存草稿');
    return { draftId };
  } catch (err) {
    console.error(err);
    return { error: `无法打开这份问卷来修改：${err && err.message ? err.message : err}` };
  }
}

// The form version the record was filled in: the one on the phone, else downloaded (an
// older version stays on the phone while the draft needs it: db.setCurrentForms).
async function formVersion(owner, f) {
  const have = await store.getForm(owner, f.form_id, f.version);
  if (have) return have;
  const res = await fetch(f.xform_url, { credentials: 'same-origin', cache: 'no-store' });
  if (!res.ok) throw new Error(`问卷 ${f.form_id} 版本 ${f.version}：HTTP ${res.status}`);
  const rec = {
    owner, form_id: f.form_id, version: f.version, title: f.title, hash: f.hash,
    xform_url: f.xform_url, media: f.media || [], entities: f.entities || null,
    xml: await res.text(), current: false,
  };
  await store.putForm(rec);
  return rec;
}
