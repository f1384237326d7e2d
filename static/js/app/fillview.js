// The fill view (#/new/<form_id>[?entity=<id>], #/draft/<instanceID>): the existing
// renderer over the engine, with every change saved at once as a draft in IndexedDB
// (instance XML + photos), and "完成并发送" moving the draft to the outbox. Loaded on
// demand: the engine is the large part of the app and the home screen does not need it.
// A new questionnaire may open over the form's kept first screen (snapshot.js), painted by
// the router while this code and the engine load: the real form replaces it when ready.
import * as store from '../db.js';
import { mediaBase } from '../sync.js';
import { letPageIn, openForm, restoreForm } from '../form/engine.js';
import { renderForm } from '../form/renderer.js';
import { setUILanguage, t } from '../i18n.js';
import { endPaths, nowWithOffset, stampEnd } from '../form/preload.js';
import { localListCSV } from './caselist.js';
import { withDeprecatedID } from './correct.js';
import { h, nextTask } from './util.js';
import { pickLanguage, problemCounter } from '../form/formnav.js';
import { applyCollected, keepSnapshot, screenHTML, snapshotAllowed } from './snapshot.js';

const SAVE_DELAY = 300;
const SAVE_IDLE = 1500;

// The time since `start` (performance.now()) kept as the performance measure `name`, the
// latest only: for bench/phone.py, each task of an autosave.
function took(name, start) {
  try {
    performance.clearMeasures(name);
    performance.measure(name, { start });
  } catch { /* no User Timing Level 3: not timed */ }
}

