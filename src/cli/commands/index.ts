import type { CommandModule } from 'yargs';
import validate from './validate.js';
import render from './render.js';
import plan from './plan.js';
import run from './run.js';
import runDir from './run-dir.js';
import status from './status.js';
import tables from './tables.js';
import report from './report.js';
import model from './model.js';
import data from './data.js';
import doctor from './doctor.js';
import sweep from './sweep.js';
import weights from './weights.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [validate, render, plan, run, runDir, status, tables, report, sweep, data, model, weights, doctor];
