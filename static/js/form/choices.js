// select_one / select_multiple as lists of radio buttons / checkboxes.
//
// Why not <select>: a native dropdown hides the choices behind a tap and is fiddly on
// cheap phones; a list of large touch targets (whole row clickable, ≥44px) is what
// village workers can use one-handed. Options can change (choice_filter cascades,
// language switch), so the list is rebuilt only when the offered options change.
//
// A long list (appearance autocomplete/search/minimal, or more than LONG options: a
// mediator's 200 households from households.csv) gets a filter box that hides rows on
// the phone as one types; a single choice already made shows just that row and 更换.
const LONG = 20;
const SEARCHABLE = ['autocomplete', 'search', 'minimal'];

export function createChoices(form, node, id, labelId) {
  const multiple = node.selectType === 'select';
  const box = document.createElement('div');
  box.className = 'choices';
  box.setAttribute('role', multiple ? 'group' : 'radiogroup');
  box.setAttribute('aria-labelledby', labelId);
  const search = document.createElement('input');
  search.type = 'search';
  search.className = 'choices-search';
  search.placeholder = '输入文字筛选';
  search.setAttribute('aria-label', '筛选选项');
  search.hidden = true;
  const change = document.createElement('button');
  change.type = 'button';
  change.className = 'choices-change';
  change.textContent = '更换';
  change.hidden = true;
  const wrap = document.createElement('div');
  wrap.className = 'choices-wrap';
  wrap.append(search, box, change);
  let signature = null;
  let filterable = false;
  let expanded = false;

  box.addEventListener('change', (e) => {
    if (e.target.name !== id) return;
    const values = [...box.querySelectorAll('input:checked')].map((i) => i.value);
    if (filterable && !multiple) { expanded = false; search.value = ''; }
    form.selectValues(node, values);
  });
  // Typing in the filter is not an answer: the form's autosave need not hear it.
  for (const type of ['input', 'change']) search.addEventListener(type, (e) => { e.stopPropagation(); if (type === 'input') filter(); });
  change.addEventListener('click', () => { expanded = true; filter(); search.focus(); });

  function filter() {
    const q = search.value.trim().toLowerCase();
    const checked = [...box.querySelectorAll('input:checked')];
    const collapsed = filterable && !multiple && checked.length > 0 && !expanded && !q;
    for (const row of box.children) {
      row.hidden = collapsed ? !row.querySelector('input').checked : !!q && !row.dataset.text.includes(q);
    }
    search.hidden = !filterable || collapsed;
    change.hidden = !collapsed;
  }

  function update(readonly) {
    const options = form.options(node);
    const sig = JSON.stringify(options);
    if (sig !== signature) {
      signature = sig;
      box.replaceChildren(...options.map((o) => choiceRow(o, multiple, id)));
      filterable = options.length > LONG || form.appearances(node).some((a) => SEARCHABLE.includes(a));
    }
    const selected = form.selected(node);
    const offered = new Set(options.map((o) => o.value));
    const still = selected.filter((v) => offered.has(v));
    if (still.length !== selected.length && !readonly) {
      // Cascade: the parent changed and our answer is no longer offered. The engine
      // would keep it hidden and bring it back later; we drop it, as a person expects.
      queueMicrotask(() => form.selectValues(node, still));
    }
    for (const input of box.querySelectorAll('input')) {
      input.checked = selected.includes(input.value);
      input.disabled = readonly;
    }
    box.classList.toggle('choices-empty', options.length === 0);
    change.disabled = readonly;
    filter();
  }

  return { element: wrap, update, focusTarget: () => (search.hidden ? box.querySelector('input') : search) };
}

function choiceRow(option, multiple, id) {
  const label = document.createElement('label');
  label.className = 'choice';
  label.dataset.text = String(option.label).toLowerCase();
  const input = document.createElement('input');
  input.type = multiple ? 'checkbox' : 'radio';
  input.name = id;
  input.value = option.value;
  const span = document.createElement('span');
  span.textContent = option.label;
  label.append(input, ' ', span);
  return label;
}
