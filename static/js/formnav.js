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
  first.element.scrollIntoView({ block: 'center', behavior: 'smooth' });
  if (first.focus) first.focus();
}
