// Every op of the catalog as a function (R.<name>), plus composites built from them.
export * from './unary.js';
export * from './binary.js';
export * from './where.js';
export * from './reduce.js';
export * from './shape.js';
export * from './matmul.js';
export * from './creation.js';
export * from './join.js';
export * from './indexing.js';
export * from './conv.js';
export * from './conv1d.js';
export * from './pool.js';
export * from './norm.js';
export { softmax, log_softmax, softmin } from './softmax.js';
export * from './loss.js';
export * from './pointwise_loss.js';
export * from './dropout.js';
export * from './embedding.js';
import './optim.js'; // the optimizer updates (used by lib/v2/optimizers)
export { ops, getOp, callOp, onDispatch, dispatch, defineOp } from './define.js';
export type { OpDef, OutMeta, GradContext, InputSpec, DispatchListener } from './define.js';
import './methods.js';
