// Every op test case, by group. A new group file must be listed here.
import type { OpCase } from '../case.js';
import { cases as unary } from './unary.js';
import { cases as binary } from './binary.js';
import { cases as reduce } from './reduce.js';
import { cases as shape } from './shape.js';
import { cases as creation } from './creation.js';
import { cases as indexing } from './indexing.js';
import { cases as nn } from './nn.js';
import { cases as optim } from './optim.js';
import { cases as losses } from './losses.js';
import { cases as spatial } from './spatial.js';

export const groups: Record<string, OpCase[]> = { unary, binary, reduce, shape, creation, indexing, nn, optim, losses, spatial };
