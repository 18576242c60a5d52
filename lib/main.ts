// The package's entry ('ravdl'): every export of index.ts, and the same object as the default
// export, so all three spellings give one module:
//   import * as R from 'ravdl';   import R from 'ravdl';   const R = require('ravdl');
export * from './index.js';
import * as R from './index.js';
export default R;
