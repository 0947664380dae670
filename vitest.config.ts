import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/setup/build.ts', 'tests/setup/jaeger.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
