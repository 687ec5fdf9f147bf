// Time limits (of tests that check an algorithm is fast, and of the longest tests): ten times
// longer under npm run test:sanitizers / test:asan / test:ubsan, where the test processes and the addon are
// instrumented.
export function timeLimit(ms: number): number {
  return process.env.CNM_SANITIZER_PRELOAD ? ms * 10 : ms;
}
