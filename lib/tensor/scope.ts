// tidy() scopes: every tensor created while a scope is open is disposed when the scope ends,
// except what the scope returns and what keep() marks. Scopes nest; a returned tensor moves to
// the enclosing scope (if any); a kept one leaves scope tracking altogether.
//
// A scope also owns the tape nodes recorded inside it. When it ends, the nodes that its returned
// and kept tensors can still back-propagate through stay alive (and move to the enclosing scope);
// the others are freed at once, so the tensors they held go back to the pool deterministically
// instead of waiting for the garbage collector.
import { type Work, segmented } from '../io/drive.js';

interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
  /** Called when the tensor leaves scope tracking for good (kept, or returned from the outermost scope). */
  _leaveScopes(): void;
}

interface Scope {
  tensors: Set<Disposable>;
  /** Tape nodes recorded while this scope was the innermost one (or moved here by a child scope). */
  nodes: unknown[];
  /** Tensors keep() took out of this scope or a child: they may still back-propagate. */
  kept: Disposable[];
}

/**
 * Frees the given tape nodes that none of `escapees` can reach; returns the ones still reachable.
 * Installed by the autograd module (which knows what a node is).
 */
export type GraphCleanup = (nodes: unknown[], escapees: readonly Disposable[]) => unknown[];
let cleanup: GraphCleanup = () => [];

/** @internal */
export function setGraphCleanup(fn: GraphCleanup): void {
  cleanup = fn;
}

const scopes: Scope[] = [];

/** Called for every new tensor; false when no scope is open (the caller then tracks it itself). */
export function enterScope(t: Disposable): boolean {
  const top = scopes[scopes.length - 1];
  if (!top) return false;
  top.tensors.add(t);
  return true;
}

/** @internal hands a new tape node to the innermost scope (if any). */
export function adoptNode(node: unknown): void {
  scopes[scopes.length - 1]?.nodes.push(node);
}

/** Exempts t from every open tidy() scope: it lives until disposed or garbage-collected. */
export function keep<T extends Disposable>(t: T): T {
  for (let i = scopes.length - 1; i >= 0; i--) {
    if (scopes[i]!.tensors.delete(t)) {
      t._leaveScopes();
      scopes[i]!.kept.push(t);
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

/** Disposes what the scope does not let escape, frees unreachable nodes, hands the rest to the parent. */
function endScope(scope: Scope, returned: Set<unknown>): void {
  const parent = scopes[scopes.length - 1];
  const escapees: Disposable[] = [];
  for (const t of scope.kept) if (!t.isDisposed) escapees.push(t);
  for (const t of scope.tensors) {
    if (returned.has(t)) {
      escapees.push(t);
      if (parent) parent.tensors.add(t);
      else t._leaveScopes();
    } else if (!t.isDisposed) t.dispose();
  }
  const alive = scope.nodes.length ? cleanup(scope.nodes, escapees) : [];
  if (parent) {
    for (const n of alive) parent.nodes.push(n);
    for (const t of scope.kept) parent.kept.push(t);
  }
}

/**
 * Runs fn and disposes every tensor it created that it does not return (tensors inside a
 * returned array or plain object count as returned). fn must be synchronous. If fn throws,
 * everything it created (but what it kept) is disposed before the error propagates.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Scope = { tensors: new Set(), nodes: [], kept: [] };
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    endScope(scope, new Set());
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    endScope(scope, new Set());
    throw new TypeError('tidy(fn): fn must be synchronous (it returned a Promise); tensors created after an await cannot be tracked');
  }
  const returned = new Set<unknown>();
  collect(result, returned);
  endScope(scope, returned);
  return result;
}

/**
 * tidy() for work that pauses (see io/drive.ts): the scope is open only while the work runs, so
 * tensors that other code creates during a pause are not the work's, and are not disposed with it.
 */
export function* tidyWork<T>(work: Work<T>): Work<T> {
  const scope: Scope = { tensors: new Set(), nodes: [], kept: [] };
  let result: T;
  try {
    result = yield* segmented(() => {
      scopes.push(scope);
      return () => void scopes.pop();
    }, work);
  } catch (err) {
    endScope(scope, new Set());
    throw err;
  }
  const returned = new Set<unknown>();
  collect(result, returned);
  endScope(scope, returned);
  return result;
}
