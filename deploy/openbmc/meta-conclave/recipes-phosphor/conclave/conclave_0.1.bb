SUMMARY = "Conclave agent: one clustered Redfish service for every BMC of a group"
DESCRIPTION = "conclaved (the agent) and conclave (its CLI), each one self-contained \
JavaScript file for Node.js, the systemd unit and a default configuration. The agents \
elect a Point-of-Contact with Raft; it holds a floating VIP serving one Redfish tree \
for the whole group."
HOMEPAGE = "https://github.com/conclave/conclave"
SECTION = "network"
# The repository carries no licence file yet: CLOSED until the project chooses one.
LICENSE = "CLOSED"

# The bundles are architecture-independent JavaScript built outside bitbake (`pnpm bundle`,
# esbuild, no native addons), found through CONCLAVE_DIST (conf/layer.conf). The unit and
# default config are this layer's own files (the unit is a link to deploy/systemd/).
FILESEXTRAPATHS:prepend := "${CONCLAVE_DIST}:"
SRC_URI = " \
    file://conclaved.mjs \
    file://conclave.mjs \
    file://conclaved.service \
    file://conclave.yaml \
"
# UNPACKDIR from styhead on; WORKDIR before (scarthgap).
S = "${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"

inherit systemd useradd allarch

# Node.js 22 or later (meta-oe's nodejs); ip for the VIP on the interface, arping for the
# gratuitous ARP that moves it (IPv6 VIPs also need na6 from ipv6toolkit, not in meta-oe).
RDEPENDS:${PN} = "nodejs iproute2 iputils-arping"

USERADD_PACKAGES = "${PN}"
USERADD_PARAM:${PN} = "--system --user-group --no-create-home --home-dir ${localstatedir}/lib/conclave \
    --shell /sbin/nologin conclave"

SYSTEMD_SERVICE:${PN} = "conclaved.service"
# The unit waits for /etc/conclave/cluster.key (ConditionPathExists): enabled in the image, it
# starts once the group's secret and config from `conclave init` have been copied in.
SYSTEMD_AUTO_ENABLE:${PN} = "enable"

do_install() {
    install -d ${D}${libdir}/conclave ${D}${bindir}
    install -m 0755 ${S}/conclaved.mjs ${D}${libdir}/conclave/conclaved.mjs
    install -m 0755 ${S}/conclave.mjs ${D}${libdir}/conclave/conclave.mjs
    # Node picks ES module or CommonJS by the real file's extension: the links keep `.mjs`.
    ln -sf ../lib/conclave/conclaved.mjs ${D}${bindir}/conclaved
    ln -sf ../lib/conclave/conclave.mjs ${D}${bindir}/conclave

    install -d ${D}${systemd_system_unitdir}
    install -m 0644 ${S}/conclaved.service ${D}${systemd_system_unitdir}/conclaved.service

    install -d -m 0750 ${D}${sysconfdir}/conclave
    install -m 0640 ${S}/conclave.yaml ${D}${sysconfdir}/conclave/conclave.yaml
    chown -R root:conclave ${D}${sysconfdir}/conclave
}

FILES:${PN} += "${libdir}/conclave ${systemd_system_unitdir}/conclaved.service"
# Every BMC of a group must share the same file: an upgrade keeps the operator's copy.
CONFFILES:${PN} = "${sysconfdir}/conclave/conclave.yaml"
