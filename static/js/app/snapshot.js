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
// Used only where the first screen cannot depend on this person's data: a new
// questionnaire (not a draft, a correction or a household's visit) of a form without an
// entity list. The copy is checked against the form's version and attachments before it
// is painted, and compared with every fresh blank render (idle time), which replaces it
// when they differ (a new app version, `today()` in a note). Only a blank form is copied:
// never an answer.
import * as store from '../db.js';
import { h } from './util.js';

const KEY = (owner, formId) => `snapshot:${owner}:${formId}`;

// What a snapshot must match besides the form version: its attachments (a CSV of choices,
// pictures), which the server may replace.
export function mediaSignature(formRec) {
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

// A copy of a freshly drawn blank form's host, with what the DOM keeps only in properties
// (an input's value, a box's tick, a chosen option) written into attributes, and inline
// styles (set through the CSSOM: the Content-Security-Policy refuses style attributes)
// kept as data-snapshot-style; without what is hidden, and cut after its first
// KEEP_QUESTIONS shown questions. Serialize it with `.innerHTML`.
export function copyBlank(host) {
  const copy = host.cloneNode(true);
  const live = host.querySelectorAll('input, textarea, select');
  const copied = copy.querySelectorAll('input, textarea, select');
  for (let i = 0; i < live.length; i++) {
    const a = live[i];
    const b = copied[i];
    if (a.tagName === 'TEXTAREA') b.textContent = a.value;
    else if (a.tagName === 'SELECT') {
      for (const o of b.options) o.toggleAttribute('selected', o.value === a.value);
    } else if (a.type === 'radio' || a.type === 'checkbox') b.toggleAttribute('checked', a.checked);
    else if (a.type !== 'file') b.setAttribute('value', a.value);
  }
  for (const el of copy.querySelectorAll('[style]')) {
    el.dataset.snapshotStyle = el.getAttribute('style');
    el.removeAttribute('style');
  }
  for (const el of copy.querySelectorAll('[hidden]')) el.remove();
  const last = copy.querySelectorAll('.q')[KEEP_QUESTIONS - 1];
  for (let el = last; el && el !== copy; el = el.parentNode) {
    while (el.nextSibling) el.nextSibling.remove();
  }
  return copy;
}

// Keep `html` (a blank first screen) for the next open of this form by this person,
// unless it is what is kept already. Never throws: a copy is only a head start.
export async function keepSnapshot(owner, formRec, html, known = null) {
  if (known && known.html === html && known.version === formRec.version
      && known.media === mediaSignature(formRec)) return;
  try {
    await store.setMeta(KEY(owner, formRec.form_id), {
      version: formRec.version, media: mediaSignature(formRec), title: formRec.title, html, savedAt: Date.now(),
    });
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
  const host = h('div', { id: 'fieldapp-form', class: 'provisional' });
  host.innerHTML = snap.html; // our own renderer's blank output (labels set as text, escaped)
  for (const el of host.querySelectorAll('[data-snapshot-style]')) {
    el.style.cssText = el.dataset.snapshotStyle;
    delete el.dataset.snapshotStyle;
  }
  // What needs the engine waits for it.
  for (const el of host.querySelectorAll('button, select, input[type=search], input[type=file]')) el.disabled = true;
  viewEl.replaceChildren(
    h('div', { class: 'fill-top' }, h('a', { href: '#/', class: 'back-link' }, '← 返回'),
      h('span', { class: 'fill-title' }, formRec.title), h('span', { id: 'save-state', 'aria-live': 'polite' }, '正在准备…')),
    host);
  document.title = `${formRec.title} · 平安家庭`;
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
  const poke = () => { if (wake && !composing && !pressed) { wake(); wake = null; } };
  const onEdit = (e) => { const q = e.target.closest && e.target.closest('.q'); if (q) touched.add(q); };
  host.addEventListener('input', onEdit, true);
  host.addEventListener('change', onEdit, true);
  host.addEventListener('compositionstart', () => { composing = true; }, true);
  host.addEventListener('compositionend', () => { composing = false; poke(); }, true);
  host.addEventListener('pointerdown', () => { pressed = true; }, true);
  const onUp = () => { pressed = false; poke(); };
  for (const type of ['pointerup', 'pointercancel']) addEventListener(type, onUp, true);
  const dispose = () => { for (const type of ['pointerup', 'pointercancel']) removeEventListener(type, onUp, true); };

  return {
    snapshot: snap,
    attached: () => host.isConnected,
    dispose,
    // Resolves when no composition or tap is under way (at most `limit` ms later).
    settled(limit = 5000) {
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

const nextTask = () => new Promise((r) => setTimeout(r, 0));

// Put what was collected from the copy into the real form drawn in `host`, through each
// control's own events (input and change), one control per task as a person's taps would
// come. An answer whose question the real form does not show is left out (the question
// moved or went in a new version). Returns how many answers were put in.
export async function applyCollected(host, { answers, focus, scrollY }) {
  if (window.scrollY !== scrollY) window.scrollTo(0, scrollY);
  let put = 0;
  const focusTarget = () => {
    const q = focus && liveQuestion(host, focus.ref);
    if (!q) return null;
    if (focus.index >= 0) return textControls(q)[focus.index] || null;
    return [...q.querySelectorAll('input')].find((el) => el.value === focus.value) || null;
  };
  // The caret first (the person is typing there): put back before the next frame.
  const target = focusTarget();
  if (target) {
    target.focus({ preventScroll: true });
  }
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
      if (el !== document.activeElement) el.dispatchEvent(new Event('change', { bubbles: true }));
      put += 1;
    });
    for (const tick of a.ticks) {
      await nextTask(); // the list redraws after each tick (a cascade, a collapsed list)
      const box = [...q.querySelectorAll(`input[type=${tick.type}]`)].find((el) => el.value === tick.value);
      if (!box || box.checked === tick.checked || box.disabled) continue;
      box.checked = tick.checked;
      box.dispatchEvent(new Event('change', { bubbles: true }));
      put += 1;
    }
  }
  if (target && target.isConnected && focus.start !== null) {
    try { target.setSelectionRange(focus.start, focus.end); } catch { /* not a text box */ }
  }
  return put;
}
