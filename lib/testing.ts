// `cnm-ts/testing`: fault injection for tests of code that uses cnm-ts. Make the n-th kernel or
// disk operation from now fail, to prove that each step can fail without leaving anything half-made.
export { failOperation, faultPending, clearFault } from './native/faults';
