// Reading a request's application config: the text is read once while it is remembered
// (readApplicationText); every caller still gets the config that text says, as its own copy.
import { describe, expect, it } from 'vitest';
import { readApplication as readApplicationDocument } from '../../domain/application/index.ts';
import { ValidationError } from '../../domain/errors.ts';
import { readApplication, readApplicationText } from './request-deployment.ts';

const text = (name: string, extra = '') =>
  `name: ${name}\nruntimes:\n  - name: main\n    containers: [{ name: main, image_url: x }]\n    routes:\n      - { prefix: /, protocol: ROUTE_PROTOCOL_HTTP${extra} }\n`;

describe('reading an application config sent as text', () => {
  it('gives what reading the text gives, again and again', () => {
    const yaml = text('remembered');
    expect(readApplicationText(yaml)).toEqual(readApplicationDocument(yaml, 'yaml'));
    expect(readApplicationText(yaml)).toEqual(readApplicationDocument(yaml, 'yaml'));
  });

  it('hands each caller its own copy: a change to one is not seen by the next', () => {
    const yaml = text('copied');
    const first = readApplicationText(yaml);
    first.application.name = 'changed';
    first.application.runtimes[0]!.routes.length = 0;
    first.warnings.length = 0;
    const second = readApplicationText(yaml);
    expect(second.application.name).toBe('copied');
    expect(second.application.runtimes[0]!.routes).toHaveLength(1);
    expect(second.warnings.map((w) => w.legacyKey)).toEqual(['image_url']);
  });

  it('reads a changed text anew: never the config of another text', () => {
    const before = readApplicationText(text('changing'));
    const after = readApplicationText(text('changing', ', bypass_ingress: true'));
    expect(before.application.runtimes[0]!.routes[0]!.bypassIngress).toBe(false);
    expect(after.application.runtimes[0]!.routes[0]!.bypassIngress).toBe(true);
    expect(after.warnings.map((w) => w.legacyKey)).toEqual(['image_url', 'bypass_ingress']);
    expect(readApplicationText(text('changing')).application).toEqual(before.application);
  });

  it('refuses an invalid text every time it is sent, with paths into the request', () => {
    const invalid = 'name: broken\nruntimes: [{ name: main, containers: [{ name: main }], wrong: 1 }]\n';
    for (let i = 0; i < 2; i++) {
      const error = (() => {
        try {
          readApplication({ applicationYaml: invalid });
        } catch (err) {
          return err;
        }
      })();
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.every((issue) => issue.path?.startsWith('applicationYaml'))).toBe(true);
    }
  });
});

