// tidy() scopes: every tensor created while a scope is open is disposed when the scope ends,
// except what the scope returns and what keep() marks. Scopes nest; a returned tensor moves to
// the enclosing scope (if any); a kept one leaves scope tracking altogether.
interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
  /** Called when the tensor leaves scope tracking for good (kept, or returned from the outermost scope). */
  _leaveScopes(): void;
}

const scopes: Set<Disposable>[] = [];

/** Called for every new tensor; false when no scope is open (the caller then tracks it itself). */
export function enterScope(t: Disposable): boolean {
  const top = scopes[scopes.length - 1];
  if (!top) return false;
  top.add(t);
  return true;
}

/** Exempts t from every open tidy() scope: it lives until disposed or garbage-collected. */
export function keep<T extends Disposable>(t: T): T {
  for (let i = scopes.length - 1; i >= 0; i--) {
    if (scopes[i]!.delete(t)) {
      t._leaveScopes();
      break;
    }
  }
  return t;
}

function collect(value: unknown, out: Set<unknown>, depth = 0): void {
  if (value == null || typeof value !== 'object' || depth > 4) return;
  if ('dispose' in value && 'isDisposed' in value) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, depth + 1);
}

/**
 * Runs fn and disposes every tensor it created that it does not return (tensors inside a
 * returned array or plain object count as returned). fn must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  if (result instanceof Promise) {
    throw new TypeError('tidy(fn): fn must be synchronous (it returned a Promise); tensors created after an await cannot be tracked');
  }
  const kept = new Set<unknown>();
  collect(result, kept);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (kept.has(t)) {
      if (parent) parent.add(t);
      else t._leaveScopes();
    } else if (!t.isDisposed) t.dispose();
  }
  return result;
}
