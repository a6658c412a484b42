// Waiting for several reads with one bound: a merged answer takes what arrived in time and a
// stand-in for the rest. The late reads are not cancelled: they go on and fill their caches.

/**
 * The values of `pending` in order, each as it settled within `waitMs`, or `late(index)` for those
 * that had not by then. One timer for the lot; none when everything is already a value. A
 * rejection in time rejects the whole (as Promise.all does); a late one is ignored.
 */
export function allWithin<T>(
  pending: readonly (T | PromiseLike<T>)[],
  waitMs: number,
  late: (index: number) => T,
): Promise<T[]> {
  const results = new Array<T>(pending.length);
  const unsettled = new Set<number>();
  pending.forEach((value, index) => {
    if (isThenable(value)) unsettled.add(index);
    else results[index] = value;
  });
  if (unsettled.size === 0) return Promise.resolve(results);
  return new Promise<T[]>((resolve, reject) => {
    let done = false;
    const finish = (): void => {
      done = true;
      clearTimeout(timer);
      resolve(results);
    };
    const timer = setTimeout(() => {
      if (done) return;
      for (const index of unsettled) results[index] = late(index);
      finish();
    }, waitMs);
    for (const index of unsettled) {
      (pending[index] as PromiseLike<T>).then(
        (value) => {
          if (done) return;
          results[index] = value;
          unsettled.delete(index);
          if (unsettled.size === 0) finish();
        },
        (error: unknown) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          reject(error);
        },
      );
    }
  });
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}
