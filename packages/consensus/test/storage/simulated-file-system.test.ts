// SimulatedFileSystem loses exactly what a power cut would, and injects ENOSPC and crashes on cue.
import { describe, expect, it } from "vitest";
import { SeededRandom } from "../../src/prng.ts";
import { SimulatedCrash, SimulatedFileSystem } from "../../src/storage/simulated-file-system.ts";

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const read = (fs: SimulatedFileSystem, path: string): string => new TextDecoder().decode(fs.readFile(path));

function withDir(): SimulatedFileSystem {
  const fs = new SimulatedFileSystem();
  fs.mkdir("/d");
  return fs;
}

describe("SimulatedFileSystem", () => {
  it("keeps synced data and synced directory entries across a crash, and loses the rest", () => {
    const fs = withDir();
    const handle = fs.openAppend("/d/a");
    fs.append(handle, text("durable"));
    fs.fsync(handle);
    fs.fsyncDirectory("/d");
    fs.append(handle, text("-lost"));
    const other = fs.openAppend("/d/b");
    fs.append(other, text("synced but never linked durably"));
    fs.fsync(other);
    expect(read(fs, "/d/a")).toBe("durable-lost");
    fs.crash();
    expect(read(fs, "/d/a")).toBe("durable");
    expect(fs.readdir("/d")).toEqual(["a"]);
    expect(() => fs.append(handle, text("x"))).toThrow(/EBADF/);
  });

  it("makes a rename durable only with a directory fsync", () => {
    const fs = withDir();
    for (const [name, content] of [
      ["/d/f", "old"],
      ["/d/f.tmp", "new"],
    ] as const) {
      const handle = fs.openAppend(name);
      fs.append(handle, text(content));
      fs.fsync(handle);
      fs.close(handle);
    }
    fs.fsyncDirectory("/d");
    fs.rename("/d/f.tmp", "/d/f");
    expect(read(fs, "/d/f")).toBe("new");
    fs.crash();
    expect(read(fs, "/d/f")).toBe("old");
    fs.rename("/d/f.tmp", "/d/f");
    fs.fsyncDirectory("/d");
    fs.crash();
    expect(read(fs, "/d/f")).toBe("new");
    expect(fs.readdir("/d")).toEqual(["f"]);
  });

  it("tears unsynced data to a prefix, deterministically for a seed", () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const run = (): string => {
        const fs = withDir();
        const handle = fs.openAppend("/d/a");
        fs.fsyncDirectory("/d");
        fs.append(handle, text("0123"));
        fs.fsync(handle);
        fs.append(handle, text("456789"));
        fs.crash(new SeededRandom(seed));
        return read(fs, "/d/a");
      };
      const first = run();
      expect(run()).toBe(first);
      expect("0123456789".startsWith(first) && first.length >= 4).toBe(true);
      outcomes.add(first);
    }
    expect(outcomes.size).toBeGreaterThan(3);
  });

  it("restores data a truncate cut from the synced part", () => {
    const fs = withDir();
    const handle = fs.openAppend("/d/a");
    fs.fsyncDirectory("/d");
    fs.append(handle, text("abcdef"));
    fs.fsync(handle);
    fs.truncate(handle, 2);
    fs.append(handle, text("XY"));
    expect(read(fs, "/d/a")).toBe("abXY");
    fs.crash(new SeededRandom(3));
    expect(read(fs, "/d/a")).toBe("abcdef");
  });

  it("fails a write past the byte budget with ENOSPC after a partial write, and frees space on unlink", () => {
    const fs = withDir();
    fs.capacityBytes = 10;
    const handle = fs.openAppend("/d/a");
    fs.append(handle, text("12345678"));
    expect(() => fs.append(handle, text("abcd"))).toThrow(expect.objectContaining({ code: "ENOSPC" }));
    expect(read(fs, "/d/a")).toBe("12345678ab");
    expect(fs.bytesUsed).toBe(10);
    fs.unlink("/d/a");
    expect(fs.bytesUsed).toBe(0);
    const other = fs.openAppend("/d/b");
    fs.append(other, text("0123456789"));
  });

  it("crashes on the Nth mutating operation and stays down until crash()", () => {
    const fs = withDir();
    const handle = fs.openAppend("/d/a");
    fs.fsyncDirectory("/d");
    fs.crashAfterOperations(3);
    fs.append(handle, text("a"));
    fs.fsync(handle);
    expect(() => fs.append(handle, text("b"))).toThrow(SimulatedCrash);
    expect(fs.isCrashed).toBe(true);
    expect(() => fs.readdir("/d")).toThrow(SimulatedCrash);
    fs.crash();
    expect(read(fs, "/d/a")).toBe("a");
  });

  it("fails one operation with an injected error code", () => {
    const fs = withDir();
    fs.failAfterOperations(1, "EIO");
    expect(() => fs.openAppend("/d/a")).toThrow(expect.objectContaining({ code: "EIO" }));
    expect(() => fs.openAppend("/d/a")).not.toThrow();
  });
});
