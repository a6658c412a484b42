// The rack's observers (the VIP monitors, the console probe) run at a raised priority.
import { setPriority } from "node:os";

/**
 * Scheduling priority (nice) of the rack's observers: the VIP monitors here and the console probe.
 * They stand for an observer and a console on machines of their own. On a 2-core host shared with
 * 64 BMC processes (the 32-BMC rack), the probe's own waits for CPU were part of every gap it
 * measured, and a monitor's (`ip -ts` stamps a change when it prints it) could make an address
 * look held after it was gone.
 */
export const OBSERVER_NICE = -15;

/** Raises a just-started observer process to OBSERVER_NICE (needs root; silently left as it is otherwise). */
export function raiseObserver(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    setPriority(pid, OBSERVER_NICE);
  } catch {
    // Not root: the observer runs at the default priority and may report late.
  }
}
