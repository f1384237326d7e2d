// Entity lists (households.csv) on the phone: pure functions, no DOM, no IndexedDB, so
// that node runs them (tests/js/entities.test.mjs) and the service worker can too.
//
// The server's list (fieldapp/cases/lists.py) has the columns name, label, __version,
// __trunkVersion, __branchId, then the properties. As ODK Collect does on download, each
// row the server sends without a branch gets one (a random id, trunk = its version), so
// that a chain of offline updates of one household is one branch on the server
// (fieldapp/cases/process.py `_effective_base`). The phone's own finalized work that the
// server's list does not show yet (the outbox) is applied on top, as the server will:
// a create adds a row (version 1, no trunk, its own branch), an update sets the
// properties it carries and the label, one version more on the same branch.

export const FIXED_COLUMNS = ['name', 'label', '__version', '__trunkVersion', '__branchId'];

// ---- CSV (RFC 4180: quotes, doubled quotes, CRLF or LF, a UTF-8 BOM) ----

// text -> { columns: [..], rows: [{ column: value }] }; short rows are padded with ''.
export function parseCSV(text) {
  const records = [];
  let row = [];
  let cell = '';
  let quoted = false;
  const s = String(text || '').replace(/^\uFEFF/, '');
  for (let i = 0; i < s.length; i += 1) {
    const c = s[i];
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') { cell += '"'; i += 1; } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i += 1;
      row.push(cell); records.push(row); row = []; cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length) { row.push(cell); records.push(row); }
  const nonEmpty = records.filter((r) => r.length > 1 || r[0] !== '');
  const columns = nonEmpty.shift() || [];
  const rows = nonEmpty.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i] ?? ''])));
  return { columns, rows };
}

function csvCell(value) {
  const v = value === undefined || value === null ? '' : String(value);
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

// The CSV the form engine reads: `columns` in order, one line per row, LF endings.
export function toCSV(columns, rows) {
  const lines = [columns.map(csvCell).join(',')];
  for (const r of rows) lines.push(columns.map((c) => csvCell(r[c])).join(','));
  return `${lines.join('\n')}\n`;
}

// ---- the server's list, downloaded ----

// Rows just downloaded, with a branch each: a row without one keeps the branch it had
// in `previous` (the last download) when its version has not changed, else gets a new
// one from `newId()` with trunk = version (a newer server version starts a new branch).
export function adoptServerRows(rows, previous = [], newId = () => crypto.randomUUID()) {
  const before = new Map(previous.map((r) => [r.name, r]));
  return rows.map((r) => {
    if (r.__branchId) return { ...r };
    const old = before.get(r.name);
    if (old && old.__branchId && String(old.__version) === String(r.__version)) {
      return { ...r, __trunkVersion: old.__trunkVersion, __branchId: old.__branchId };
    }
    return { ...r, __trunkVersion: String(r.__version ?? ''), __branchId: newId() };
  });
}

// ---- submission XML (a tiny reader: the engine's output is plain, well-formed XML) ----

const ENTITY_REFS = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
function unescapeXML(s) {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITY_REFS[e] ?? m;
  });
}
const local = (name) => name.replace(/^[^:]*:/, '');

