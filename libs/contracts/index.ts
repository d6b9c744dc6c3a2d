export * from './error-codes.js';
export * from './wire.js';
export * from './licence.js';
export * from './engine-subjects.js';
export * from './licence-parser.js';
export * from './orders.js';
export * from './book-checksum.js';
export * from './valuation.js';
