import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../config.ts';
import { loadWebhookSettings, maskUrlCredentials } from './settings.ts';

const required = { GITHUB_WEBHOOK_SECRET: 's3cret', DEPLOYER_URL: 'http://deployer:8080' };

describe('webhook receiver settings', () => {
  it('reads the secret, the deployer and its token, with defaults for the rest', () => {
    expect(loadWebhookSettings({ ...required, DEPLOYER_TOKEN: 'tok' })).toEqual({
      secret: 's3cret',
      deployerUrl: 'http://deployer:8080',
      deployerToken: 'tok',
      port: 8081,
      logLevel: 'info',
    });
    expect(loadWebhookSettings({ ...required, PORT: '9000', LOG_LEVEL: 'DEBUG' })).toMatchObject({ port: 9000, logLevel: 'debug', deployerToken: undefined });
  });

  it('names the setting that is missing or wrong', () => {
    const variableOf = (env: Record<string, string>) => {
      try {
        loadWebhookSettings(env);
      } catch (err) {
        if (err instanceof ConfigError) return err.variable;
        throw err;
      }
      return undefined;
    };
    expect(variableOf({ DEPLOYER_URL: 'http://x' })).toBe('GITHUB_WEBHOOK_SECRET');
    expect(variableOf({ GITHUB_WEBHOOK_SECRET: 's' })).toBe('DEPLOYER_URL');
    expect(variableOf({ ...required, DEPLOYER_URL: 'ftp://x' })).toBe('DEPLOYER_URL');
    expect(variableOf({ ...required, PORT: 'eighty' })).toBe('PORT');
    expect(variableOf({ ...required, LOG_LEVEL: 'loud' })).toBe('LOG_LEVEL');
  });

  it('shows no user or password written into DEPLOYER_URL', () => {
    expect(maskUrlCredentials('https://ops:s3cr3t@deployer:8080/base?x=1')).toBe('https://***@deployer:8080/base?x=1');
    expect(maskUrlCredentials('http://tok3n@deployer')).toBe('http://***@deployer');
    expect(maskUrlCredentials('http://ops:p@ss@deployer/a@b')).toBe('http://***@deployer/a@b');
    expect(maskUrlCredentials('http://deployer:8080/a@b')).toBe('http://deployer:8080/a@b');
    expect(maskUrlCredentials('http:\\\\ops:s3cr3t@deployer')).toBe('http:\\\\***@deployer');
    expect(() => loadWebhookSettings({ ...required, DEPLOYER_URL: 'ftp://ops:s3cr3t@deployer' })).toThrow("must be an http or https URL (got 'ftp://***@deployer')");
    expect(() => loadWebhookSettings({ ...required, DEPLOYER_URL: 'http://ops:s3cr3t@deployer:99999' })).toThrow("(got 'http://***@deployer:99999')");
    // fetch refuses a URL with credentials at every push, its error repeating the URL whole (logged, and answered to GitHub).
    expect(() => loadWebhookSettings({ ...required, DEPLOYER_URL: 'https://bot:hunter2@deployer.example/' })).toThrow(
      "invalid DEPLOYER_URL: must not hold a user or password (got 'https://***@deployer.example/'); the deployer's token goes in DEPLOYER_TOKEN",
    );
  });
});