// `provisional`: a promise of the form's kept first screen painted by the router
// (snapshot.js), or of null; the real form takes its place, with what was typed in it.
// formRead / draftRead: the router's read of the form's record (a new questionnaire) or of
// the draft (promises; null when the router did not read them): not read twice.
// prepared: the router's early start of the engine on that record (settles once started).
export async function showFill(container, {
  owner, route, onFinalized, setNotice, provisional = null, formRead = null, draftRead = null,
  prepared = null,
}) {
  setUILanguage('zh');
  const saveState = h('span', { id: 'save-state', 'aria-live': 'polite' });
  const titleEl = h('span', { class: 'fill-title' });
  const host = h('div', { id: 'fieldapp-form' }, h('p', { class: 'form-status' }, '正在打开问卷…'));
  const error = h('div', { id: 'submit-error', role: 'alert', hidden: true });
  const btn = h('button', { type: 'button', id: 'finalize-btn' }, '完成并发送');
  const bar = h('div', { class: 'submit-bar' }, error, btn);
  bar.hidden = true;
  const top = h('div', { class: 'fill-top' }, h('a', { href: '#/', class: 'back-link' }, '← 返回'), titleEl, saveState);
  const prov = await provisional;
  if (!prov) container.replaceChildren(top, host, bar);
  // The kept first screen stays until the real form (or a failure) can take its place:
  // only while it is still on screen (another route may have replaced it).
  const takeOver = () => {
    if (prov) prov.dispose();
    if (!prov || !prov.attached()) return false;
    container.replaceChildren(top, host, bar);
    return true;
  };

  const fail = (text) => {
    takeOver();
    host.replaceChildren(h('p', { class: 'form-status form-status-error', role: 'alert' }, text),
      h('p', {}, h('a', { href: '#/', class: 'button' }, '回到首页')));
    return { dispose: async () => {} };
  };

  // Which draft, which form version.
  let draft = null;
  let formRec = null;
  if (route.kind === 'draft') {
    draft = await (draftRead || store.getDraft(owner, route.id));
    if (!draft) {
      const sent = await store.getOutbox(route.id);
      return fail(sent && sent.owner === owner ? '这份问卷已经完成，已放入发送箱。' : '找不到这份草稿（可能已在别处完成或删除）。');
    }
    formRec = await store.getForm(owner, draft.form_id, draft.version);
    if (!formRec) return fail('本机缺少这份草稿对应的问卷版本，请联网后再打开。');
  } else {
    formRec = (formRead && await formRead) || await store.currentForm(owner, route.id);
    if (!formRec) return fail('本机没有这份问卷，请联网同步后再试。');
  }
  titleEl.textContent = formRec.title;
  document.title = `${formRec.title} · 平安家庭`;

  const base = mediaBase(formRec.xform_url);
  // Entity lists (households.csv): the person's own list with their unsent work on top,
  // from IndexedDB (caselist.js), never a shared cached copy or the network.
  const lists = new Map((formRec.media || []).filter((m) => m.entity_list).map((m) => [m.filename, m.entity_list]));
  // Other form media: from Cache Storage first (offline), else the network.
  const fetchAttachment = async (href) => {
    const file = decodeURIComponent(new URL(href, location.href).pathname.split('/').pop());
    if (lists.has(file)) {
      return new Response(await localListCSV(owner, lists.get(file)), { headers: { 'Content-Type': 'text/csv' } });
    }
    if (typeof caches !== 'undefined') {
      const hit = await caches.match(href);
      if (hit) return hit;
    }
    return fetch(href, { credentials: 'same-origin' });
  };

  const known = { ...(draft && draft.files) }; // photos of the draft, by file name
  let preselectMissed = '';
  let form;
  let view;
  let collected = null; // typed or ticked in the kept first screen
  let keepBlank = false; // a blank new questionnaire: its first screen is kept (snapshot.js)
  try {
    if (draft) {
      const files = Object.entries(draft.files || {}).map(([name, blob]) => new File([blob], name, { type: blob.type }));
      form = await restoreForm(formRec.xml, draft.xml, files, { mediaBase: base, fetchAttachment });
    } else {
      // The instance the router started is taken, not a second one started beside it.
      if (prepared) await prepared;
      form = await openForm(formRec.xml, { mediaBase: base, fetchAttachment });
      // 记录走访 on a household (#/new/<form>?entity=<id>): that household chosen already.
      if (route.entity && !form.selectOffered(route.entity)) {
        preselectMissed = '本机的家庭列表里没有找到这个家庭，请在问卷中选择。';
      }
    }
    // A draft reopens in the form language it was left in (a Tibetan or English column
    // chosen in the form's language list); a new questionnaire follows the page's.
    if (draft && draft.language && form.languages().includes(draft.language)) form.setLanguage(draft.language);
    else pickLanguage(form);
    performance.mark('fieldapp:engine-ready');
    if (prov) {
      // A tap on the copy waiting since the engine's last long task is handled first;
      // then not in the middle of a pinyin composition or a tap.
      await letPageIn();
      if (prov.attached()) await prov.settled();
      // Collected even when another screen replaced the copy (← 返回 tapped while the
      // engine started): what was typed in it is then kept in a draft, not lost.
      collected = prov.collect();
      takeOver();
    }
    view = renderForm(form, host, { mediaBase: base });
    performance.mark('fieldapp:form-drawn');
    requestAnimationFrame(() => setTimeout(() => performance.mark('fieldapp:form-painted'), 0));
    if (draft) view.restoreTyped(draft.typed);
    keepBlank = snapshotAllowed(formRec, route) && !preselectMissed;
  } catch (err) {
    console.error(err);
    return fail(`问卷打开失败：${err && err.message ? err.message : err}`);
  }
  bar.hidden = false;
  const { showError, ready } = problemCounter(host, view, form, error, t);
  if (preselectMissed) host.prepend(h('p', { class: 'notice notice-warn', role: 'status' }, preselectMissed));
  // A correction of a sent record (correct.js): sent again as the new version of it.
  const replaces = (draft && draft.deprecatedID) || '';
  if (replaces) {
    host.prepend(h('p', { class: 'notice correction-notice', role: 'status' },
      '您在修改一份已发送的问卷。改好后点“完成并发送”，服务器会保存为这份问卷的新版本（原来的版本留作记录）。'));
  }
  const payload = () => {
    const p = form.payload(known);
    return { ...p, xml: withDeprecatedID(p.xml, replaces) };
  };

  // ---- autosave ----
  let draftId = draft ? draft.id : form.instanceID();
  let exists = !!draft;
  let lastXml = withDeprecatedID(form.submissionXML(), replaces);
  let lastFiles = '';
  let lastTyped = JSON.stringify(view.typed());
  let lastLanguage = form.activeLanguage();
  let stopped = false;
  let timer = null;
  let pending = false;
  let chain = Promise.resolve();
  saveState.textContent = draft ? '已保存' : '';

  function stop(message) {
    stopped = true;
    clearTimeout(timer);
    btn.disabled = true;
    host.inert = true;
    showError(message);
  }

  async function doSave(force, urgent) {
    if (stopped) return;
    // In three tasks, so that a tap or a key waits for one of them at most: the instance's
    // serialization, one walk over its questions (files, progress, summary), the first
    // screen's copy and the write (a draft of 150 repeat instances took ~36 ms in one task
    // at 4× CPU throttling). What changes between them is saved by the next save, which
    // that change schedules. `urgent` (the page is being hidden or left, and may be frozen
    // or killed next): in one go, the write started in this task.
    const pause = urgent ? async () => {} : nextTask;
    const t0 = performance.now();
    const xml = withDeprecatedID(form.submissionXML(), replaces);
    took('fieldapp:save-xml', t0);
    await pause();
    if (stopped) return;
    const t1 = performance.now();
    const scanned = form.scan(known);
    const { files } = scanned;
    const names = files.map((f) => `${f.name}:${f.size}`).join('|');
    const typed = view.typed(); // numbers typed that do not parse: kept with their error
    const typedKey = JSON.stringify(typed);
    const same = xml === lastXml && typedKey === lastTyped;
    // Only a draft keeps its language: switching it in a form not yet answered saves nothing.
    const language = form.activeLanguage();
    if (!force && exists && same && names === lastFiles && language === lastLanguage) { saveState.textContent = '已保存'; return; }
    if (!force && !exists && same && !files.length) return; // untouched new form: no draft yet
    const progress = form.progress(scanned);
    const summary = form.summary(xml, scanned);
    took('fieldapp:save-scan', t1);
    await pause();
    if (stopped) return;
    const t2 = performance.now();
    const put = store.saveDraft({
      id: draftId, owner, form_id: formRec.form_id, version: formRec.version,
      title: replaces ? draft.title : formRec.title,
      xml, files: Object.fromEntries(files.map((f) => [f.name, f])), progress, summary,
      typed, language, ...(replaces ? { deprecatedID: replaces, correctUntil: draft.correctUntil || null } : {}),
      // Its first screen as now, answers and all, painted when the draft is reopened
      // while the engine restores it (snapshot.js); written with the draft, so never older.
      screen: screenHTML(host),
    }, { mustExist: exists });
    took('fieldapp:save-write', t2); // the copy, and the write as far as it goes in this task
    const r = await put;
    if (r === 'saved') {
      lastXml = xml;
      lastFiles = names;
      lastTyped = typedKey;
      lastLanguage = language;
      if (!exists) {
        exists = true;
        // A reload now resumes this draft instead of starting another one (unless another
        // screen is shown now: a draft saved as its copy was left, see applyCollected).
        if (host.isConnected) history.replaceState(null, '', `#/draft/${encodeURIComponent(draftId)}`);
      }
      saveState.textContent = '已保存';
    } else if (r === 'finalized') {
      stop('这份问卷已在另一个窗口完成并放入发送箱，本页不再修改。');
    } else {
      stop('这份草稿已在另一个窗口删除，本页不再保存。');
    }
  }

  function save(force = false, urgent = false) {
    clearTimeout(timer);
    if (!pending && !force) return chain;
    pending = false;
    chain = chain.then(() => doSave(force, urgent)).catch((err) => {
      console.error(err);
      saveState.textContent = '保存失败！';
      showError(`保存失败：${err && err.message ? err.message : err}。请不要关闭本页，稍后再试。`);
    });
    return chain;
  }
  function schedule() {
    if (stopped) return;
    pending = true;
    saveState.textContent = '正在保存…';
    clearTimeout(timer);
    // Then when the page is idle (at most SAVE_IDLE ms later), so that serializing a long
    // draft does not land inside the next tap; leaving the page saves at once (flush).
    timer = setTimeout(() => {
      if (typeof requestIdleCallback === 'function') requestIdleCallback(() => save(), { timeout: SAVE_IDLE });
      else save();
    }, SAVE_DELAY);
  }
  // Engine changes land in a microtask; save after them.
  const onEdit = () => queueMicrotask(schedule);
  host.addEventListener('input', onEdit);
  host.addEventListener('change', onEdit);
  host.addEventListener('click', (e) => { if (e.target.closest('button')) onEdit(); });
  const flush = () => { if (pending) save(false, true); };
  const onVisibility = () => { if (document.visibilityState === 'hidden') flush(); };
  document.addEventListener('visibilitychange', onVisibility);
  addEventListener('pagehide', flush);

  // ---- finalize ----

  btn.addEventListener('click', async () => {
    if (stopped) return;
    if (!ready()) return;
    btn.disabled = true;
    btn.textContent = '正在放入发送箱…';
    try {
      pending = true;
      await save(true); // the draft must exist (and be current) before it moves
      if (stopped) return;
      const { xml, files, missing } = payload();
      if (missing.length) throw new Error(`照片文件缺失（${missing.join('、')}），请重拍`);
      // `end` is stamped once, here: every re-send of this outbox item is identical XML.
      const finalXml = stampEnd(xml, endPaths(formRec.xml), nowWithOffset());
      await store.finalize(owner, draftId, finalXml, Object.fromEntries(files.map((f) => [f.name, f])),
        { entities: formRec.entities || null });
      stopped = true;
      setNotice('问卷已完成，已放入发送箱。有网络时会自动发送，请留意“待发送”变为“已发送”。');
      onFinalized();
      location.hash = '#/';
    } catch (err) {
      if (err instanceof store.FinalizeError) {
        stop('这份问卷已在另一个窗口完成并放入发送箱（只会发送一次）。');
        return;
      }
      console.error(err);
      btn.disabled = false;
      btn.textContent = '完成并发送';
      showError(`未能放入发送箱：${err && err.message ? err.message : err}。答案仍保存在草稿中。`);
    }
  });

  // The first screen is kept for the next open once the page is idle, if it is still
  // blank then (nothing typed, ticked or switched since it was drawn).
  if (keepBlank) {
    let touched = false;
    const onTouch = () => { touched = true; };
    for (const type of ['input', 'change']) host.addEventListener(type, onTouch, { capture: true, once: true });
    const keep = () => {
      if (touched || stopped || !host.isConnected) return;
      keepSnapshot(owner, formRec, screenHTML(host), prov ? prov.snapshot : null);
    };
    if (typeof requestIdleCallback === 'function') requestIdleCallback(keep, { timeout: 3000 });
    else setTimeout(keep, 1000);
  }
  // What was typed in the kept first screen goes into the real form (and the draft).
  if (collected) await applyCollected(host, collected, { reveal: (ref) => view.reveal(ref) });

  return {
    async dispose() {
      document.removeEventListener('visibilitychange', onVisibility);
      removeEventListener('pagehide', flush);
      await save();
      stopped = true;
      form.release(); // the next questionnaire of this form may reuse the form as read
    },
  };
}


