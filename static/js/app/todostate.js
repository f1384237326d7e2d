// The person's 待办 from what the phone holds (IndexedDB through db.js): their households
// (caselist.js localList: the last download with their unsent work on top), the reports
// their unit files (/me's, as last downloaded) and their outbox, with the "newly assigned"
// state kept in meta 'todoSeen:<owner>' (todo.js noteSeen). No DOM: the page (home entry,
// #/todo) and the service worker (periodic sync with no network) both read it.
import * as store from '../db.js';
import { HOUSEHOLDS, localList } from './caselist.js';
import { localDay } from './entities.js';
import { markOpened, noteSeen, todoItems } from './todo.js';

const SEEN = (owner) => `todoSeen:${owner}`;

// { items, rows, fetchedAt (of the household list, ms or null), today }. Looking also
// records newly seen households (the first look after a download seeds silently).
export async function loadTodo(owner, today = localDay()) {
  const [list, reports, outbox, seenBefore] = await Promise.all([
    localList(owner, HOUSEHOLDS), store.getReports(owner), store.listOutbox(owner), store.getMeta(SEEN(owner)),
  ]);
  const { seen, changed } = noteSeen(seenBefore || null, list.rows, today, { listed: !!list.fetchedAt });
  if (changed) await store.setMeta(SEEN(owner), seen);
  const items = todoItems({ rows: list.rows, reports, outbox, seen, today });
  return { items, rows: list.rows, fetchedAt: list.fetchedAt, today };
}

// The person opened household `name` (its visit form, or it in 待办): no longer 新分配.
export async function householdOpened(owner, name) {
  const seen = await store.getMeta(SEEN(owner));
  const next = markOpened(seen, name);
  if (next !== seen) await store.setMeta(SEEN(owner), next);
}

// Logout: the person's 待办 state and reminder settings leave the phone.
export async function forgetTodo(owner) {
  for (const key of [SEEN(owner), `reminderPrefs:${owner}`, `todoNotified:${owner}`]) await store.setMeta(key, null);
}
