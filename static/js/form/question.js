// One leaf question: its DOM shell (label, hint, widget, message) and the update
// that syncs it with the engine's state. Markup contract (tests rely on it):
//   <div class="q q-<type>" data-name data-ref>
//     <div class="q-title"><label class="q-label" for=…>text</label><span class="required-mark">*</span></div>
//     <div class="hint">…</div>  widget  <div class="constraint-msg" role="alert">
import { t } from '../i18n.js';
import { parseNumber, sameNumber } from './numbers.js';
import { createChoices } from './choices.js';
import { createGeopoint, createPhoto } from './media.js';

// Input types and how their engine string maps onto the HTML control's value.
const INPUTS = {
  text: { type: 'text', show: (v) => v },
  barcode: { type: 'text', show: (v) => v },
  integer: { type: 'text', mode: 'numeric', show: (v) => v },
  decimal: { type: 'text', mode: 'decimal', show: (v) => v },
  date: { type: 'date', show: (v) => v.slice(0, 10) },
  time: { type: 'time', show: (v) => v.slice(0, 5), toEngine: (v) => v && `${v.slice(0, 5)}:00.000${offset(new Date())}` },
  datetime: {
    type: 'datetime-local', show: (v) => v.slice(0, 16),
    toEngine: (v) => v && `${v.slice(0, 16)}:00.000${offset(new Date(v))}`,
  },
};

// The phone's UTC offset at that moment, "+08:00": the engine rejects "09:30"
// without seconds, and ODK Collect writes times with their offset.
function offset(date) {
  const m = -date.getTimezoneOffset();
  const pad = (n) => String(Math.floor(n)).padStart(2, '0');
  return `${m < 0 ? '-' : '+'}${pad(Math.abs(m) / 60)}:${pad(Math.abs(m) % 60)}`;
}

let counter = 0;

export function createQuestion(form, node, kind, ctx) {
  // Ids count from 1 in each drawn form (ctx.nextId), so that the same blank form draws
  // the same HTML every time (app/snapshot.js compares them).
  const id = ctx.nextId ? ctx.nextId() : `q${++counter}`;
  const el = document.createElement('div');
  el.className = `q q-${kind}`;
  el.dataset.name = form.name(node);
  el.dataset.ref = form.ref(node);
  if (kind === 'calculate') {
    // Calculations (and other model-only values) have nothing to show.
    el.hidden = true;
    return { element: el, update() {}, localError: () => '' };
  }

  // The question's insides are made the first time it is relevant: a form hides most
  // of its questions at the start, and those (often most of a long survey) then cost
  // one empty element each until they are shown.
  let parts = null; // { labelText, mark, image, hint, msg, widget }
  let localError = ''; // our own parse error: the question holds no answer meanwhile

  function build() {
    const label = document.createElement('label');
    label.className = 'q-label';
    label.id = `${id}-label`;
    const labelText = document.createElement('span');
    labelText.className = 'label-text';
    const mark = document.createElement('span');
    mark.className = 'required-mark';
    mark.setAttribute('aria-hidden', 'true');
    mark.textContent = '*';
    label.append(labelText);
    // The mark sits beside the <label>, not in it, so get_by_label('年龄', exact=True)
    // and screen readers see the question text alone.
    const title = document.createElement('div');
    title.className = 'q-title';
    title.append(label, mark);
    const image = document.createElement('img');
    image.className = 'label-image';
    image.alt = '';
    image.hidden = true;
    // A file not uploaded (or not reachable offline): no broken-image box, until another file.
    image.addEventListener('error', () => { image.dataset.failed = image.dataset.src || ''; image.hidden = true; });
    const hint = document.createElement('div');
    hint.className = 'hint';
    const msg = document.createElement('div');
    msg.className = 'constraint-msg';
    msg.setAttribute('role', 'alert');
    msg.hidden = true;
    el.append(title, image, hint);

    let widget = null; // { element, update(readonly), focusTarget() }
    const spec = INPUTS[kind];
    if (kind === 'select_one' || kind === 'select_multiple') {
      widget = createChoices(form, node, id, label.id, ctx.mediaURL);
    } else if (kind === 'image') {
      widget = createPhoto(form, node, id);
      label.htmlFor = id;
    } else if (kind === 'geopoint') {
      // Not label.htmlFor: the button's own words ("获取位置") must stay its accessible name.
      widget = createGeopoint(form, node, id);
    } else if (spec) {
      widget = createInput(form, node, kind, spec, id, (e) => { localError = e; update(); });
      label.htmlFor = id;
    } else if (kind !== 'note') {
      const notice = document.createElement('p');
      notice.className = 'unsupported-type';
      notice.textContent = t('该题型暂不支持：{type}', { type: kind });
      el.append(notice);
    }
    if (widget) el.append(widget.element);
    el.append(msg);
    return { labelText, mark, image, hint, msg, widget };
  }

  // The skip rule (skipTracker), kept by the renderer while the question was not drawn.
  const skip = ctx.skip ? ctx.skip(node) : skipTracker(form, node);
  function update() {
    const relevant = skip();
    el.hidden = !relevant;
    if (el.hidden) return;
    if (!parts) parts = build();
    const { labelText, mark, image, hint, msg, widget } = parts;
    labelText.textContent = kind === 'note' ? form.noteText(node) : form.label(node);
    const src = form.imageSource(node);
    image.hidden = !src || image.dataset.failed === src;
    if (src && image.dataset.src !== src) { image.dataset.src = src; image.src = ctx.mediaURL(src); }
    const hintText = form.hint(node);
    hint.textContent = hintText;
    hint.hidden = !hintText || kind === 'note';
    const required = form.required(node);
    mark.hidden = !required;
    if (widget) widget.update(form.readonly(node));
    let message = localError ? t(localError) : form.constraintError(node, t('答案不符合要求'));
    if (!message && ctx.showRequired && form.requiredMissing(node)) message = t('此题必答');
    msg.textContent = message;
    msg.hidden = !message;
    el.classList.toggle('q-invalid', !!message);
  }

  const widget = () => parts && parts.widget;
  return {
    element: el,
    update,
    localError: () => (el.hidden ? '' : localError),
    // What the person typed that is not an answer yet (a number that did not parse).
    typed: () => (localError && widget() && widget().typed ? widget().typed() : ''),
    restoreTyped: (text) => { const w = widget(); if (w && w.restoreTyped) w.restoreTyped(text); },
    focus: () => { const w = widget(); const f = w && w.focusTarget(); if (f) f.focus({ preventScroll: true }); },
  };
}

