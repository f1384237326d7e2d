// The person's entity list as the phone shows it: the server's last download (db.js
// 'entityLists', kept by sync.js) with the phone's own finalized, not yet reflected work
// on top (app/entities.js). Read by 我的家庭 (households.js), the home screen and the
// form engine (fillview.js serves it as households.csv), so all three agree.
import * as store from '../db.js';
import { applyLocal, FIXED_COLUMNS, listColumns, pendingItems, toCSV } from './entities.js';

export const HOUSEHOLDS = 'households';

// { rows, columns, fetchedAt (ms, or null: never downloaded), local (rows changed here) }
export async function localList(owner, dataset = HOUSEHOLDS) {
  const [list, outbox, forms] = await Promise.all([
    store.getEntityList(owner, dataset), store.listOutbox(owner), store.listForms(owner),
  ]);
  const specs = {};
  for (const f of forms) {
    if (!f.entities) continue;
    specs[`${f.form_id}@${f.version}`] = f.entities;
    specs[f.form_id] = specs[f.form_id] || f.entities;
  }
  const fetchedAt = list ? list.fetchedAt : null;
  const rows = applyLocal(list ? list.rows : [], pendingItems(outbox, fetchedAt || 0), specs, dataset);
  const columns = listColumns(list ? list.columns : FIXED_COLUMNS, rows);
  return { rows, columns, fetchedAt, local: rows.filter((r) => r.__local).length };
}

// The list as the CSV a form reads (select_one_from_file, the entity calculations).
export async function localListCSV(owner, dataset = HOUSEHOLDS) {
  const { rows, columns } = await localList(owner, dataset);
  return toCSV(columns, rows);
}

// Of the person's forms, those that update / create entities of `dataset`, by title.
export function entityForms(forms, dataset = HOUSEHOLDS) {
  const of = (key) => forms.filter((f) => f.entities && f.entities.dataset === dataset && f.entities[key]);
  return { update: of('update'), create: of('create') };
}
