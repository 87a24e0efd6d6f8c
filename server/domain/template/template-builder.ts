/**
 * Collects a template's resources, parameters and outputs while the parts of an application are
 * mapped, and refuses two different things under one name (a mapping bug, or two config entries
 * whose names clean up to the same id).
 */
import { DomainError } from '../errors.ts';
import type { CfnOutput, CfnResource, CfnTemplate, CfnValue } from './cfn.ts';
import type { TemplateParameter } from './parameters.ts';

export class TemplateBuilder {
  private readonly resources = new Map<string, CfnResource>();
  private readonly parameters = new Map<string, TemplateParameter>();
  private readonly outputs = new Map<string, CfnOutput>();

  addResource(logicalId: string, resource: CfnResource): string {
    if (this.resources.has(logicalId)) {
      throw new DomainError('unprocessable', `Two resources of the template would both be named ${logicalId}; rename one of them`);
    }
    this.resources.set(logicalId, resource);
    return logicalId;
  }

  /** Declares a parameter; declaring the same one again only records where else it is used. */
  addParameter(parameter: TemplateParameter): string {
    const existing = this.parameters.get(parameter.name);
    if (!existing) {
      this.parameters.set(parameter.name, { ...parameter, usedAt: [...parameter.usedAt] });
    } else if (JSON.stringify(existing.source) !== JSON.stringify(parameter.source) || existing.type !== parameter.type) {
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

  build(description: string): { template: CfnTemplate; parameters: TemplateParameter[] } {
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
    return { template, parameters };
  }
}
