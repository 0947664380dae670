import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/setup/build.ts', 'tests/setup/jaeger.ts'],
    testTimeout: 30_000,
    // The Go instrumenter daemon stays 10 minutes by default; a test run leaves none behind for long.
    env: { CTI_GO_DAEMON_IDLE_MS: '5000' },
    hookTimeout: 120_000,
  },
});
