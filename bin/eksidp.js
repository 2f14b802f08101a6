#!/usr/bin/env node
'use strict';
// Runs the compiled CLI (built by `npm run prepare`, which `npm ci` runs): no TypeScript loader at run time.
require('../dist/cli/index.js').main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
