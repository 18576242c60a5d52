import { type Work, segmented } from '../io/drive.js';

// Whether ops are recorded on the autograd tape.
let enabled = true;

export function isGradEnabled(): boolean {
  return enabled;
}

/** Runs fn without recording ops on the tape (results do not require grad). fn must be synchronous. */
export function no_grad<T>(fn: () => T): T {
  const prev = enabled;
  enabled = false;
  try {
    return fn();
  } finally {
    enabled = prev;
  }
}

/** Runs fn with recording on, even inside no_grad. */
export function enable_grad<T>(fn: () => T): T {
  const prev = enabled;
  enabled = true;
  try {
    return fn();
  } finally {
    enabled = prev;
  }
}

/** no_grad() for work that pauses: recording is off only while the work runs. */
export function noGradWork<T>(work: Work<T>): Work<T> {
  return segmented(() => {
    const prev = enabled;
    enabled = false;
    return () => {
      enabled = prev;
    };
  }, work);
}
