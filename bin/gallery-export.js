#!/usr/bin/env node
'use strict';
// The compiled CLI (npm run build). Kept tiny so `bin` works from a clean checkout after a build. The local
// stack's commands (`local`, `demo`) live in dev/ and are added only when dev/ was built alongside.
const { runFromProcess } = require('../dist/src/cli/main.js');
const extensions = [];
try {
  extensions.push(require('../dist/dev/cli/localStackCommands.js').registerLocalStackCommands);
} catch (error) {
  if (!(error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes('localStackCommands'))) {
    throw error;
  }
}
runFromProcess(extensions);
