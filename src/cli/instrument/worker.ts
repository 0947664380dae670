// Entry point of the tinypool worker threads: one FileTask in, one FileOutcome out.
import { processFile } from './process-file.js';

export default processFile;
