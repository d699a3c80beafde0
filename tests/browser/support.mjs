// What the Node tests share: the binary they drive, the Contoso test
// directory, and starting a latchkey command.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export const BIN = process.env.LATCHKEY_BIN ?? new URL('../../target/debug/latchkey', import.meta.url).pathname;
// The Contoso test directory, shared with the other test suites.
export const DIRECTORY = new URL('../fixtures/directory.toml', import.meta.url).pathname;

/**
 * Starts `latchkey ARGS…` (its standard error goes to the test's); resolves
 * with the process and the first `count` lines it printed (`serve`: the
 * listening line, then with `--tls-self-signed` the CA line), or rejects if
 * it exits first.
 */
export function launch(args, count = 1) {
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const lines = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (lines.length === count) resolve({ child, lines });
    });
    child.once('exit', (code) => reject(new Error(`latchkey ${args[0]} exited with ${code}`)));
  });
}
