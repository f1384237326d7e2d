// The first screen of a new questionnaire, shown before the form engine is ready (issue 12,
// warm open). Opening a form costs ODK's engine its whole `createInstance` (0.5–1 s on a
// 200-question form on a cheap phone) before anything can be drawn. The blank form's
// first screen is the same every time, so the fill view keeps a copy of it (its HTML, per
// person and form, in IndexedDB's `meta` store) and the next open paints that copy at once.
// It is answerable as plain HTML: a mediator can type and tick; a tap that needs the engine
// (add a household member, take a photo, filter a long list, switch language) waits, its
// button disabled. When the engine is ready the fill view draws the real form in its place,
// in the same task, and puts what was typed or ticked there through the questions' own
// handlers (so skip logic, calculations and the draft follow), keeping the caret and the
// scroll position. An answer never waits on the copy: it is only ever a head start.
//
// A blank form's copy is used only where the first screen cannot depend on this person's
// data: a new questionnaire (not a household's visit) of a form without an entity list. It
// is checked against the form's version and attachments before it is painted, and
// compared with every fresh blank render (idle time), which replaces it when they differ
// (a new app version, `today()` in a note); it never holds an answer. A draft has its own
// copy: its first screen as last saved, answers and all, kept in the draft's record
// (written with it, gone with it: fillview.js), painted the same way while it is restored.
//
// The blank copy is also mirrored in localStorage, with the name of the person last
// known on this phone, so that a reload of #/new/<form_id> paints it in the app's first
// task, before IndexedDB is even opened (paintEarly); the router then checks it against
// the person and the form's record (takeEarly) and drops it when it does not match. The
// home screen drops mirrors of versions no longer current (dropStaleCopies), logging out
// drops the person's (forgetCopies). A phone without localStorage (or full) simply paints
// the copy from IndexedDB, a little later.
import * as store from '../db.js';
import { h, nextTask } from './util.js';

const KEY = (owner, formId) => `snapshot:${owner}:${formId}`;
const MIRROR = (owner, formId) => `fieldapp:first-screen:${owner}:${formId}`;
const OWNER = 'fieldapp:owner';

function local() {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null; // storage refused (a browser setting)
  }
}

function mirrorCopy(owner, formId, kept) {
  const ls = local();
  if (!ls) return;
  try {
    ls.setItem(MIRROR(owner, formId), JSON.stringify(kept));
  } catch {
    try { ls.removeItem(MIRROR(owner, formId)); } catch { /* nothing kept */ }
  }
}

function readMirror(owner, formId) {
  const ls = local();
  if (!ls || !owner) return null;
  try {
    const kept = JSON.parse(ls.getItem(MIRROR(owner, formId)) || 'null');
    return kept && typeof kept.html === 'string' && kept.version != null ? kept : null;
  } catch {
    return null;
  }
}

function dropMirror(owner, formId) {
  try { local()?.removeItem(MIRROR(owner, formId)); } catch { /* nothing to drop */ }
}

// The person now using the app (null: nobody), for the next start's early paint.
export function rememberOwner(username) {
  const ls = local();
  if (!ls) return;
  try {
    if (username) { if (ls.getItem(OWNER) !== username) ls.setItem(OWNER, username); } else ls.removeItem(OWNER);
  } catch { /* no early paint then */ }
}

// Logging out: the person's mirrored copies go (their forms leave the phone too).
export function forgetCopies(owner) {
  const ls = local();
  if (!ls) return;
  try {
    const prefix = MIRROR(owner, '');
    const keys = [];
    for (let i = 0; i < ls.length; i += 1) {
      const k = ls.key(i);
      if (k && k.startsWith(prefix)) keys.push(k);
    }
    for (const k of keys) ls.removeItem(k);
    if (ls.getItem(OWNER) === owner) ls.removeItem(OWNER);
  } catch { /* nothing to forget */ }
}

// The home screen, with the person's current forms: a mirrored copy of a version (or of
// attachments) no longer current goes, so that the next open does not flash it.
export function dropStaleCopies(owner, forms) {
  for (const f of forms) {
    const kept = readMirror(owner, f.form_id);
    if (kept && (kept.version !== f.version || kept.media !== mediaSignature(f))) dropMirror(owner, f.form_id);
  }
}

// What a snapshot must match besides the form version: its attachments (a CSV of choices,
// pictures), which the server may replace.
function mediaSignature(formRec) {
  return (formRec.media || []).map((m) => `${m.filename}:${m.hash || ''}`).join('|');
}

