// The engine alone, for bench/engine_profile.py: createInstance / restoreInstance as our
// app calls them (static/js/form/engine.js: our reactive stateFactory, attachments by
// file name from a media folder, BLANK when missing), bundled unminified so a CPU
// profile names the engine's own functions.
import { createInstance, restoreInstance } from '@getodk/xforms-engine';
import { createReactiveFactory } from '../static/js/form/reactive.js';

function options(mediaBase) {
  const reactive = createReactiveFactory();
  const fetchFormAttachment = (url) => {
    const name = String(url && url.href ? url.href : url).replace(/^jr:\/\/[^/]*\//, '');
    return fetch(new URL(encodeURI(decodeURI(name)), new URL(mediaBase, location.href)));
  };
  return {
    form: { fetchFormAttachment, missingResourceBehavior: 'BLANK' },
    instance: { stateFactory: reactive.factory },
  };
}

function findRepeat(node) {
  if (String(node.nodeType).startsWith('repeat-range')) return node;
  for (const child of node.currentState.children || []) {
    const hit = findRepeat(child);
    if (hit) return hit;
  }
  return null;
}

window.engine = {
  async open(xml, mediaBase) {
    const t0 = performance.now();
    const instance = await createInstance(xml, options(mediaBase));
    return { ms: performance.now() - t0, instance };
  },
  async restore(xml, instanceXml, mediaBase) {
    const data = new FormData();
    data.append('xml_submission_file', new File([instanceXml], 'xml_submission_file', { type: 'text/xml' }));
    const t0 = performance.now();
    const instance = await restoreInstance(xml, { data: [data] }, options(mediaBase));
    return { ms: performance.now() - t0, instance };
  },
  // A draft with `count` instances of the form's first repeat, for restore().
  async draft(xml, mediaBase, count) {
    const { instance } = await this.open(xml, mediaBase);
    const repeat = findRepeat(instance.root);
    repeat.addInstances(undefined, count - repeat.currentState.children.length);
    const fill = (node, i) => {
      if (node.nodeType === 'input' && node.valueType === 'string') node.setValue(`成员${i}`);
      else if (node.nodeType === 'input' && node.valueType === 'int') node.setValue(20 + (i % 60));
      for (const child of node.currentState.children || []) fill(child, i);
    };
    repeat.currentState.children.forEach((inst, i) => fill(inst, i));
    return instance.root.instanceState.instanceXML;
  },
};

// Repeat instances added one at a time to the form's first repeat (bench/engine_repeat.py):
// open() once, then add() times one addInstances() and the microtasks it queues (our
// reactive factory's listeners), and xml() the draft's serialization (the autosave's).
window.repeat = {
  instance: null,
  range: null,
  async open(xml, mediaBase) {
    const { instance } = await window.engine.open(xml, mediaBase);
    this.instance = instance;
    this.range = findRepeat(instance.root);
    return this.range.currentState.children.length;
  },
  async add() {
    const t0 = performance.now();
    this.range.addInstances();
    await new Promise((resolve) => setTimeout(resolve, 0));
    return performance.now() - t0;
  },
  xml() {
    const t0 = performance.now();
    const xml = this.instance.root.instanceState.instanceXML;
    return [performance.now() - t0, xml.length];
  },
};
