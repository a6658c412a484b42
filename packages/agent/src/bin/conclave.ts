#!/usr/bin/env node
// conclave: the operator's CLI for the local Conclave agent. `conclave --help` lists the commands.
//   node packages/agent/src/bin/conclave.ts status [--config FILE | --socket PATH] [--json] [--timeout MS]
import { runCli } from "../cli/main.ts";

// `conclave members | head -1` closes the pipe early: that is the reader's choice, not a failure.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
