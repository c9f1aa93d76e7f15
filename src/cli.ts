#!/usr/bin/env node
/**
 * The `o365-message-trace` command. Everything lives in cli/run-cli.ts so it can be tested in-process;
 * this file only binds it to the real process.
 */
import { runCli } from './cli/run-cli.js';

process.exitCode = await runCli(process.argv.slice(2));
// Keep-alive sockets or a late timer of a dependency must not hold a finished command open; the grace
// period lets stdout drain first. unref() means this timer alone never keeps the process alive.
setTimeout(() => process.exit(), 2_000).unref();
