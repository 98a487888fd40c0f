// dist/core/precompiled-validators.js is written by scripts/build.mjs (see scripts/precompile.mjs).
import type { ValidateFunction } from 'ajv';
import type { NotifyType } from './notification-types';

declare const validators: { readonly [T in NotifyType]: ValidateFunction };
export = validators;
