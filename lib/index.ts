// The public API of cnm-ts. The CNM objects (NetworkController, Network, Endpoint, Sandbox) build
// on the kernel operations exported here.
export * from './native';
export { CnmError, type CnmErrorCode } from './errors';
