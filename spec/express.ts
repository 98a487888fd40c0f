// The Express the specs mount the router in: 5 by default, 4 when EXPRESS_MAJOR=4 (the `express4`
// dev dependency, an npm alias of express@4). scripts/spec.mjs runs the whole suite once with each.
import express5 from 'express';
import express4 = require('express4');

export const expressMajor = process.env['EXPRESS_MAJOR'] === '4' ? 4 : 5;
const express = expressMajor === 4 ? express4 : express5;
export default express;
export type { Express, NextFunction, Request, Response } from 'express';
