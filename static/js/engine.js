// The one module that talks to ODK's form engine (@getodk/xforms-engine).
//
// Why an adapter: the engine's client API is young and still changes between
// releases; keeping every call to it here means an upgrade (or a replacement engine)
// touches one file. The renderer sees plain strings, arrays and our own type names
// ("text", "integer", "select_one", ...), never bigint, Temporal or engine classes.
import { createInstance } from '@getodk/xforms-engine';
import { createReactiveFactory } from './reactive.js';

// jr://file/x.csv, jr://images/a.png ... -> <mediaBase>/x.csv
export function mediaURL(jrURL, mediaBase) {
  const href = String(jrURL && jrURL.href ? jrURL.href : jrURL);
  const name = href.replace(/^jr:\/\/[^/]*\//, '');
  const base = mediaBase.endsWith('/') ? mediaBase : mediaBase + '/';
  return new URL(encodeURI(decodeURI(name)), new URL(base, location.href)).href;
}

export async function openForm(xml, { mediaBase = '' } = {}) {
  const reactive = createReactiveFactory();
  const fetchFormAttachment = (url) => fetch(mediaURL(url, mediaBase), { credentials: 'same-origin' });
  const instance = await createInstance(xml, {
    // BLANK: one missing CSV or picture must not make the whole form unusable.
    form: { fetchFormAttachment, missingResourceBehavior: 'BLANK' },
    instance: { stateFactory: reactive.factory },
  });
  return new Form(instance.root, reactive);
}

const INPUT_TYPES = {
  string: 'text', int: 'integer', decimal: 'decimal', date: 'date', time: 'time',
  dateTime: 'datetime', geopoint: 'geopoint', geotrace: 'geotrace', geoshape: 'geoshape',
  barcode: 'barcode', binary: 'binary', boolean: 'boolean', intent: 'intent',
};

class Form {
  constructor(root, reactive) {
    this.root = root;
    this.reactive = reactive;
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
  options(node) {
    return (node.currentState.valueOptions || []).map((o) => ({ value: o.value, label: text(o.label) || o.value }));
  }

  setValue(node, v) { node.setValue(v); }
  selectValues(node, values) {
    if (node.selectType === 'select') node.selectValues(values);
    else node.selectValue(values.length ? values[0] : null);
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

  // Run callback (batched, after the engine's work) whenever the node's state changes.
  watch(node, callback) { this.reactive.watch(callback, node.currentState, node.validationState); }
}

function text(range) {
  if (!range) return '';
  try { return range.asString || ''; } catch { return ''; }
}
