// Our light renderer: turns the engine's node tree into plain DOM, once, and then
// patches only the nodes the engine reports as changed (see reactive.js).
// Groups -> <fieldset><legend>; repeats -> a list of .repeat-instance fieldsets with
// "添加一项" / "删除此项" buttons; leaves -> question.js.
import { t } from '../i18n.js';
import { createQuestion } from './question.js';
import { mediaURL } from './engine.js';

export function renderForm(form, container, { mediaBase = '' } = {}) {
  const records = new Map(); // nodeId -> { element, update, localError, focus }
  const positions = new Map(); // repeat instance node -> its number (1-based)
  const ctx = { showRequired: false, mediaURL: (src) => mediaURL(src, mediaBase) };

  function track(node, record) {
    records.set(form.id(node), record);
    form.watch(node, record.update);
    record.update();
    return record.element;
  }

  function renderNode(node) {
    const kind = form.kind(node);
    if (kind === 'attribute') return null;
    if (kind === 'group' || kind === 'repeat-instance') return renderGroup(node, kind);
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

  function renderGroup(node, kind) {
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
    const update = () => {
      const state = node.currentState;
      el.hidden = !form.relevant(node) || state.hasRelevantBodyNodes === false;
      if (!built && form.relevant(node)) {
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
    return track(node, { element: el, update, localError: () => '' });
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
    const update = () => {
      el.hidden = !form.relevant(node);
      const children = form.children(node);
      const now = new Set(children);
      for (const [child, childEl] of instances) {
        if (!now.has(child)) { childEl.remove(); instances.delete(child); records.delete(form.id(child)); positions.delete(child); }
      }
      children.forEach((child, i) => {
        const moved = positions.get(child) !== i + 1;
        positions.set(child, i + 1);
        let childEl = instances.get(child);
        if (!childEl) instances.set(child, (childEl = renderNode(child)));
        else if (moved) records.get(form.id(child))?.update();
        if (list.children[i] !== childEl) list.insertBefore(childEl, list.children[i] || null);
      });
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

  function refreshAll() {
    for (const r of records.values()) if (r.element.isConnected) r.update();
  }

  return {
    records,
    refreshAll,
    // After a submit attempt, required-but-blank questions show their message too.
    showRequired() { ctx.showRequired = true; refreshAll(); },
    // Questions whose typed text we rejected (the engine holds no answer for them).
    localErrors() { return [...records.entries()].filter(([, r]) => r.element.isConnected && r.localError()).map(([id]) => id); },
    // Whether a person can see and answer node `id` (a drawn, shown question): only
    // those block finalize, as in ODK Collect (a `required` calculate never does).
    answerable(id) {
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
    // Put such text back on reopening a draft (each shows its error again).
    restoreTyped(typed) {
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
