/** This package's version (one reader for the core and the runtimes: see src/runtime/export/version.ts). */
export { VERSION as PACKAGE_VERSION } from '../runtime/export/version.js';
