#!/usr/bin/env node
import { run } from '../core/main';


run({
    env: process.env,
    argv: process.argv.slice(2),
    signals: process,
    exit: (code) => process.exit(code),
    stderr: process.stderr
});
