import type { ValidateFunction } from 'ajv';
import type { NotifyType } from './notification-types';
// Compiled from schema/ at build time (scripts/precompile.mjs, Ajv standalone code, options and
// reasons there): loading Ajv and compiling at start-up cost about 100 ms.
import precompiled = require('./precompiled-validators');

export type Validators = { readonly [T in NotifyType]: ValidateFunction };

export const validators: Validators = precompiled;
