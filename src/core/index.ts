export type * from './types.js';
export { instrument, relativePath, RUNTIME_SPECIFIER } from './instrument.js';
export { loadConfig, resolveConfig, configHash, DEFAULT_CONFIG, ConfigError, CONFIG_FILE } from './config.js';
export { languageFor, LANGUAGES } from './languages.js';
export { instrumentCached, openCache, cacheStats, clearCache, resolveCacheDir } from './cache.js';
export { composeSourceMaps, sourceMappingUrl, decodeDataUrl } from './source-maps.js';
