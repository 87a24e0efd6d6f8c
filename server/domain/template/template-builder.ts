/**
 * Collects a template's resources, parameters and outputs while the parts of an application are
 * mapped, and refuses two different things under one name: two config entries whose names clean up
 * to the same id (o5's names drop case and punctuation) are a validation issue at the second
 * entry's path, naming the first; without paths it is a mapping bug (422).
 */
import { DomainError, ValidationError } from '../errors.ts';
import type { CfnOutput, CfnResource, CfnTemplate, CfnValue } from './cfn.ts';
import type { TemplateParameter } from './parameters.ts';

export class TemplateBuilder {
  private readonly resources = new Map<string, CfnResource>();
  private readonly parameters = new Map<string, TemplateParameter>();
  private readonly outputs = new Map<string, CfnOutput>();
  /** The config entry each resource was made for, when one was: `secrets[0].name`. */
  private readonly resourcePaths = new Map<string, string>();

  /** Adds a resource; `path` is the config entry whose name gives the id, to point at on a clash. */
  addResource(logicalId: string, resource: CfnResource, path?: string): string {
    if (this.resources.has(logicalId)) {
      const first = this.resourcePaths.get(logicalId);
      if (path !== undefined && first !== undefined) throw nameClash(`resource ${logicalId}`, path, first);
      throw new DomainError('unprocessable', `Two resources of the template would both be named ${logicalId}; rename one of them`);
    }
    this.resources.set(logicalId, resource);
    if (path !== undefined) this.resourcePaths.set(logicalId, path);
    return logicalId;
  }

  /** Declares a parameter; declaring the same one again only records where else it is used. */
  addParameter(parameter: TemplateParameter): string {
    const existing = this.parameters.get(parameter.name);
    if (!existing) {
      this.parameters.set(parameter.name, { ...parameter, usedAt: [...parameter.usedAt] });
    } else if (JSON.stringify(existing.source) !== JSON.stringify(parameter.source) || existing.type !== parameter.type) {
      const [path, first] = [parameter.usedAt[0], existing.usedAt[0]];
      if (path !== undefined && first !== undefined) throw nameClash(`parameter ${parameter.name}`, path, first);
      throw new DomainError('unprocessable', `Parameter ${parameter.name} is declared twice with different sources`);
    } else {
      for (const path of parameter.usedAt) if (!existing.usedAt.includes(path)) existing.usedAt.push(path);
    }
    return parameter.name;
  }

  addOutput(name: string, value: CfnValue, description?: string): void {
    if (this.outputs.has(name)) throw new DomainError('unprocessable', `Output ${name} is declared twice`);
    this.outputs.set(name, description ? { Description: description, Value: value } : { Value: value });
  }

  hasResource(logicalId: string): boolean {
    return this.resources.has(logicalId);
  }

  build(description: string): { template: CfnTemplate; parameters: TemplateParameter[]; resourcePaths: ReadonlyMap<string, string> } {
    const parameters = [...this.parameters.values()];
    const template: CfnTemplate = {
      AWSTemplateFormatVersion: '2010-09-09',
      Description: description,
      Parameters: Object.fromEntries(
        parameters.map((p) => [
          p.name,
          {
            Type: p.type,
            ...(p.description ? { Description: p.description } : {}),
            // A static value is also the default, so the template can be read (and used) on its own.
            ...(p.source.kind === 'static' ? { Default: p.source.value } : {}),
          },
        ]),
      ),
      Resources: Object.fromEntries(this.resources),
    };
    if (this.outputs.size > 0) template.Outputs = Object.fromEntries(this.outputs);
    return { template, parameters, resourcePaths: new Map(this.resourcePaths) };
  }
}

/** Two config entries that o5's naming turns into one resource or parameter of the template. */
export function nameClash(what: string, path: string, first: string): ValidationError {
  const message = `Gives the template's ${what}, as ${first} already does (o5's names ignore case and punctuation); rename one of them`;
  return new ValidationError(`Cannot build the template: ${path}: ${message}`, [{ path, message }]);
}
