/**
 * yjs and lib0 ship their types as ES modules; this project compiles to CommonJS and Node
 * loads their CommonJS builds (their `require` export condition). The types are taken
 * from the ES build, the values from `require`: the same API, one instance of yjs.
 */
type YModule = typeof import('yjs', { with: { 'resolution-mode': 'import' }});
type DecodingModule = typeof import('lib0/decoding', { with: { 'resolution-mode': 'import' }});
type EncodingModule = typeof import('lib0/encoding', { with: { 'resolution-mode': 'import' }});

export const Y: YModule = require('yjs');
export const decoding: DecodingModule = require('lib0/decoding');
export const encoding: EncodingModule = require('lib0/encoding');
export type YDoc = InstanceType<YModule['Doc']>;
export type Decoder = InstanceType<DecodingModule['Decoder']>;
