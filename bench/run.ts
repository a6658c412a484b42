// `pnpm bench <name>`: runs bench/<name>.ts, which prints one summary line and writes
// bench/results/<name>.json.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const name = process.argv[2];
const benchDir = dirname(fileURLToPath(import.meta.url));
if (!name || !/^[a-z][a-z0-9-]*$/.test(name) || !existsSync(join(benchDir, `${name}.ts`))) {
  console.error(
    `unknown benchmark ${JSON.stringify(name ?? "")}; try: pnpm bench consensus, failover, facade, idle or events`,
  );
  process.exit(2);
}
await import(join(benchDir, `${name}.ts`));
