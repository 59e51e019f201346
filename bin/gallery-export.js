#!/usr/bin/env node
'use strict';
// The compiled CLI (npm run build). Kept tiny so `bin` works from a clean checkout after a build.
require('../dist/src/cli/main.js').runFromProcess();