// xml -> the root element { name (local), attrs, children, text } or null.
export function parseXML(xml) {
  const re = /<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>|<[?!][^>]*>|<\/([^\s>]+)\s*>|<([^\s/>]+)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/g;
  const top = { children: [], text: '' };
  const stack = [top];
  let m;
  while ((m = re.exec(String(xml || '')))) {
    const cur = stack[stack.length - 1];
    if (m[1] !== undefined) cur.text += m[1];
    else if (m[2]) { if (stack.length > 1) stack.pop(); } else if (m[3]) {
      const attrs = {};
      for (const a of m[4].matchAll(/([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attrs[local(a[1])] = unescapeXML(a[2] ?? a[3]);
      const el = { name: local(m[3]), attrs, children: [], text: '' };
      cur.children.push(el);
      if (!m[5]) stack.push(el);
    } else if (m[6] !== undefined) cur.text += unescapeXML(m[6]);
  }
  return top.children[0] || null;
}

const child = (el, name) => (el ? el.children.find((c) => c.name === name) || null : null);

// The element at instance path '/data/grp/q' under root, or null when left out.
function at(root, path) {
  let el = root;
  for (const part of path.replace(/^\/+/, '').split('/').slice(1)) {
    el = child(el, part);
    if (!el) return null;
  }
  return el;
}

// Every element at instance path `container` ('/data': the root; a repeat's path: each
// of its instances, in document order).
function instances(root, container) {
  let found = [root];
  for (const part of container.replace(/^\/+/, '').split('/').slice(1)) {
    found = found.flatMap((el) => el.children.filter((c) => c.name === part));
  }
  return found;
}

const flag = (v) => ['1', 'true'].includes(String(v || '').trim().toLowerCase());
const ID = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,63}$/;

function block(container, blockSpec) {
  const entity = child(child(container, 'meta'), 'entity');
  if (!entity) return null;
  const create = flag(entity.attrs.create);
  const update = flag(entity.attrs.update);
  const id = (entity.attrs.id || '').trim();
  if (!(create || update) || !ID.test(id)) return null;
  const properties = {};
  for (const [path, prop] of Object.entries(blockSpec.saveto || {})) {
    const el = at(container, `/${container.name}${path.slice(blockSpec.container.length)}`);
    if (el) properties[prop] = el.text.trim();
  }
  const labelEl = child(entity, 'label');
  return {
    dataset: blockSpec.dataset,
    id,
    create,
    update,
    label: labelEl ? labelEl.text.trim() : '',
    baseVersion: (entity.attrs.baseVersion || '').trim(),
    trunkVersion: (entity.attrs.trunkVersion || '').trim(),
    branchId: (entity.attrs.branchId || '').trim(),
    properties,
  };
}

// What a submission's entity blocks ask, as the server reads them (process.read_blocks):
// the form's own meta/entity and, with entities spec 2025.1, one per repeat instance;
// [{ dataset, id, create, update, label, baseVersion, trunkVersion, branchId,
// properties }], leaving out blocks that ask nothing and ids named twice. `spec` is the
// form's /me `entities` ({ dataset, saveto, blocks: [{ container, dataset, saveto }] }).
export function readEntityBlocks(xml, spec) {
  if (!spec) return [];
  const root = parseXML(xml);
  if (!root) return [];
  const out = [];
  const seen = new Set();
  for (const b of spec.blocks || [{ ...spec, container: '' }]) {
    const bs = { ...b, container: b.container || `/${root.name}` };
    for (const el of instances(root, bs.container)) {
      const found = block(el, bs);
      if (found && !seen.has(found.id)) { seen.add(found.id); out.push(found); }
    }
  }
  return out;
}

// The first of readEntityBlocks (the form's own entity), or null.
export function readEntityBlock(xml, spec) {
  return readEntityBlocks(xml, spec)[0] || null;
}

// ---- the phone's own work on top ----

// The outbox items whose change the downloaded list (confirmed by the server at
// `fetchedAt`, ms) cannot show yet: every item not sent, and those sent after it.
// Oldest first, as they were made (and are sent).
export function pendingItems(items, fetchedAt = 0) {
  return items
    .filter((i) => i.xml && (i.status !== 'sent' || !i.sentAt || i.sentAt > (fetchedAt || 0)))
    .sort((a, b) => a.created - b.created);
}

// `rows` (the server's, with branches) with `items` (outbox records: { id, xml, form_id,
// version, entities?, deprecatedID? }) applied in order. `formsSpec` gives a form's entity declaration
// when the item does not carry one: a function (item) -> spec, or an object keyed
// 'form_id@version' or 'form_id'. Only blocks of `dataset` count. Rows changed here carry
// `__local`: 'created' | 'updated' (never written to the CSV). Returns a new array.
export function applyLocal(rows, items, formsSpec = {}, dataset = 'households') {
  const specOf = typeof formsSpec === 'function' ? formsSpec
    : (i) => formsSpec[`${i.form_id}@${i.version}`] || formsSpec[i.form_id] || null;
  const out = rows.map((r) => ({ ...r }));
  const byId = new Map(out.map((r) => [r.name, r]));
  const blocks = items.flatMap((item) => {
    // A correction of a sent record (meta/deprecatedID, app/correct.js) applies nothing
    // again, as on the server (fieldapp/cases/process.py, as in ODK Central).
    if (item.deprecatedID) return [];
    try {
      return readEntityBlocks(item.xml, item.entities || specOf(item)).map((b) => ({ item, block: b }));
    } catch { return []; }
  });
  for (const { item, block } of blocks) {
    if (block.dataset !== dataset) continue;
    const row = byId.get(block.id);
    if (!row) {
      if (!block.create) continue; // an update of a household this list does not have
      const created = {
        ...block.properties,
        name: block.id,
        label: block.label || Object.values(block.properties).find((v) => v) || block.id,
        __version: '1',
        __trunkVersion: '',
        // Fixed per create (the list is built again tomorrow and must give the same
        // branch); a branch need only be unique among one entity's versions.
        __branchId: String(item.id || block.id).replace(/^uuid:/, '').slice(0, 64),
        __local: 'created',
      };
      out.push(created);
      byId.set(block.id, created);
      continue;
    }
    if (!block.update) continue; // created already (a re-send): nothing new
    Object.assign(row, block.properties);
    if (block.label) row.label = block.label;
    // Next version of the same branch: what the server will make of it. An update made
    // on another branch (the list has since brought a newer server version) changes
    // the values shown but not the version the next visit builds on.
    if (!block.branchId || block.branchId === row.__branchId) row.__version = String((parseInt(row.__version, 10) || 0) + 1);
    if (row.__local !== 'created') row.__local = 'updated';
  }
  return out;
}

// Columns for the CSV of `rows`: the fixed ones, the server's properties in order, then
// properties only the phone's own work has.
export function listColumns(serverColumns, rows) {
  const cols = [...FIXED_COLUMNS, ...serverColumns.filter((c) => !FIXED_COLUMNS.includes(c))];
  const seen = new Set(cols);
  for (const r of rows) {
    for (const k of Object.keys(r)) {
      if (!seen.has(k) && k !== '__local') { seen.add(k); cols.push(k); }
    }
  }
  return cols;
}

// ---- households: what is due ----

// 'YYYY-MM-DD' of `d` in the phone's own time zone.
export function localDay(d = new Date()) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

const DAY = 86400e3;
function daysBetween(from, to) {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY);
}

export const DUE_WITHIN = 7; // days: "近期到期"

// { state: 'overdue' | 'due' | 'later' | 'none', days } of a household on `today`
// (days: from today to its next visit; negative when overdue).
export function dueState(row, today) {
  const next = String(row.next_visit_date || '').slice(0, 10);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(next) || Number.isNaN(Date.parse(next))) return { state: 'none', days: null };
  const days = daysBetween(today, next);
  if (days < 0) return { state: 'overdue', days };
  if (days <= DUE_WITHIN) return { state: 'due', days };
  return { state: 'later', days };
}

const ORDER = { overdue: 0, due: 1, later: 2, none: 3 };

// Households in the order a mediator works them: overdue (longest first), due soon,
// later, no date; then by label. Closed ones are left out (as the server's list does).
const RISK_ORDER = ['serious', 'high', 'medium', 'low'];
function riskRank(row) {
  const i = RISK_ORDER.indexOf(row.risk_level);
  return i < 0 ? RISK_ORDER.length : i;
}

export function householdOrder(rows, today) {
  return rows
    .filter((r) => r.case_status !== 'closed')
    .map((r) => ({ row: r, due: dueState(r, today) }))
    .sort((a, b) => (ORDER[a.due.state] - ORDER[b.due.state])
      || ((a.due.days ?? 0) - (b.due.days ?? 0))
      || (riskRank(a.row) - riskRank(b.row)) // as the web list: 重大隐患 first on a tie
      || String(a.row.label).localeCompare(String(b.row.label), 'zh'));
}
