// Entry point of the tinypool worker threads of `cti py hook`: one PyFileTask in, one PyFileOutcome out.
import { processPyFile } from './file.js';

export default processPyFile;
