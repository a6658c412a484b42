// The lease guard's worker thread, as source text: the agent ships as one bundled file, so the
// worker is started from a string (`new Worker(source, { eval: true })`) rather than from a file
// of its own. Plain CommonJS that uses Node built-ins only; `lease-guard.ts` explains the design.
//
// Shared with the agent's thread: a BigInt64Array of two cells.
//   [LEASE_END_CELL]  when the lease ends, in microseconds of process.hrtime (the same clock on
//                     every thread of the process); 0 while no lease is held.
//   [STATE_CELL]      IDLE, ARMED (the VIP is on the interface, or going onto it) or FIRED.
// The agent's thread moves the lease end with every Raft turn, arms at a claim and disarms at a
// release. This thread wakes at the lease's end plus the slack; if the cell still says ARMED and
// the end has not moved, it swaps ARMED for FIRED (so a release racing it wins cleanly) and runs
// the release command through a shell started beforehand — no fork of this process at that moment.

export const LEASE_END_CELL = 0;
export const STATE_CELL = 1;
export const GUARD_IDLE = 0n;
export const GUARD_ARMED = 1n;
export const GUARD_FIRED = 2n;

/** Bound on the stderr kept from the release command (a report, not a log). */
export const GUARD_STDERR_MAX_CHARS = 4096;

/** What the worker reports to the agent's thread after it ran the release command. */
export interface GuardFiredMessage {
  readonly type: "fired";
  /** How long after the lease's end the command started. */
  readonly lateMs: number;
  /** How long the command ran. */
  readonly tookMs: number;
  readonly code: number | null;
  readonly signal: string | null;
  readonly stderr: string;
  readonly error: string | undefined;
}

/** workerData: `{ view, line, shell, slackUs }`. Messages in: "check" (re-read the cells), \`{ setNice }\` and "close"; out: "ready", then GuardFiredMessage. */
export const LEASE_GUARD_WORKER_SOURCE = `"use strict";
const { parentPort, workerData } = require("node:worker_threads");
const { spawn } = require("node:child_process");
const { setPriority } = require("node:os");
const view = workerData.view;
const LEASE_END_CELL = ${LEASE_END_CELL};
const STATE_CELL = ${STATE_CELL};
const ARMED = ${GUARD_ARMED}n;
const FIRED = ${GUARD_FIRED}n;
const STDERR_MAX = ${GUARD_STDERR_MAX_CHARS};
const slackUs = BigInt(workerData.slackUs);
const nowUs = () => process.hrtime.bigint() / 1000n;
let standby;
let timer;
let closing = false;

const startShell = () => {
  const child = spawn(workerData.shell, ["-s"], { stdio: ["pipe", "ignore", "pipe"] });
  const shell = { child, stderr: "", gone: false, error: undefined };
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    if (shell.stderr.length < STDERR_MAX) shell.stderr += chunk;
  });
  child.stdin.on("error", () => {});
  child.on("error", (error) => {
    shell.error = error.message;
    shell.gone = true;
  });
  child.on("exit", () => {
    shell.gone = true;
  });
  return shell;
};

const fire = (lateUs) => {
  const shell = standby !== undefined && !standby.gone ? standby : startShell();
  standby = undefined;
  const startedUs = nowUs();
  let reported = false;
  const report = (code, signal) => {
    if (reported) return;
    reported = true;
    parentPort.postMessage({
      type: "fired",
      lateMs: Number(lateUs) / 1000,
      tookMs: Number(nowUs() - startedUs) / 1000,
      code,
      signal,
      stderr: shell.stderr.slice(0, STDERR_MAX),
      error: shell.error,
    });
    if (!closing && standby === undefined) standby = startShell();
  };
  shell.child.once("close", report);
  shell.child.once("error", () => report(null, null));
  shell.child.stdin.end(workerData.line + "\\n");
};

const check = () => {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  if (closing || Atomics.load(view, STATE_CELL) !== ARMED) return;
  const endUs = Atomics.load(view, LEASE_END_CELL);
  const now = nowUs();
  const dueUs = endUs + slackUs;
  if (now < dueUs) {
    timer = setTimeout(check, Math.ceil(Number(dueUs - now) / 1000));
    return;
  }
  if (Atomics.compareExchange(view, STATE_CELL, ARMED, FIRED) !== ARMED) return;
  fire(endUs === 0n ? 0n : now - endUs);
};

parentPort.on("message", (message) => {
  if (typeof message === "object" && message !== null && typeof message.setNice === "number") {
    // The standby shell keeps the priority of the moment it started: move it (the release command
    // it runs inherits it). A shell started later takes this thread's, already moved.
    if (standby === undefined || standby.gone || standby.child.pid === undefined) return;
    try {
      setPriority(standby.child.pid, message.setNice);
    } catch {
      // The shell ended meanwhile: the next one is started with this thread's priority.
    }
    return;
  }
  if (message !== "close") {
    check();
    return;
  }
  closing = true;
  if (timer !== undefined) clearTimeout(timer);
  if (standby !== undefined) standby.child.stdin.end();
  parentPort.close();
});
standby = startShell();
parentPort.postMessage("ready");
check();
`;
