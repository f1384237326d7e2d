// Small helpers that both form pages (the online fill page and the app's fill view) share.

const ZH = /(^|[^a-z])(zh|chinese|cn)([^a-z]|$)|中文|汉语|漢語|简体|繁體/i;
const EN = /(^|[^a-z])(en|english)([^a-z]|$)/i;

// The form's own language follows the page's: Chinese pages pick a Chinese column.
export function pickLanguage(form, ui = 'zh') {
  const wanted = form.languages().find((n) => (ui === 'en' ? EN : ZH).test(n));
  if (wanted && wanted !== form.activeLanguage()) form.setLanguage(wanted);
}

// Scroll to the first (in form order = DOM order) of the questions that need fixing.
export function scrollToFirst(view, nodeIds) {
  const els = nodeIds.map((id) => view.records.get(id)).filter((r) => r && r.element.isConnected);
  els.sort((a, b) => (a.element.compareDocumentPosition(b.element) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
  const first = els[0];
  if (!first) return;
  if (view.pendingCount && view.pendingCount()) {
    // Repeat instances still undrawn around it change height as they are drawn: jump
    // (no smooth scroll, which would end where the question was), draw those near, and
    // center it again until nothing more moves.
    for (let i = 0; i < 3; i++) {
      first.element.scrollIntoView({ block: 'center' });
      if (!view.drawNear()) break;
    }
  } else {
    first.element.scrollIntoView({ block: 'center', behavior: 'smooth' });
  }
  if (first.focus) first.focus();
}

// The "还有 N 题需要修改" message under a form: `showError(text)` shows any message;
// `ready()` marks required questions, and when some still need fixing shows their count
// (kept up to date as the worker fixes answers) and scrolls to the first; true when none.
export function problemCounter(host, view, form, errorEl, t) {
  let counting = false;
  const showError = (text, isCount = false) => {
    errorEl.textContent = text;
    errorEl.hidden = !text;
    counting = isCount;
  };
  // Only what a person can fix counts (and is marked): a `required` calculate or a
  // question with nothing to show never blocks finalize with nothing pointed to. (A
  // problem in a repeat instance not drawn yet draws it: see renderer.js.)
  const problems = () => [...new Set([
    ...view.localErrors(),
    ...form.violations().filter((v) => view.answerable(v.nodeId, v.reference)).map((v) => v.nodeId),
  ])];
  // Recount after the engine has applied the change (hence the microtask).
  const recount = () => queueMicrotask(() => {
    if (!counting) return;
    const n = problems().length;
    showError(n ? t('还有 {n} 题需要修改', { n }) : '', n > 0);
  });
  for (const type of ['input', 'change', 'click']) host.addEventListener(type, recount);
  const ready = () => {
    showError('');
    view.showRequired();
    const bad = problems();
    if (!bad.length) return true;
    showError(t('还有 {n} 题需要修改', { n: bad.length }), true);
    scrollToFirst(view, bad);
    return false;
  };
  return { showError, ready };
}
