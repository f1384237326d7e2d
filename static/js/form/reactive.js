// A tiny reactive stateFactory for @getodk/xforms-engine.
//
// Why: the engine's default stateFactory is the identity, so nothing tells the page
// that a state changed. The engine writes every change into the object our factory
// returns (`clientState[key] = value`), so a Proxy with a `set` trap learns about each
// write. One answer can cause hundreds of writes (relevance, calculations), so writes
// only mark their object dirty; listeners run once per object per microtask, after
// the engine has finished its synchronous work. The DOM is then patched only for the
// nodes whose state changed, never re-rendered as a whole.

// Reading this key through a node's currentState/validationState gives the raw object
// behind our Proxy: the stable identity we key listeners on.
export const RAW = Symbol('fieldapp.raw');

export function createReactiveFactory() {
  const listeners = new WeakMap(); // raw state object -> Set<callback>
  let dirty = new Set();
  let scheduled = false;

  function flush() {
    scheduled = false;
    const objects = dirty;
    dirty = new Set();
    const callbacks = new Set();
    for (const raw of objects) {
      const set = listeners.get(raw);
      if (set) for (const cb of set) callbacks.add(cb);
    }
    for (const cb of callbacks) {
      try {
        cb();
      } catch (err) {
        // One broken widget must not stop the others from updating.
        console.error('fieldapp: update failed', err);
      }
    }
  }

  function markDirty(raw) {
    dirty.add(raw);
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(flush);
    }
  }

  function factory(object) {
    return new Proxy(object, {
      get(target, key, receiver) {
        if (key === RAW) return target;
        return Reflect.get(target, key, receiver);
      },
      set(target, key, value, receiver) {
        const old = target[key];
        const ok = Reflect.set(target, key, value, receiver);
        if (!Object.is(old, value)) markDirty(target);
        return ok;
      },
    });
  }

  // Call `callback` (batched) whenever any of the given state objects change.
  // Each argument is a node's currentState or validationState (engine proxies that
  // forward to ours), or null.
  function watch(callback, ...states) {
    for (const state of states) {
      const raw = state && state[RAW];
      if (!raw) continue;
      let set = listeners.get(raw);
      if (!set) listeners.set(raw, (set = new Set()));
      set.add(callback);
    }
  }

  return { factory, watch, flush };
}
