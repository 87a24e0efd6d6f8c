/**
 * The realistic cluster of test/fixtures/clusters/test-cluster.yaml (account 123456789012,
 * us-east-1, a Secrets Manager server group `default` and an IAM one `aurora`) and its
 * environment `test-env`, parsed through the real schemas.
 */
import { readFileSync } from 'node:fs';
import { clusterDocumentSchema, clusterOfDocument, type ClusterConfig } from '../../server/domain/config/cluster.ts';
import type { EnvironmentConfig } from '../../server/domain/config/environment.ts';
import { parseDocument, validateDocument } from '../../server/domain/documents.ts';

function loadDocument() {
  const text = readFileSync(new URL('../fixtures/clusters/test-cluster.yaml', import.meta.url), 'utf8');
  return validateDocument(clusterDocumentSchema, parseDocument(text, 'yaml'), 'cluster document');
}

/** A fresh copy each call, so a test may change it. */
export function testCluster(): ClusterConfig {
  return clusterOfDocument(loadDocument());
}

export function testEnvironment(): EnvironmentConfig {
  return loadDocument().environments[0]!;
}
