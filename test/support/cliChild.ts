import { main } from '../../src/cli/main';

/** `gallery-export` in a child process (test/support/tsChild.js runs it), for drills that kill it. */
void main(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: new AbortController().signal,
}).then((code) => {
  process.exitCode = code;
});
