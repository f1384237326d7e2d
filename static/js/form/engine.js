// The one module that talks to ODK's form engine (@getodk/xforms-engine).
//
// Why an adapter: the engine's client API is young and still changes between
// releases; keeping every call to it here means an upgrade (or a replacement engine)
// touches one file. The renderer sees plain strings, arrays and our own type names
// ("text", "integer", "select_one", ...), never bigint, Temporal or engine classes.
import { loadForm, restoreInstance } from '@getodk/xforms-engine';
import { createReactiveFactory } from './reactive.js';

// jr://file/x.csv, jr://images/a.png ... -> <mediaBase>/x.csv
export function mediaURL(jrURL, mediaBase) {
  const href = String(jrURL && jrURL.href ? jrURL.href : jrURL);
  const name = href.replace(/^jr:\/\/[^/]*\//, '');
  const base = mediaBase.endsWith('/') ? mediaBase : mediaBase + '/';
  return new URL(encodeURI(decodeURI(name)), new URL(base, location.href)).href;
}

// `fetchAttachment(url)`: how form media are read (offline: from Cache Storage); the
// default fetches <mediaBase>/<file>. An instance started by prepareForm for the same XML
// is taken instead of starting another.
export async function openForm(xml, { mediaBase = '', fetchAttachment } = {}) {
  return takePrepared(xml) || newForm(xml, mediaBase, fetchAttachment);
}

// The engine's createInstance, in its two long tasks (reading the form, then building the
// instance) with the page let in between: a frame is painted and a tap handled, so that a
// form's kept first screen (app/snapshot.js), shown meanwhile, stays answerable.
//
// The form read is kept for the next questionnaire of the same form in this page (a
// mediator going from household to household), which skips reading the form again, as
// ODK Web Forms does after a submission (the engine's `resetInstance`, which ends the
// previous instance of that form), once every questionnaire started from it is released
// (Form.release(): its fill view closed); until then the next one reads the form anew.
// Only for forms with no attachment: their files (a household list) may change between
// questionnaires.
let lastRead = null; // { xml, loaded, open: its questionnaires not released }
async function newForm(xml, mediaBase, fetchAttachment) {
  const reactive = createReactiveFactory();
  const opts = options(reactive, mediaBase, fetchAttachment);
  performance.mark('fieldapp:engine-start');
  if (lastRead && lastRead.xml === xml && lastRead.open === 0) {
    const read = lastRead;
    const instance = read.loaded.resetInstance(opts.instance);
    read.open += 1;
    return new Form(instance.root, reactive, read);
  }
  const loaded = await loadForm(xml, opts.form);
  if (loaded.status === 'failure') throw loaded.error;
  performance.mark('fieldapp:engine-form-read');
  const read = xml.includes('jr://') ? null : { xml, loaded, open: 1 };
  if (read) lastRead = read;
  await letPageIn();
  const instance = loaded.createInstance(opts.instance);
  return new Form(instance.root, reactive, read);
}

// Resolves after the next frame (or 100 ms, as in a hidden page, which paints none).
export function letPageIn() {
  return new Promise((resolve) => {
    let done = false;
    const go = () => { if (!done) { done = true; setTimeout(resolve, 0); } };
    if (typeof requestAnimationFrame === 'function') requestAnimationFrame(go);
    setTimeout(go, 100);
  });
}

// Start a new instance of a form before it is asked for (app/router.js: while the fill
// view's code loads), for the next openForm of the same XML to take. Only for forms with no
// attachment (no jr:// address): how attachments are read is the caller's (openForm's
// fetchAttachment), so those wait for openForm. One at a time; dropPrepared forgets it.
let prepared = null; // { xml, form: Promise<Form> }
export function prepareForm(xml) {
  if (typeof xml !== 'string' || xml.includes('jr://')) return;
  if (prepared && prepared.xml === xml) return;
  dropPrepared();
  const form = newForm(xml, '', null);
  form.catch(() => {}); // reported by the openForm that takes it
  prepared = { xml, form };
}
export function dropPrepared() {
  if (prepared) prepared.form.then((f) => f.release(), () => {});
  prepared = null;
}
function takePrepared(xml) {
  const p = prepared;
  prepared = null;
  return p && p.xml === xml ? p.form : null;
}

// Reopen a saved draft: its instance XML and its attachments (photos) as Files.
// Preloads such as `start` and `meta/instanceID` keep their saved values.
export async function restoreForm(xml, instanceXml, files = [], { mediaBase = '', fetchAttachment } = {}) {
  const reactive = createReactiveFactory();
  const data = new FormData();
  data.append('xml_submission_file', new File([instanceXml], 'xml_submission_file', { type: 'text/xml' }));
  for (const f of files) data.append(f.name, f);
  const instance = await restoreInstance(xml, { data: [data] }, options(reactive, mediaBase, fetchAttachment));
  return new Form(instance.root, reactive);
}

function options(reactive, mediaBase, fetchAttachment) {
  const fetchFormAttachment = (url) => {
    const href = mediaURL(url, mediaBase);
    return fetchAttachment ? fetchAttachment(href) : fetch(href, { credentials: 'same-origin' });
  };
  return {
    // BLANK: one missing CSV or picture must not make the whole form unusable.
    form: { fetchFormAttachment, missingResourceBehavior: 'BLANK' },
    instance: { stateFactory: reactive.factory },
  };
}

const INPUT_TYPES = {
  string: 'text', int: 'integer', decimal: 'decimal', date: 'date', time: 'time',
  dateTime: 'datetime', geopoint: 'geopoint', geotrace: 'geotrace', geoshape: 'geoshape',
  barcode: 'barcode', binary: 'binary', boolean: 'boolean', intent: 'intent',
};

// Node types a person answers (not notes, calculations, groups or repeats).
const QUESTIONS = new Set(['input', 'select', 'upload', 'range', 'rank']);

class Form {
  constructor(root, reactive, read = null) {
    this.root = root;
    this.reactive = reactive;
    this.read = read; // the form as read by the engine, shared with later questionnaires
  }

  // This questionnaire is closed (its fill view left, its payload taken): the form as read
  // may start the next one (newForm). Calling it twice does nothing more.
  release() {
    if (this.read) this.read.open -= 1;
    this.read = null;
  }

  // Our own question type name, also used as the CSS class `q-<type>`.
  kind(node) {
    switch (node.nodeType) {
      case 'group': return 'group';
      case 'repeat-range:controlled': case 'repeat-range:uncontrolled': return 'repeat';
      case 'repeat-instance': return 'repeat-instance';
      case 'model-value': return 'calculate';
      case 'note': return 'note';
      case 'select': return node.selectType === 'select' ? 'select_multiple' : 'select_one';
      case 'input': return INPUT_TYPES[node.valueType] || String(node.valueType);
      case 'upload': return node.definition?.bodyElement?.options?.media?.type || 'file';
      default: return String(node.nodeType); // trigger, range, rank, attribute, ...
    }
  }

  children(node) { return node.currentState.children || []; }
  name(node) {
    const n = node.definition && node.definition.nodeName;
    return typeof n === 'string' ? n : String(node.currentState.reference).split('/').pop().replace(/\[\d+\]$/, '');
  }
  ref(node) { return node.currentState.reference; }
  id(node) { return node.nodeId; }
  label(node) { return text(node.currentState.label); }
  hint(node) { return text(node.currentState.hint); }
  noteText(node) { return text(node.currentState.noteText) || this.label(node); }
  imageSource(node) { const l = node.currentState.label; return l && l.imageSource ? String(l.imageSource.href || l.imageSource) : ''; }
  relevant(node) { return node.currentState.relevant !== false; }
  required(node) { return !!node.currentState.required; }
  readonly(node) { return !!node.currentState.readonly; }
  appearances(node) { return node.appearances ? [...node.appearances] : []; }

  // Always the serialized string (int -> "30", date -> "2024-05-01"): no bigint/Temporal.
  value(node) { return node.currentState.instanceValue ?? ''; }
  selected(node) { return [...(node.currentState.value || [])]; }
  // The engine's own options array: a new one whenever the options offered change.
  optionsArray(node) { return node.currentState.valueOptions; }
  // [{ value, label, image }]: image is the choice's jr:// image ('' when none: media::image
  // on the choices sheet), for the caller's mediaURL.
  options(node) {
    return (node.currentState.valueOptions || []).map((o) => ({
      value: o.value,
      label: text(o.label) || o.value,
      image: o.label && o.label.imageSource ? String(o.label.imageSource.href || o.label.imageSource) : '',
    }));
  }

  setValue(node, v) { node.setValue(v); }
  hasAnswer(node) {
    return node.nodeType === 'select' ? this.selected(node).length > 0 : this.value(node) !== '';
  }
  // Clear a question's answer (it was skipped: see question.js).
  clear(node) {
    if (node.nodeType === 'select') this.selectValues(node, []);
    else if (node.nodeType === 'input') node.setValue('');
    else if (node.nodeType === 'upload') node.setValue(null);
  }
  selectValues(node, values) {
    if (node.selectType === 'select') node.selectValues(values);
    else node.selectValue(values.length ? values[0] : null);
  }

  // Choose `value` in the first relevant single-choice question that offers it: a
  // household's id is offered only by the question that reads households.csv
  // (select_one_from_file), so the calculations from its row (the entity's id,
  // baseVersion, branch) follow as if the worker had tapped it. The node, or null.
  selectOffered(value) {
    const find = (node) => {
      for (const child of this.children(node)) {
        if (!this.relevant(child)) continue;
        if (child.nodeType === 'select' && child.selectType !== 'select'
          && (child.currentState.valueOptions || []).some((o) => o.value === value)) return child;
        const inner = this.children(child).length ? find(child) : null;
        if (inner) return inner;
      }
      return null;
    };
    const node = find(this.root);
    if (node) node.selectValue(value);
    return node;
  }

  canAddRepeat(node) { return typeof node.addInstances === 'function'; }
  addRepeat(node) { node.addInstances(); }
  removeRepeat(instanceNode) {
    const range = instanceNode.parent;
    const index = range.currentState.children.indexOf(instanceNode);
    if (index >= 0) range.removeInstances(index, 1);
  }

  languages() { return this.root.languages.filter((l) => !l.isSyntheticDefault).map((l) => l.language); }
  activeLanguage() { return this.root.currentState.activeLanguage?.language || ''; }
  setLanguage(name) {
    const lang = this.root.languages.find((l) => l.language === name);
    if (lang) this.root.setLanguage(lang);
  }

  // Constraint failure message ('' when valid). `fallback` when the form gives none.
  constraintError(node, fallback) {
    const c = node.validationState && node.validationState.constraint;
    if (!c || c.valid) return '';
    return text(c.message) || fallback;
  }
  requiredMissing(node) {
    const r = node.validationState && node.validationState.required;
    return !!(r && !r.valid);
  }
  // Every invalid or required-but-blank relevant question, in form order.
  violations() {
    return this.root.validationState.violations.map((v) => ({ nodeId: v.nodeId, reference: v.reference }));
  }

  submissionXML() { return this.root.instanceState.instanceXML; }

  // The XML plus every attachment File (photos) the submission must carry, named as in the
  // XML. Not root.prepareInstancePayload(): it leaves out attachments that came back with a
  // restored draft (only files set in this session count there), so a resumed draft would
  // lose its photo. `known` (name -> Blob) fills in a file the engine is still loading.
  // `missing` lists names referenced in the XML with no file at all.
  payload(known = {}) {
    const xml = this.submissionXML();
    const { files, missing } = this.scan(known);
    return { xml, files, missing };
  }

  // One walk over the relevant nodes for what payload(), summary() and progress() read:
  // { files, missing, texts (the first two text answers), answered, total }. The autosave
  // needs all three; each walk alone reads every node's state through the engine's proxies
  // (4–8 ms each for 150 repeat instances at 4× CPU throttling).
  scan(known = {}) {
    const files = [];
    const missing = [];
    const texts = [];
    let answered = 0;
    let total = 0;
    const walk = (node) => {
      for (const child of this.children(node)) {
        if (!this.relevant(child)) continue;
        const type = child.nodeType;
        if (QUESTIONS.has(type)) {
          const value = this.value(child);
          if (type === 'upload' && value) {
            const file = child.currentState.value || known[value];
            if (file) files.push(file instanceof File && file.name === value ? file : new File([file], value, { type: file.type }));
            else missing.push(value);
          } else if (type === 'input' && texts.length < 2 && child.valueType === 'string' && value.trim()) {
            texts.push(value.trim().slice(0, 30));
          }
          if (this.readonly(child)) continue;
          total += 1;
          if (value !== '') answered += 1;
        } else if (type !== 'model-value' && type !== 'note' && this.children(child).length) {
          walk(child);
        }
      }
    };
    walk(this.root);
    return { files, missing, texts, answered, total };
  }

  // meta/instanceID ("uuid:…"), read from the instance.
  instanceID() {
    const m = /<(?:\w+:)?instanceID>([^<]+)<\/(?:\w+:)?instanceID>/.exec(this.submissionXML());
    return m ? m[1] : '';
  }

  // A short text telling this questionnaire from others of the same form in lists:
  // meta/instanceName when the form has one, else its first two text answers. `xml` is the
  // instance XML when the caller has just built it (the engine serializes the whole
  // instance on each call: ~45 ms for 150 repeat instances at 4× throttling); `scanned`, a
  // scan() the caller has just made.
  summary(xml = this.submissionXML(), scanned = null) {
    const m = /<(?:\w+:)?instanceName>([^<]+)</.exec(xml);
    if (m) return m[1].replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').slice(0, 60);
    return (scanned || this.scan()).texts.join(' · ');
  }

  // { answered, total } over relevant questions a person answers (no notes, calculations).
  progress(scanned = this.scan()) {
    return { answered: scanned.answered, total: scanned.total };
  }

  // Upload questions (photos): the File held by the engine, or null.
  file(node) { return node.currentState.value || null; }
  setFile(node, file) { node.setValue(file); }

  // Run callback (batched, after the engine's work) whenever the node's state changes.
  watch(node, callback) { this.reactive.watch(callback, node.currentState, node.validationState); }
}

function text(range) {
  if (!range) return '';
  try { return range.asString || ''; } catch { return ''; }
}
