// The engine alone, for bench/engine_same.py: every select's options (value, label, image)
// in every language of a form, blank and after answering each shown select in three
// passes, and the instance XML; to check that a patch of the engine changes no result.
import { createInstance } from '@getodk/xforms-engine';
import { createReactiveFactory } from '../static/js/form/reactive.js';

const CSV = 'name,label,label::English (en),region\nr1,区一,Region 1,a\nr2,区二,Region 2,b\n';

function options() {
  const reactive = createReactiveFactory();
  // Any CSV attachment gets the same two rows; other attachments are blank.
  const fetchFormAttachment = (url) => Promise.resolve(
    new Response(String(url && url.href ? url.href : url).endsWith('.csv') ? CSV : ''));
  return {
    form: { fetchFormAttachment, missingResourceBehavior: 'BLANK' },
    instance: { stateFactory: reactive.factory },
  };
}

function options_of(node, out) {
  const state = node.currentState;
  if (Array.isArray(state.valueOptions)) {
    out.push([state.reference, state.relevant, state.valueOptions.map((o) => [
      o.value, o.label ? o.label.asString : null, o.label && o.label.imageSource ? String(o.label.imageSource) : null])]);
  }
  for (const child of state.children || []) options_of(child, out);
}

function shown_selects(node, out) {
  if (node.nodeType === 'select' && node.currentState.relevant) out.push(node);
  for (const child of node.currentState.children || []) shown_selects(child, out);
}

window.dump = async (xml) => {
  const { root } = await createInstance(xml, options());
  const languages = root.languages.filter((l) => !l.isSyntheticDefault);
  const result = [];
  const snapshot = (tag) => {
    for (const language of languages.length ? languages : [null]) {
      if (language) root.setLanguage(language);
      const out = [];
      options_of(root, out);
      result.push([tag, language ? language.language : '', out]);
    }
  };
  snapshot('blank');
  for (let pass = 0; pass < 3; pass++) {
    const selects = [];
    shown_selects(root, selects);
    for (const node of selects) {
      const opts = node.currentState.valueOptions;
      if (!opts.length) continue;
      const { value } = opts[opts.length - 1];
      try {
        if (node.selectType === 'select') node.selectValues([value]);
        else node.selectValue(value);
      } catch (error) {
        result.push(['error', node.currentState.reference, String(error)]);
      }
    }
  }
  snapshot('answered');
  result.push(['xml', root.instanceState.instanceXML]);
  return JSON.stringify(result);
};
