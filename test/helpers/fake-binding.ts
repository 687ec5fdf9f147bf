// A stand-in for the addon's binding in unit tests that mock lib/native/loader: `execute` is the
// test's own, every other member does nothing.
import type { NativeBinding } from '../../lib/native/types';

export function fakeBinding(execute: NativeBinding['execute']): NativeBinding {
  return {
    execute,
    waitLinksGone: () => Promise.resolve(),
    setErrorFactory: () => undefined,
    errnoNames: () => [],
    dropKeptSockets: () => undefined,
    effectiveCapabilities: () => 0n,
    dnsStart: () => undefined,
    dnsStop: () => undefined,
    dnsAttach: () => undefined,
    dnsDetach: () => undefined,
    dnsSend: () => undefined,
    dnsForget: () => undefined,
  };
}