// Whether a new questionnaire of `formRec` may use (and leave) a first-screen copy.
export function snapshotAllowed(formRec, route) {
  return !!formRec && route.kind === 'new' && !route.entity
    && !(formRec.media || []).some((m) => m.entity_list);
}

// How many shown questions a copy keeps: about three screens, more than can be answered
// before the engine is ready; a smaller copy is painted sooner.
const KEEP_QUESTIONS = 20;

// The first screen of the form drawn in `host`, as HTML: its first KEEP_QUESTIONS shown
// questions and what comes before them, nothing hidden; what the DOM keeps only in
// properties (an input's value, a box's tick, a chosen option) written into attributes,
// and inline styles (set through the CSSOM: the Content-Security-Policy refuses style
// attributes) kept as data-snapshot-style. Only that part of the page is copied, so a
// draft of 150 household members costs what a blank form does.
export function screenHTML(host) {
  const budget = { left: KEEP_QUESTIONS };
  const copy = document.createElement('div');
  for (const child of host.childNodes) {
    if (budget.left <= 0) break;
    const c = copyNode(child, budget);
    if (c) copy.append(c);
  }
  return copy.innerHTML;
}

function copyNode(node, budget) {
  if (node.nodeType !== Node.ELEMENT_NODE) return node.nodeType === Node.TEXT_NODE ? node.cloneNode(false) : null;
  if (node.hidden) return null;
  const c = node.cloneNode(false);
  if (node.tagName === 'TEXTAREA') c.textContent = node.value;
  else if (node.tagName === 'INPUT') {
    if (node.type === 'radio' || node.type === 'checkbox') c.toggleAttribute('checked', node.checked);
    else if (node.type !== 'file') c.setAttribute('value', node.value);
  } else if (node.tagName === 'OPTION') {
    c.toggleAttribute('selected', node.selected);
  }
  if (c.hasAttribute('style')) {
    c.dataset.snapshotStyle = c.getAttribute('style');
    c.removeAttribute('style');
  }
  if (node.tagName !== 'TEXTAREA') {
    for (const child of node.childNodes) {
      if (budget.left <= 0) break;
      const cc = copyNode(child, budget);
      if (cc) c.append(cc);
    }
  }
  if (node.classList.contains('q')) budget.left -= 1;
  return c;
}

// Keep `html` (a blank first screen) for the next open of this form by this person,
// unless it is what is kept already. Never throws: a copy is only a head start.
export async function keepSnapshot(owner, formRec, html, known = null) {
  const same = known && known.html === html && known.version === formRec.version
    && known.media === mediaSignature(formRec) && known.title === formRec.title;
  if (same && readMirror(owner, formRec.form_id)) return;
  const kept = { version: formRec.version, media: mediaSignature(formRec), title: formRec.title, html };
  mirrorCopy(owner, formRec.form_id, kept);
  if (same) return;
  try {
    await store.setMeta(KEY(owner, formRec.form_id), { ...kept, savedAt: Date.now() });
  } catch (err) {
    console.warn('fieldapp: first screen not kept', err);
  }
}

// Paint the kept first screen of form `formId` into `viewEl` (the fill view's layout: its
// top bar and #fieldapp-form marked .provisional) when it matches the form's version and
// attachments (`formRead`: a promise of the form's record, read meanwhile). Resolves, once
// that screen has been painted (the engine's start, one long task, must not hold back
// its frame), to a handle for the fill view; or to null when nothing was painted.
export async function paintSnapshot(viewEl, owner, formId, formRead, route, stillWanted = () => true) {
  let snap;
  let formRec;
  try {
    [snap, formRec] = await Promise.all([store.getMeta(KEY(owner, formId)), formRead]);
  } catch {
    return null;
  }
  performance.mark('fieldapp:first-screen-read');
  if (!snapshotAllowed(formRec, route)) return null;
  if (!snap || snap.version !== formRec.version || snap.media !== mediaSignature(formRec)) return null;
  if (!stillWanted()) return null;
  return paintCopy(viewEl, formRec.title, snap.html, snap);
}

// At start-up, on a reload of #/new/<formId>: paint the mirrored copy of the person last
// known on this phone at once (before IndexedDB is read). Returns null, or
// { owner, formId, snap, painted } where `painted` resolves to the copy's handle once
// painted; the router takes it with takeEarly.
export function paintEarly(viewEl, formId) {
  let owner = null;
  try { owner = local()?.getItem(OWNER) || null; } catch { return null; }
  const snap = readMirror(owner, formId);
  if (!snap) return null;
  performance.mark('fieldapp:first-screen-read');
  document.body.classList.add('filling');
  return { owner, formId, snap, painted: paintCopy(viewEl, snap.title, snap.html, snap) };
}

