/**
 * Values the code gives a special meaning, said in the API document where a client reads the field:
 * the commit of a stored branch deletion, and a live version CloudFormation shows only masked.
 */
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../openapi/document.ts';
import { NO_ECHO_MASK } from '../domain/cloudformation/restore-parameters.ts';
import { BRANCH_DELETED } from '../github/webhook/push-event.ts';

describe('the API document on special values', () => {
  const schemas = buildOpenApiDocument().components!.schemas! as Record<string, { properties: Record<string, { description?: string }> }>;

  it('says which commit a delivery of a branch deletion has, as the receiver sends it', () => {
    expect(schemas.Delivery!.properties.commit!.description).toContain(`\`${BRANCH_DELETED}\` for a deletion of the branch`);
    expect(schemas.DeliveryRequest!.properties.commit!.description).toContain(`\`${BRANCH_DELETED}\``);
  });

  it('says a live version is null also when the VersionTag is NoEcho', () => {
    expect(schemas.LiveStack!.properties.version!.description).toMatch(/null when it has none, or when its template declares it NoEcho/);
    expect(schemas.LiveStack!.properties.version!.description).toContain(NO_ECHO_MASK);
  });
});
