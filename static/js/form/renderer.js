// Our light renderer: turns the engine's node tree into plain DOM, once, and then
// patches only the nodes the engine reports as changed (see reactive.js).
// Groups -> <fieldset><legend>; repeats -> a list of .repeat-instance fieldsets with
// "添加一项" / "删除此项" buttons; leaves -> question.js.
//
// A long repeat (a reopened draft of 150 household members) is drawn lazily: each
// instance starts as its fieldset with its legend ("家庭成员 第 37 项") and the height of
// a drawn one, and its questions are drawn when it comes near the screen (and at once
// when something needs them: a problem finalize points to, typed text to put back).
// Until then the engine keeps its state; drawing reads the state of that moment.
import { t } from '../i18n.js';
import { createQuestion, skipTracker } from './question.js';
import { mediaURL } from './engine.js';

// A repeat gets more instances than this at once (on opening, or from a repeat_count):
// they are drawn lazily. Fewer are drawn at once, as is an instance a person adds.
const EAGER = 10;
// How far (px) beyond the screen, above and below, instances are drawn ahead of scrolling.
const AHEAD = 800;

export function renderForm(form, container, { mediaBase = '' } = {}) {
  const records = new Map(); // nodeId -> { element, update, localError, focus }
  const positions = new Map(); // repeat instance node -> its number (1-based)
  // Lazily drawn repeat instances not drawn yet: instance node -> { element, draw }.
  const pending = new Map();
  // The skip rule's memory (question.js) of questions in such instances, by node.
  const skips = new Map();
  let ids = 0;
  const ctx = {
    showRequired: false,
    nextId: () => `q${++ids}`,
    mediaURL: (src) => mediaURL(src, mediaBase),
    skip: (node) => skips.get(node) || skipTracker(form, node),
  };
  const observer = typeof IntersectionObserver === 'function'
    ? new IntersectionObserver(onNear, { rootMargin: `${AHEAD}px 0px` }) : null;
  const byElement = new WeakMap(); // pending instance element -> its entry
  const heights = new WeakMap(); // repeat's list element -> { sum, n } of drawn instances

  function onNear(entries) {
    const drawn = [];
    for (const e of entries) {
      const p = e.isIntersecting && byElement.get(e.target);
      if (p && pending.has(p.node)) { p.draw(); drawn.push(p); }
    }
    learnHeights(drawn);
  }

  // Undrawn instances take the average height of the drawn ones of their repeat, so the
  // page's length and the scroll bar stay about right.
  function learnHeights(drawn) {
    const lists = new Map();
    for (const p of drawn) {
      const h = p.element.offsetHeight;
      if (!h) continue;
      const list = p.element.parentElement;
      if (!list) continue;
      let acc = heights.get(list);
      if (!acc) heights.set(list, (acc = { sum: 0, n: 0 }));
      acc.sum += h;
      acc.n += 1;
      lists.set(list, acc);
    }
    for (const [list, acc] of lists) list.style.setProperty('--pending-h', `${Math.round(acc.sum / acc.n)}px`);
  }

  // Draw the undrawn instances on or near the screen now (a few layout passes), so the
  // first screen is whole when painted. Returns how many were drawn.
  function drawNear() {
    let count = 0;
    for (let round = 0; round < 4 && pending.size; round++) {
      const near = [];
      for (const p of pending.values()) {
        const r = p.element.getBoundingClientRect();
        if (r.height && r.bottom > -AHEAD && r.top < innerHeight + AHEAD) near.push(p);
      }
      if (!near.length) break;
      for (const p of near) p.draw();
      learnHeights(near);
      count += near.length;
    }
    return count;
  }

  // Draw the undrawn instance(s) holding the node at `ref` (nested ones too).
  function reveal(ref) {
    for (let found = true; found && pending.size;) {
      found = false;
      for (const [node, p] of pending) {
        const r = form.ref(node);
        if (ref === r || ref.startsWith(`${r}/`)) { p.draw(); found = true; break; }
      }
    }
  }

  // Every question of an undrawn instance keeps the skip rule (an answer is cleared when
  // its question is skipped) from its engine state, as a drawn one does.
  function watchSkips(node) {
    for (const child of form.children(node)) {
      const kind = form.kind(child);
      if (kind === 'attribute' || kind === 'calculate' || kind === 'note') continue;
      if (kind === 'group' || kind === 'repeat' || kind === 'repeat-instance') { watchSkips(child); continue; }
      if (skips.has(child)) continue;
      const check = skipTracker(form, child);
      skips.set(child, check);
      check();
      form.watch(child, check);
    }
  }

  function track(node, record) {
    records.set(form.id(node), record);
    form.watch(node, record.update);
    record.update();
    return record.element;
  }

  function renderNode(node, lazy = false) {
    const kind = form.kind(node);
    if (kind === 'attribute') return null;
    if (kind === 'group' || kind === 'repeat-instance') return renderGroup(node, kind, lazy && kind === 'repeat-instance');
    if (kind === 'repeat') return renderRepeat(node);
    return track(node, createQuestion(form, node, kind, ctx));
  }

  function renderChildren(node, parentEl) {
    for (const child of form.children(node)) {
      try {
        const el = renderNode(child);
        if (el) parentEl.append(el);
      } catch (err) {
        // A question we cannot draw must not take the whole form down with it.
        console.error('fieldapp: cannot render', form.ref(child), err);
        const p = document.createElement('p');
        p.className = 'unsupported-type';
        p.textContent = t('该题型暂不支持：{type}', { type: String(child.nodeType) });
        parentEl.append(p);
      }
    }
  }

  function renderGroup(node, kind, lazy = false) {
    const el = document.createElement('fieldset');
    el.className = kind === 'group' ? 'group' : 'repeat-instance';
    el.dataset.name = form.name(node);
    el.dataset.ref = form.ref(node);
    const legend = document.createElement('legend');
    el.append(legend);
    let remove = null;
    if (kind === 'repeat-instance' && form.canAddRepeat(node.parent)) {
      // One tap must not wipe a household member's answers: ask first.
      remove = button(t('删除此项'), 'repeat-remove', () => {
        if (window.confirm(t('确定删除这一项吗？'))) form.removeRepeat(node);
      });
      el.append(remove);
    }
    // A group's questions are drawn the first time it is relevant (skipped sections of
    // a long survey cost one empty fieldset until then).
    let built = false;
    let wanted = !lazy; // a lazily drawn instance: once near the screen or needed
    const update = () => {
      const state = node.currentState;
      el.hidden = !form.relevant(node) || state.hasRelevantBodyNodes === false;
      if (!built && wanted && form.relevant(node)) {
        built = true;
        const inside = document.createDocumentFragment();
        renderChildren(node, inside);
        el.insertBefore(inside, remove);
      }
      el.dataset.ref = form.ref(node);
      let text = form.label(node);
      if (kind === 'repeat-instance') {
        text = `${form.label(node.parent) || ''} ${t('第 {n} 项', { n: positions.get(node) || 1 })}`.trim();
      }
      legend.textContent = text;
      legend.hidden = !text;
    };
    if (lazy && observer) {
      el.classList.add('repeat-instance-pending');
      const entry = {
        node,
        element: el,
        draw() {
          if (!pending.delete(node)) return;
          observer.unobserve(el);
          byElement.delete(el);
          el.classList.remove('repeat-instance-pending');
          wanted = true;
          update();
        },
      };
      pending.set(node, entry);
      byElement.set(el, entry);
      watchSkips(node);
      observer.observe(el);
    } else wanted = true;
    return track(node, { element: el, update, localError: () => '' });
  }

  function forget(instance) {
    const p = pending.get(instance);
    if (!p) return;
    pending.delete(instance);
    byElement.delete(p.element);
    observer.unobserve(p.element);
  }

  function renderRepeat(node) {
    const el = document.createElement('section');
    el.className = 'repeat';
    el.dataset.name = form.name(node);
    el.dataset.ref = form.ref(node);
    const list = document.createElement('div');
    list.className = 'repeat-instances';
    el.append(list);
    const instances = new Map(); // instance node -> element
    if (form.canAddRepeat(node)) el.append(button(t('添加一项'), 'repeat-add', () => form.addRepeat(node)));
    // Adding or removing an instance touches that instance, and the instances whose
    // number ("第 n 项") changed: never every instance (a 150-member household).
    let drawn = []; // the instances as last drawn, in order
    const update = () => {
      el.hidden = !form.relevant(node);
      const children = form.children(node);
      // The usual change, an instance added at the end: the drawn ones keep their element
      // and number, and only the new one is looked at.
      const appended = children.length >= drawn.length && drawn.every((child, i) => children[i] === child);
      if (!appended) {
        const now = new Set(children);
        for (const [child, childEl] of instances) {
          if (!now.has(child)) {
            childEl.remove(); instances.delete(child); records.delete(form.id(child)); positions.delete(child); forget(child);
          }
        }
      }
      const from = appended ? drawn.length : 0;
      const lazy = children.slice(from).filter((child) => !instances.has(child)).length > EAGER;
      for (let i = from; i < children.length; i++) {
        const child = children[i];
        const moved = positions.get(child) !== i + 1;
        positions.set(child, i + 1);
        let childEl = instances.get(child);
        if (!childEl) instances.set(child, (childEl = renderNode(child, lazy)));
        else if (moved) records.get(form.id(child))?.update();
        if (list.children[i] !== childEl) list.insertBefore(childEl, list.children[i] || null);
      }
      drawn = [...children];
    };
    return track(node, { element: el, update, localError: () => '' });
  }

  container.replaceChildren();
  const languages = form.languages();
  if (languages.length > 1) container.append(languageSelect(form, languages, refreshAll));
  const body = document.createElement('div');
  body.className = 'form-body';
  container.append(body);
  renderChildren(form.root, body);
  drawNear();

  function refreshAll() {
    for (const r of records.values()) if (r.element.isConnected) r.update();
  }

  return {
    records,
    refreshAll,
    // Lazily drawn instances not drawn yet, and drawing those near the screen now.
    pendingCount: () => pending.size,
    drawNear,
    // After a submit attempt, required-but-blank questions show their message too.
    showRequired() { ctx.showRequired = true; refreshAll(); },
    // Questions whose typed text we rejected (the engine holds no answer for them).
    localErrors() { return [...records.entries()].filter(([, r]) => r.element.isConnected && r.localError()).map(([id]) => id); },
    // Whether a person can see and answer node `id` (a drawn, shown question): only
    // those block finalize, as in ODK Collect (a `required` calculate never does). A
    // question at `ref` in an undrawn instance is drawn first.
    answerable(id, ref) {
      if (!records.has(id) && ref && pending.size) reveal(ref);
      const r = records.get(id);
      return !!(r && r.typed && r.element.isConnected && !r.element.closest('[hidden]'));
    },
    // Typed text that is not an answer yet, by question reference (kept in the draft).
    typed() {
      const out = {};
      for (const r of records.values()) {
        const text = r.typed && r.element.isConnected ? r.typed() : '';
        if (text) out[r.element.dataset.ref] = text;
      }
      return out;
    },
    // Draw the question at `ref` now if it is in an instance not drawn yet.
    reveal(ref) { if (pending.size) reveal(ref); },
    // Put such text back on reopening a draft (each shows its error again).
    restoreTyped(typed) {
      if (pending.size) for (const ref of Object.keys(typed || {})) reveal(ref);
      const byRef = new Map([...records.values()].filter((r) => r.restoreTyped).map((r) => [r.element.dataset.ref, r]));
      for (const [ref, text] of Object.entries(typed || {})) byRef.get(ref)?.restoreTyped(text);
    },
  };
}

function button(text, className, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = text;
  b.addEventListener('click', onClick);
  return b;
}

function languageSelect(form, languages, refreshAll) {
  const wrap = document.createElement('div');
  wrap.className = 'form-lang';
  const label = document.createElement('label');
  label.htmlFor = 'form-lang';
  label.textContent = t('问卷语言');
  const select = document.createElement('select');
  select.id = 'form-lang';
  for (const name of languages) {
    const o = document.createElement('option');
    o.value = name;
    o.textContent = name === 'default' ? t('默认') : name;
    select.append(o);
  }
  select.value = form.activeLanguage();
  select.addEventListener('change', () => {
    form.setLanguage(select.value);
    // Labels are re-read everywhere: a language switch touches every text anyway.
    queueMicrotask(refreshAll);
  });
  wrap.append(label, select);
  return wrap;
}
