/** DeployerApiError.from: whatever an error body was, a problem that reads as one line. */
import { describe, expect, it } from 'vitest';
import { DeployerApiError } from './events.ts';

describe('DeployerApiError.from', () => {
  it("names a proxy's HTML error page by its title instead of carrying its markup (the CLI printed the whole page)", () => {
    const page = '<!DOCTYPE HTML>\n<html lang="en">\n  <head>\n    <title>502 Bad Gateway</title>\n  </head>\n  <body><h1>502 Bad Gateway</h1><hr><center>nginx</center></body>\n</html>\n';
    const { problem } = DeployerApiError.from(502, page, 'Bad Gateway');
    expect(problem).toEqual({
      type: 'about:blank',
      title: 'Bad Gateway',
      status: 502,
      detail: 'an HTML page ("502 Bad Gateway"), not an answer of the deployer: a proxy in the way, or another server at this URL',
    });
  });

  it('folds other text onto one line, and keeps a problem as it is', () => {
    expect(DeployerApiError.from(500, 'upstream\n  connect error\n', 'Internal Server Error').problem.detail).toBe('upstream connect error');
    expect(DeployerApiError.from(500, 'x'.repeat(600)).problem.detail).toHaveLength(501);
    const problem = { type: 't', title: 'Not found', status: 404, detail: 'deployment x does not exist' };
    expect(DeployerApiError.from(404, problem).problem).toBe(problem);
    expect(DeployerApiError.from(503, '').problem).toEqual({ type: 'about:blank', title: 'HTTP 503', status: 503 });
  });
});
