/**
 * The board's page shell: header with navigation and sign-in, the content, the confirmation
 * dialog. The content sits in `#board-content`; its data attributes tell the script how to keep it
 * live (`data-stream`: an SSE route to follow; `data-poll`: re-read every so many ms), and the
 * script replaces it with the same route's fragment (see register-board.ts).
 */
import { html } from 'hono/html';
import type { Html } from './parts.ts';

export type Nav = 'deployments' | 'stacks' | 'none';

export interface BoardPage {
  title: string;
  nav: Nav;
  /** HTTP status of the page (errors render as pages too). */
  status?: 200 | 400 | 401 | 403 | 404 | 409 | 500;
  body: Html;
  live?: { stream?: string; pollMs?: number };
}

export type AuthMode = 'on' | 'off';

/** The part of a page that the script refreshes: the same markup in the page and in a fragment. */
export function boardContent(page: BoardPage) {
  return html`<div id="board-content" data-title="${page.title}"${page.live?.stream ? html` data-stream="${page.live.stream}"` : ''}${
    page.live?.pollMs ? html` data-poll="${page.live.pollMs}"` : ''
  }>${page.body}</div>`;
}

/** What a page shows before the script has a token to fetch its content with. */
export function signedOutContent(title: string) {
  return html`<div id="board-content" data-title="${title}" data-needs-token="true">
    <h1>${title}</h1>
    <p>API tokens are configured on this deployer: enter a token (any scope; <code>read</code> is enough to look) in the
      form above. It is kept in this browser tab's session storage and sent as an <code>Authorization: Bearer</code>
      header, never in a URL.</p>
    <noscript><p class="problem">With API tokens configured the board needs JavaScript, to send your token in a header.</p></noscript>
  </div>`;
}

function navLink(href: string, label: string, current: boolean) {
  return html`<a href="${href}"${current ? html` aria-current="page"` : ''}>${label}</a>`;
}

export function layout(options: { title: string; nav: Nav; auth: AuthMode; content: Html }) {
  const { title, nav, auth, content } = options;
  return html`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title} · Deployer board</title>
  <link rel="stylesheet" href="/ui/assets/board.css">
  <link rel="icon" href="data:,">
  <script src="/ui/assets/board.js" defer></script>
</head>
<body data-auth="${auth}">
  <a class="skip" href="#main">Skip to content</a>
  <header class="top">
    <a class="brand" href="/ui">Deployer board</a>
    <nav aria-label="Board">
      ${navLink('/ui', 'Deployments', nav === 'deployments')}
      ${navLink('/ui/stacks', 'Stacks', nav === 'stacks')}
      <a href="/docs">API</a>
    </nav>
    ${auth === 'on'
      ? html`<div class="auth">
      <form id="sign-in" method="post" hidden>
        <label for="token">API token</label>
        <input id="token" type="password" autocomplete="off" required>
        <button type="submit">Sign in</button>
      </form>
      <p id="signed-in" hidden>Signed in <button id="sign-out" type="button">Sign out</button></p>
    </div>`
      : html`<p class="auth-off" role="note"><strong>Auth is off</strong>: no API tokens are configured, so anyone who can reach this server can read and act.</p>`}
  </header>
  <div id="notice" role="status" aria-live="polite"></div>
  <main id="main" tabindex="-1">${content}</main>
  <dialog id="confirm-dialog" aria-labelledby="confirm-title">
    <form method="dialog">
      <h2 id="confirm-title">Please confirm</h2>
      <p id="confirm-question"></p>
      <p id="confirm-reason-field" hidden><label for="confirm-reason" id="confirm-reason-label">Reason (optional)</label>
        <input id="confirm-reason" maxlength="500" autocomplete="off"></p>
      <p class="buttons"><button value="cancel" formnovalidate>Cancel</button>
        <button value="confirm" id="confirm-ok" class="danger">Confirm</button></p>
    </form>
  </dialog>
</body>
</html>`;
}
