/**
 * An environment variable, or undefined when it is unset or the runtime does not let us read it
 * (Deno without --allow-env for that name throws NotCapable): the variables cnm-ts reads are all
 * optional.
 */
export function envVar(name: string): string | undefined {
  try {
    return process.env[name];
  } catch {
    return undefined;
  }
}
