// ravdl/v2: the models (as the seed's `from ravdl.v2 import NeuralNetwork, Functional`).
export { NeuralNetwork } from './models/sequential.js';
export type { NeuralNetworkOptions, NeuralNetworkLoadOptions, FitOptions, History, EpochRecord } from './models/sequential.js';
export { Functional } from './models/functional.js';
export { EarlyStopping } from './models/callbacks.js';
export type { Callback, BatchLogs, EpochLogs, EarlyStoppingOptions, TrainingModel } from './models/callbacks.js';
export type { Evaluation, BatchOptions } from './models/engine.js';
export type { LossName, LossFn } from './models/losses.js';
export type { DataInput } from './models/data.js';
export type { ProgressStream } from './models/progress.js';
