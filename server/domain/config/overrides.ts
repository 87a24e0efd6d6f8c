/**
 * Cluster overrides: small changes an operator layers over the uploaded cluster
 * config without re-uploading it, e.g. trying a new sidecar version. The cluster keeps its base
 * config and its overrides apart; deployments use the base with the overrides applied.
 *
 * Fix of a ⚠: the Go code crashed when an existing override was not mentioned in a new list, and
 * when removing a key that was never set. Here untouched keys are kept and removing an absent key
 * does nothing.
 */
import { z } from 'zod';
import { ValidationError, type FieldIssue } from '../errors.ts';
import type { ClusterConfig } from './cluster.ts';

/** The keys an override may set, and what each one changes. */
export const SUPPORTED_OVERRIDE_KEYS = ['sidecarImageVersion'] as const;
export type OverrideKey = (typeof SUPPORTED_OVERRIDE_KEYS)[number];

/** One override: set `key` to `value`, or remove the key when `value` is absent (or null). */
export interface ClusterOverride {
  key: string;
  value?: string | null;
}

/**
 * A container image tag, as `<repo>:<tag>` takes it (the sidecar's `O5SidecarImage`): letters,
 * digits, `_`, `.` and `-`, not starting with `.` or `-`, at most 128 characters. Anything else
 * (an empty string, a space) makes an image reference that ECS cannot pull, found only once a
 * deployment has replaced the running tasks.
 */
export const imageTagSchema = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'Must be an image tag: letters, digits, _ . - (not starting with . or -), at most 128 characters');

/** What the value of each key must be: the base config's own rule for the field it sets. */
const OVERRIDE_VALUE_SCHEMAS: Record<OverrideKey, z.ZodType<string>> = {
  sidecarImageVersion: imageTagSchema,
};

/** An override as stored and answered. */
export const clusterOverrideSchema = z.strictObject({
  key: z.enum(SUPPORTED_OVERRIDE_KEYS, {
    error: () => `Unsupported override key; supported keys: ${SUPPORTED_OVERRIDE_KEYS.join(', ')}`,
  }),
  value: z.string().nullish(),
});

/** An override as requested: its value, when it sets one, must be what its key's field takes. */
export const clusterOverrideRequestSchema = clusterOverrideSchema.superRefine((o, ctx) => {
  if (o.value === undefined || o.value === null) return;
  for (const issue of OVERRIDE_VALUE_SCHEMAS[o.key].safeParse(o.value).error?.issues ?? []) {
    ctx.addIssue({ code: 'custom', path: ['value'], message: issue.message });
  }
});

/**
 * The stored override list after a new batch: a key in the batch replaces the stored one (or
 * removes it when the batch entry has no value); stored keys the batch does not mention stay.
 * Throws ValidationError (path `[i].key`) for a key outside SUPPORTED_OVERRIDE_KEYS, and (path
 * `[i].value`) for a value its key's field does not take.
 */
export function mergeOverrides(old: ClusterOverride[], incoming: ClusterOverride[]): ClusterOverride[] {
  assertSupportedKeys(incoming, true);
  const byKey = new Map<string, string>();
  for (const o of old) if (hasValue(o)) byKey.set(o.key, o.value);
  for (const o of incoming) {
    if (hasValue(o)) byKey.set(o.key, o.value);
    else byKey.delete(o.key);
  }
  return [...byKey].map(([key, value]) => ({ key, value }));
}

/** The effective cluster config: `base` with every override applied. `base` is not modified. */
export function applyClusterOverrides(base: ClusterConfig, overrides: ClusterOverride[]): ClusterConfig {
  assertSupportedKeys(overrides);
  const config: ClusterConfig = structuredClone(base);
  for (const o of overrides) {
    if (!hasValue(o)) continue;
    switch (o.key as OverrideKey) {
      case 'sidecarImageVersion':
        config.aws.o5Sidecar.imageVersion = o.value;
        break;
    }
  }
  return config;
}

function hasValue(o: ClusterOverride): o is { key: string; value: string } {
  return o.value !== undefined && o.value !== null;
}

/** `values`: check the values too (of a new batch; what is stored is applied as it was taken). */
function assertSupportedKeys(overrides: ClusterOverride[], values = false): void {
  const issues: FieldIssue[] = [];
  overrides.forEach((o, index) => {
    if (!(SUPPORTED_OVERRIDE_KEYS as readonly string[]).includes(o.key)) {
      issues.push({
        path: `[${index}].key`,
        message: `Unsupported override key "${o.key}"; supported keys: ${SUPPORTED_OVERRIDE_KEYS.join(', ')}`,
      });
    } else if (values && hasValue(o)) {
      const error = OVERRIDE_VALUE_SCHEMAS[o.key as OverrideKey].safeParse(o.value).error;
      if (error) issues.push({ path: `[${index}].value`, message: error.issues[0]!.message });
    }
  });
  if (issues.length > 0) throw new ValidationError(issues[0]!.message, issues);
}
