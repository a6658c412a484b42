// The DMTF schema validator the simulator's tests use: one loader for every package's tests.
export * from "../../../bmc-simulator/test/redfish-schemas.ts";
