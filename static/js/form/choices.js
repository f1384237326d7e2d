// select_one / select_multiple as lists of radio buttons / checkboxes.
//
// Why not <select>: a native dropdown hides the choices behind a tap and is fiddly on
// cheap phones; a list of large touch targets (whole row clickable, ≥44px) is what
// village workers can use one-handed. Options can change (choice_filter cascades,
// language switch), so the list is rebuilt only when the offered options change.
export function createChoices(form, node, id, labelId) {
  const multiple = node.selectType === 'select';
  const box = document.createElement('div');
  box.className = 'choices';
  box.setAttribute('role', multiple ? 'group' : 'radiogroup');
  box.setAttribute('aria-labelledby', labelId);
  let signature = null;

  box.addEventListener('change', () => {
    const values = [...box.querySelectorAll('input:checked')].map((i) => i.value);
    form.selectValues(node, values);
  });

  function update(readonly) {
    const options = form.options(node);
    const sig = JSON.stringify(options);
    if (sig !== signature) {
      signature = sig;
      box.replaceChildren(...options.map((o) => choiceRow(o, multiple, id)));
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
  }

  return { element: box, update, focusTarget: () => box.querySelector('input') };
}

function choiceRow(option, multiple, id) {
  const label = document.createElement('label');
  label.className = 'choice';
  const input = document.createElement('input');
  input.type = multiple ? 'checkbox' : 'radio';
  input.name = id;
  input.value = option.value;
  const span = document.createElement('span');
  span.textContent = option.label;
  label.append(input, ' ', span);
  return label;
}