// The router's check of an early copy, once the person and the form's record are known:
// the same person, a new questionnaire that may use a copy, the form's current version
// and attachments. Resolves to the copy's handle, or (it does not match) to null after
// putting `placeholder` in its place; a copy already typed in is handed over all the
// same, as the kept copy would be (what was typed goes into the questions the real form
// has).
export async function takeEarly(early, { viewEl, owner, formRead, route, placeholder }) {
  const handle = await early.painted;
  let formRec = null;
  try { formRec = await formRead; } catch { /* the fill view reports it */ }
  const fits = early.owner === owner && route.kind === 'new' && route.id === early.formId
    && snapshotAllowed(formRec, route) && early.snap.version === formRec.version
    && early.snap.media === mediaSignature(formRec);
  if (fits || handle.touched()) return handle;
  handle.dispose();
  dropMirror(early.owner, early.formId);
  if (handle.attached()) viewEl.replaceChildren(placeholder());
  return null;
}

// A draft's first screen as it was last saved (its answers in it: the draft record holds
// both, written together, see fillview.js), painted in the same way while the draft's
// instance is restored. Resolves to a handle, or null.
export async function paintDraftCopy(viewEl, draftRead, stillWanted = () => true) {
  let draft;
  try {
    draft = await draftRead; // the router's read, which the fill view takes too
  } catch {
    return null;
  }
  performance.mark('fieldapp:first-screen-read');
  if (!draft || typeof draft.screen !== 'string' || !draft.screen || !stillWanted()) return null;
  return paintCopy(viewEl, draft.title, draft.screen, null);
}

async function paintCopy(viewEl, title, html, snap) {
  const host = h('div', { id: 'fieldapp-form', class: 'provisional' });
  host.innerHTML = html; // our own renderer's output (labels and answers set as text, escaped)
  for (const el of host.querySelectorAll('[data-snapshot-style]')) {
    el.style.cssText = el.dataset.snapshotStyle;
    delete el.dataset.snapshotStyle;
  }
  // What needs the engine waits for it.
  for (const el of host.querySelectorAll('button, select, input[type=search], input[type=file]')) el.disabled = true;
  viewEl.replaceChildren(
    h('div', { class: 'fill-top' }, h('a', { href: '#/', class: 'back-link' }, '← 返回'),
      h('span', { class: 'fill-title' }, title), h('span', { id: 'save-state', 'aria-live': 'polite' }, '正在准备…')),
    host);
  document.title = `${title} · 平安家庭`;
  performance.mark('fieldapp:first-screen-copy');
  const handle = provisional(host, snap);
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  performance.mark('fieldapp:first-screen-painted');
  return handle;
}

function provisional(host, snap) {
  const touched = new Set(); // .q elements typed or ticked in
  let composing = false; // an input method (pinyin) is composing: the swap waits for it
  let pressed = false; // a finger is down: the swap waits for the tap to end
  let wake = null;
  // After the task that ends a tap or a composition: the tap's click (a choice ticked)
  // and the composed word's input land on the copy first.
  const poke = () => setTimeout(() => { if (wake && !composing && !pressed) { wake(); wake = null; } }, 0);
  const onEdit = (e) => { const q = e.target.closest && e.target.closest('.q'); if (q) touched.add(q); };
  host.addEventListener('input', onEdit, true);
  host.addEventListener('change', onEdit, true);
  host.addEventListener('compositionstart', () => { composing = true; }, true);
  // A composition ends with compositionend, or when its box loses focus.
  for (const type of ['compositionend', 'focusout']) host.addEventListener(type, () => { composing = false; poke(); }, true);
  host.addEventListener('pointerdown', () => { pressed = true; }, true);
  const onUp = () => { pressed = false; poke(); };
  for (const type of ['pointerup', 'pointercancel']) addEventListener(type, onUp, true);
  const dispose = () => { for (const type of ['pointerup', 'pointercancel']) removeEventListener(type, onUp, true); };

  return {
    snapshot: snap,
    attached: () => host.isConnected,
    dispose,
    // Whether anything was typed or ticked in it.
    touched: () => touched.size > 0,
    // Resolves when no composition or tap is under way (at most `limit` ms later: a
    // composition ends at the latest when its box loses focus).
    settled(limit = 60000) {
      if (!composing && !pressed) return Promise.resolve();
      return new Promise((resolve) => {
        wake = resolve;
        setTimeout(() => { wake = null; resolve(); }, limit);
      });
    },
    // What was typed or ticked, the focused control and the scroll position, for `apply`.
    collect() {
      dispose();
      const answers = [];
      for (const q of host.querySelectorAll('.q')) {
        if (!touched.has(q)) continue;
        const texts = textControls(q).map((el) => el.value);
        const ticks = [...q.querySelectorAll('input[type=radio], input[type=checkbox]')]
          .map((el) => ({ type: el.type, value: el.value, checked: el.checked }));
        answers.push({ ref: q.dataset.ref, texts, ticks });
      }
      let focus = null;
      const active = document.activeElement;
      const q = active && host.contains(active) && active.closest('.q');
      if (q) {
        const i = textControls(q).indexOf(active);
        let start = null;
        let end = null;
        try { start = active.selectionStart; end = active.selectionEnd; } catch { /* a date box has none */ }
        focus = { ref: q.dataset.ref, index: i, value: i < 0 ? active.value : null, start, end };
      }
      return { answers, focus, scrollY: window.scrollY };
    },
  };
}

