// Proves the OpenBMC layer holds together: its default config passes the agent's own loader,
// its unit is the deploy/ unit (a link, not a copy that could drift), and the recipe installs
// the files the unit runs and depends on what they need.
import { readFileSync, realpathSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../packages/agent/src/config/load-config.ts";

const LAYER = resolve(import.meta.dirname, "../../deploy/openbmc/meta-conclave");
const FILES = resolve(LAYER, "recipes-phosphor/conclave/files");
const recipe = readFileSync(resolve(LAYER, "recipes-phosphor/conclave/conclave_0.1.bb"), "utf8");

describe("deploy/openbmc/meta-conclave", () => {
  it("ships a default config the agent accepts", () => {
    const file = resolve(FILES, "conclave.yaml");
    const { config } = parseConfig(readFileSync(file, "utf8"), { file: "/etc/conclave/conclave.yaml" });
    expect(config.secretFile).toBe("/etc/conclave/cluster.key");
    expect(config.bmc.verifyTls).toBe(false);
    expect(config.vip.mode).toBe("none");
  });

  it("installs deploy/systemd/conclaved.service itself", () => {
    expect(realpathSync(resolve(FILES, "conclaved.service"))).toBe(
      resolve(import.meta.dirname, "../../deploy/systemd/conclaved.service"),
    );
  });

  it("installs what the unit runs and depends on Node.js, ip and arping", () => {
    const unit = readFileSync(resolve(FILES, "conclaved.service"), "utf8");
    for (const binary of unit.match(/(?<=^Exec\w+=)\/usr\/bin\/\w+/gm) ?? []) {
      expect(recipe).toContain(`\${bindir}/${binary.slice("/usr/bin/".length)}`);
    }
    expect(recipe).toMatch(/^RDEPENDS:\$\{PN\} = "nodejs iproute2 iputils-arping"$/m);
    expect(recipe).toMatch(/^inherit systemd useradd allarch$/m);
    expect(recipe).toMatch(/^SYSTEMD_SERVICE:\$\{PN\} = "conclaved.service"$/m);
    const layerConf = readFileSync(resolve(LAYER, "conf/layer.conf"), "utf8");
    expect(layerConf).toMatch(/^BBFILE_COLLECTIONS \+= "conclave"$/m);
  });
});
