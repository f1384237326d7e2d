// select_one / select_multiple as lists of radio buttons / checkboxes.
//
// Why not <select>: a native dropdown hides the choices behind a tap and is fiddly on
// cheap phones; a list of large touch targets (whole row clickable, ≥44px) is what
// village workers can use one-handed. Options can change (choice_filter cascades,
// language switch), so the list is rebuilt only when the offered options change.
//
// A long list (appearance autocomplete/search/minimal, or more than LONG options: a
// mediator's 200 households from households.csv, a list of 5,000 villages) gets a
// filter box; only the chosen rows and the first SHOWN matches are drawn, so a list of
// thousands costs what a list of fifty does; a single choice already made shows just
// that row and 更换.
const LONG = 20;
const SHOWN = 50; // rows drawn at most for a long list: the rest is found by typing
const SEARCHABLE = ['autocomplete', 'search', 'minimal'];

// mediaURL(jr://… address) -> the URL of a form attachment (a choice's image).
export function createChoices(form, node, id, labelId, mediaURL = null) {
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
  const more = document.createElement('p');
  more.className = 'choices-more';
  more.hidden = true;
  const change = document.createElement('button');
  change.type = 'button';
  change.className = 'choices-change';
  change.textContent = '更换';
  change.hidden = true;
  const wrap = document.createElement('div');
  wrap.className = 'choices-wrap';
  wrap.append(search, box, more, change);
  let signature = null;
  let offeredFrom; // the engine's options array they were read from (same array: same options)
  let values = new Set(); // their values
  let dropDue = false; // an answer went out of the options while the question was readonly
  let filterable = false;
  let expanded = false;
  let options = []; // offered now: [{ value, label }]
  let texts = []; // their labels, lower case, for the filter
  let selected = [];
  let readonlyNow = false;
  const rows = new Map(); // value -> its row (made when first drawn)

  box.addEventListener('change', (e) => {
    if (e.target.name !== id) return;
    // Only some rows may be drawn: the answer is what was chosen before, changed by
    // this one tap (not the checked boxes on screen).
    let values;
    if (!multiple) values = e.target.checked ? [e.target.value] : [];
    else if (e.target.checked) values = [...selected.filter((v) => v !== e.target.value), e.target.value];
    else values = selected.filter((v) => v !== e.target.value);
    if (filterable && !multiple) { expanded = false; search.value = ''; }
    form.selectValues(node, values);
  });
  // Typing in the filter is not an answer: the form's autosave need not hear it.
  for (const type of ['input', 'change']) search.addEventListener(type, (e) => { e.stopPropagation(); if (type === 'input') draw(); });
  change.addEventListener('click', () => { expanded = true; draw(); search.focus(); });

  function row(option) {
    let r = rows.get(option.value);
    if (!r) rows.set(option.value, (r = choiceRow(option, multiple, id, mediaURL)));
    const input = r.querySelector('input');
    input.checked = selected.includes(option.value);
    input.disabled = readonlyNow;
    return r;
  }

  // A short list shows every row; a long one the chosen ones and at most SHOWN matches
  // of what is typed (thousands of choices are never all drawn), and says how many more.
  function draw() {
    const q = search.value.trim().toLowerCase();
    const collapsed = filterable && !multiple && selected.length > 0 && !expanded && !q;
    let shown = options;
    let rest = 0;
    if (collapsed) shown = options.filter((o) => selected.includes(o.value));
    else if (filterable) {
      const matches = [];
      for (let i = 0; i < options.length; i++) {
        if (q && !texts[i].includes(q)) continue;
        if (matches.length < SHOWN) matches.push(options[i]);
        else rest++;
      }
      const picked = options.filter((o) => selected.includes(o.value) && !matches.includes(o));
      shown = [...picked, ...matches];
    }
    box.replaceChildren(...shown.map(row));
    more.textContent = rest ? `还有 ${rest} 项未显示，请输入文字查找` : '';
    more.hidden = !rest;
    search.hidden = !filterable || collapsed;
    change.hidden = !collapsed;
  }

  function update(readonly) {
    // The engine writes a new options array only when what it offers changes (a cascade,
    // the language): an answer in a list of 5,000 villages does not read them all again.
    const from = form.optionsArray(node);
    if (from !== offeredFrom) {
      offeredFrom = from;
      const offered = form.options(node);
      const sig = offered.map((o) => `${o.value}\u0000${o.label}\u0000${o.image}`).join('\u0001');
      if (sig !== signature) {
        signature = sig;
        options = offered;
        texts = offered.map((o) => String(o.label).toLowerCase());
        values = new Set(offered.map((o) => o.value));
        rows.clear();
        filterable = offered.length > LONG || form.appearances(node).some((a) => SEARCHABLE.includes(a));
      }
    }
    const before = selected;
    selected = form.selected(node);
    readonlyNow = readonly;
    // Cascade: the parent changed and an answer is no longer offered. The engine keeps it
    // hidden (the value it reports already leaves it out) and brings it back if the parent
    // changes back, but only in this page: a draft saved meanwhile has lost it. We drop
    // it for good, as a person expects, the same live as after a reopen (issue 12).
    // A readonly question cannot be written: its drop waits until it is editable again.
    const gone = (v) => !values.has(v);
    if (before.some(gone) || selected.some(gone)) dropDue = true;
    if (dropDue && !readonly) {
      dropDue = false;
      const still = selected.filter((v) => values.has(v));
      queueMicrotask(() => form.selectValues(node, still));
    }
    box.classList.toggle('choices-empty', options.length === 0);
    change.disabled = readonly;
    draw();
  }

  return { element: wrap, update, focusTarget: () => (search.hidden ? box.querySelector('input') : search) };
}

// A choice with an image (media::image on the choices sheet: pictures for people who read
// little) shows it beside its text; the image is a form attachment, cached for offline use
// with the form's other media.
function choiceRow(option, multiple, id, mediaURL) {
  const label = document.createElement('label');
  label.className = 'choice';
  const input = document.createElement('input');
  input.type = multiple ? 'checkbox' : 'radio';
  input.name = id;
  input.value = option.value;
  const span = document.createElement('span');
  span.textContent = option.label;
  label.append(input, ' ');
  if (option.image && mediaURL) {
    const image = document.createElement('img');
    image.className = 'choice-image';
    image.alt = '';
    image.addEventListener('error', () => { image.hidden = true; }); // a file not uploaded
    image.src = mediaURL(option.image);
    label.append(image);
  }
  label.append(span);
  return label;
}