function textControls(q) {
  return [...q.querySelectorAll('input:not([type=radio]):not([type=checkbox]):not([type=search]):not([type=file]), textarea')];
}

function liveQuestion(host, ref) {
  for (const q of host.querySelectorAll('.q')) if (q.dataset.ref === ref) return q;
  return null;
}

// Put what was collected from the copy into the real form drawn in `host`, through each
// control's own events (input and change), one control per task as a person's taps would
// come. An answer whose question the real form does not show is left out (the question
// moved or went in a new version). `reveal(ref)`: draws the question at `ref` if it is in
// a repeat instance not drawn yet (renderer.js). Returns how many answers were put in.
export async function applyCollected(host, { answers, focus, scrollY }, { reveal = () => {} } = {}) {
  const shown = host.isConnected; // else the route changed: kept in the draft only
  if (shown && window.scrollY !== scrollY) window.scrollTo(0, scrollY);
  let put = 0;
  for (const a of answers) reveal(a.ref);
  if (focus) reveal(focus.ref);
  // In this task, the one that put the real form in place: texts first, then the caret,
  // so that keys typed from now on land after what was typed in the copy.
  for (const a of answers) {
    const q = liveQuestion(host, a.ref);
    if (!q || q.hidden) continue;
    const texts = textControls(q);
    a.texts.forEach((value, i) => {
      const el = texts[i];
      if (!el || el.value === value || el.readOnly || el.disabled) return;
      el.value = value;
      el.dispatchEvent(new Event('input', { bubbles: true }));
      // The focused box keeps being typed in: its own change event comes when it is left.
      if (!(focus && focus.ref === a.ref && focus.index === i)) el.dispatchEvent(new Event('change', { bubbles: true }));
      put += 1;
    });
  }
  let target = null;
  if (shown && focus) {
    const q = liveQuestion(host, focus.ref);
    if (q && focus.index >= 0) target = textControls(q)[focus.index] || null;
    else if (q) target = [...q.querySelectorAll('input')].find((el) => el.value === focus.value) || null;
  }
  if (target) {
    target.focus({ preventScroll: true });
    if (focus.start !== null) {
      try { target.setSelectionRange(focus.start, focus.end); } catch { /* not a text box */ }
    }
  }
  // Then the ticks, one per task as taps come (a list redraws after each: a cascade, a
  // collapsed long list).
  for (const a of answers) {
    for (const tick of a.ticks) {
      await nextTask();
      const q = liveQuestion(host, a.ref);
      if (!q || q.hidden) break;
      const box = [...q.querySelectorAll(`input[type=${tick.type}]`)].find((el) => el.value === tick.value);
      if (!box || box.checked === tick.checked || box.disabled) continue;
      box.checked = tick.checked;
      box.dispatchEvent(new Event('change', { bubbles: true }));
      put += 1;
    }
  }
  // What those answers showed above the box being typed in may have pushed it down,
  // under the bottom bar: bring it back into view.
  if (target && target.isConnected && document.activeElement === target) {
    const r = target.getBoundingClientRect();
    const bar = document.querySelector('.submit-bar');
    const bottom = bar ? Math.min(innerHeight, bar.getBoundingClientRect().top) : innerHeight;
    if (r.top < 0 || r.bottom > bottom) target.scrollIntoView({ block: 'center' });
  }
  return put;
}
