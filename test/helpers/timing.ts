// Time limits of the tests that check an algorithm is fast: ten times longer under
// npm run test:asan / test:ubsan, where every allocation of the test process is instrumented.
export function timeLimit(ms: number): number {
  return process.env.CNM_SANITIZER_PRELOAD ? ms * 10 : ms;
}
