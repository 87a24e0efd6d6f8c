/** Helpers for the board's tests: another application than the demo's, in the demo environment. */
import { demoAppYaml } from './deployments.ts';

/** The demo application under another name: its own stack, `demo-<name>`. */
export function appYamlNamed(name: string): string {
  return demoAppYaml.replace(/^name: shop$/m, `name: ${name}`);
}
