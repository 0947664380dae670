import type { RegisterCommand } from '../context.js';
import { registerCache } from './cache.js';
import { registerDemo } from './demo.js';
import { registerIngest } from './ingest.js';
import { registerInstrument } from './instrument.js';
import { registerPy } from './py.js';
import { registerServe } from './serve.js';
import { registerShow } from './show.js';

/**
 * Every `cti` subcommand, in help order. To add one (`run`, `demo`, `serve`, ...): create
 * `commands/<name>.ts` exporting a RegisterCommand that calls `program.command('<name>')`
 * (so it inherits main's error handling), then list it here.
 */
export const COMMANDS: RegisterCommand[] = [
  registerInstrument,
  registerCache,
  registerDemo,
  registerIngest,
  registerPy,
  registerServe,
  registerShow,
];
