// Preloaded (`node -r`) into each test-suite process of tests/third-party.test.ts: at exit, writes the
// CPU time the process used to $THIRD_PARTY_CPU_FILE. Wall time on a shared machine is noisy; CPU
// time compares the original and instrumented runs more steadily. Writes nothing to stdout/stderr.
'use strict';
const { writeFileSync } = require('node:fs');

const file = process.env.THIRD_PARTY_CPU_FILE;
if (file) {
  process.on('exit', () => {
    const { user, system } = process.cpuUsage();
    writeFileSync(file, JSON.stringify({ userUs: user, systemUs: system }));
  });
}
