import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Network-namespace and live-capture tests share host state (netns names, interfaces).
    fileParallelism: true,
  },
});