// A question that is skipped (turns non-relevant) loses its answer, here as in what
// is saved and sent: the engine leaves non-relevant answers out of the draft and the
// submission, so keeping them on screen would bring back, after a tap, an answer that
// a reopened draft no longer has. One rule everywhere: skipped means cleared.
// (The engine shows no value for a non-relevant node: whether it had one is known
// from the last look while it was relevant.) Returns a check to call on every change of
// the node's state; it returns whether the node is relevant. Calling it twice for one
// change does nothing more (a question not drawn yet is watched by the renderer, then
// also by its own update once drawn).
export function skipTracker(form, node) {
  let wasRelevant = null;
  let hadAnswer = false;
  return function check() {
    const relevant = form.relevant(node);
    if (wasRelevant && !relevant && hadAnswer) queueMicrotask(() => form.clear(node));
    wasRelevant = relevant;
    hadAnswer = relevant && form.hasAnswer(node);
    return relevant;
  };
}

function createInput(form, node, kind, spec, id, setLocalError) {
  const multiline = kind === 'text' && form.appearances(node).includes('multiline');
  const input = document.createElement(multiline ? 'textarea' : 'input');
  input.id = id;
  if (!multiline) input.type = spec.type;
  if (spec.mode) input.inputMode = spec.mode;
  input.autocomplete = 'off';
  const numeric = kind === 'integer' || kind === 'decimal';

  // Numbers are committed while typing when they parse, so calculations and skip
  // logic follow at once; the error message waits for `change` unless clearly wrong.
  // Text that does not parse ("1.2.3") leaves the question without an answer, never
  // with the shorter number that parsed on the way ("1.2"): the draft keeps the typed
  // text and its error (`typed()`), and finalize stays blocked until it is fixed.
  function commit(final) {
    if (numeric) {
      const r = parseNumber(input.value, kind);
      if (r.ok) {
        form.setValue(node, r.value);
        if (final) input.value = r.value; // show "35" for a typed full-width "３５"
        setLocalError('');
      } else if (final || !r.incomplete) {
        if (form.value(node) !== '') form.setValue(node, '');
        setLocalError(r.error);
      }
      return;
    }
    form.setValue(node, spec.toEngine ? spec.toEngine(input.value) : input.value);
  }
  input.addEventListener('input', () => commit(false));
  input.addEventListener('change', () => commit(true));

  function update(readonly) {
    input.readOnly = readonly;
    const stored = spec.show(form.value(node));
    if (input.value === stored) return;
    if (numeric) {
      // Keep what the person typed: while typing, a rejected "abc" (shown with its
      // message), and "2" when the engine stores "2.0".
      if (document.activeElement === input) return;
      if (!parseNumber(input.value, kind).ok || sameNumber(input.value, stored)) return;
    }
    if (kind === 'text' && document.activeElement === input) return; // never move the caret
    input.value = stored;
  }

  // The text of a box whose number did not parse, to keep in the draft; and putting
  // such text back when the draft is reopened (its error comes back with it).
  const typed = () => (numeric ? input.value : '');
  function restoreTyped(text) {
    input.value = text;
    commit(true);
  }

  return { element: input, update, focusTarget: () => input, typed, restoreTyped };
}
