/**
 * Loaded first in a child process (test/support/tsChild.js): reports every process warning on stderr as
 * one line `process-warning <name>: <message>`, so a test can fail on a warning the user did not cause.
 * (In jest's sandbox `process.on('warning')` never hears the real process's warnings: hence a child.)
 */
process.on('warning', (warning) => {
  process.stderr.write(`process-warning ${warning.name}: ${warning.message.split('\n')[0]}\n`);
});
