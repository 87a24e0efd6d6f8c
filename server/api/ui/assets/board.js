// The board's only script, written by hand (no framework, no build step). It
//  - keeps the API token of a signed-in person in this tab's sessionStorage and sends it as an
//    Authorization: Bearer header, never in a URL (server/api/ui/register-board.ts explains why);
//  - keeps the page live: it asks the server for the page's content again (X-Board-Fragment: 1)
//    after each event of the deployment's event stream (data-stream) or every data-poll ms, and
//    replaces the sections that changed;
//  - carries out the actions of server/api/ui/actions.ts: confirm, call the API, show the problem.
'use strict';
(() => {
  const TOKEN_KEY = 'deployer.board.token';
  const FRAGMENT_HEADER = 'x-board-fragment';
  const $ = (selector) => document.querySelector(selector);
  const authOn = document.body.dataset.auth === 'on';

  const token = () => sessionStorage.getItem(TOKEN_KEY);
  const authHeaders = () => (token() ? { authorization: `Bearer ${token()}` } : {});
  const content = () => $('#board-content');

  // ---- sign-in -------------------------------------------------------------------------------
  function showAuth() {
    if (!authOn) return;
    $('#sign-in').hidden = !!token();
    $('#signed-in').hidden = !token();
  }
  if (authOn) {
    $('#sign-in').addEventListener('submit', (event) => {
      event.preventDefault();
      const input = $('#token');
      const value = input.value.trim();
      input.value = '';
      if (!value) return;
      sessionStorage.setItem(TOKEN_KEY, value);
      showAuth();
      refresh();
    });
    $('#sign-out').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      location.reload();
    });
  }

  // ---- refreshing the content ------------------------------------------------------------------
  let refreshing = null;
  let refreshAgain = false;
  // A refresh the server failed (5xx: a database restart): tried again after this, doubling to 15 s.
  let retryDelay = 1000;
  let retryTimer = null;
  let failureShown = false;

  /** Re-reads the page's content; calls that come while one runs make it run once more after. */
  function refresh() {
    if (refreshing) {
      refreshAgain = true;
      return refreshing;
    }
    refreshing = load().finally(() => {
      refreshing = null;
      if (refreshAgain) {
        refreshAgain = false;
        setTimeout(refresh, 100);
      }
    });
    return refreshing;
  }

  async function load() {
    let response;
    try {
      response = await fetch(location.pathname + location.search, {
        headers: { [FRAGMENT_HEADER]: '1', accept: 'text/html', ...authHeaders() },
        cache: 'no-store',
      });
    } catch {
      return; // offline for a moment: the next event or poll tries again
    }
    const text = await response.text();
    if (response.status >= 500) {
      // A passing failure of the server: what the page shows, and how it follows its changes, stay
      // (an error page in their place would end the live updates until a reload); it tries again.
      failureShown = true;
      notice(`Could not refresh: the deployer answered HTTP ${response.status}; trying again`, true);
      retryTimer ??= setTimeout(() => {
        retryTimer = null;
        refresh();
      }, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 15000);
      return;
    }
    retryDelay = 1000;
    if (failureShown) {
      failureShown = false;
      $('#notice').replaceChildren();
    }
    if (response.status === 401 && authOn) {
      sessionStorage.removeItem(TOKEN_KEY);
      showAuth();
    }
    apply(text);
  }

  const regionsOf = (root) => Array.from(root.querySelectorAll(':scope > [data-region]'));
  const sameShape = (a, b) =>
    a.dataset.stream === b.dataset.stream &&
    a.dataset.poll === b.dataset.poll &&
    regionsOf(a).map((r) => r.dataset.region).join() === regionsOf(b).map((r) => r.dataset.region).join();

  /** Puts new content in place, replacing only the sections whose markup changed. */
  function apply(text) {
    const template = document.createElement('template');
    template.innerHTML = text;
    const next = template.content.querySelector('#board-content');
    const current = content();
    if (!next || !current) return;
    document.title = `${next.dataset.title} · Deployer board`;
    if (current.hasAttribute('data-needs-token') || !sameShape(current, next)) {
      replace(current, next);
    } else {
      const fresh = regionsOf(next);
      regionsOf(current).forEach((region, i) => {
        if (region.innerHTML !== fresh[i].innerHTML) replace(region, fresh[i]);
      });
    }
    configureLive();
  }

  /** Replaces a node, keeping which <details> were open and which control had focus. */
  function replace(old, fresh) {
    const open = Array.from(old.querySelectorAll('details')).map((d) => d.open);
    Array.from(fresh.querySelectorAll('details')).forEach((d, i) => {
      if (open[i] !== undefined) d.open = open[i];
    });
    const focused = old.contains(document.activeElement) ? keyOf(document.activeElement) : null;
    old.replaceWith(fresh);
    if (focused) fresh.querySelector(focused)?.focus();
  }

  function keyOf(element) {
    if (element.id) return `#${CSS.escape(element.id)}`;
    if (element.dataset.action) return `button[data-action="${CSS.escape(element.dataset.action)}"][data-path="${CSS.escape(element.dataset.path)}"]`;
    if (element.getAttribute('href')) return `a[href="${CSS.escape(element.getAttribute('href'))}"]`;
    return null;
  }

  // ---- live: the event stream, or a timer ------------------------------------------------------
  let following = null; // { url, controller }
  let pollTimer = null;

  function configureLive() {
    const root = content();
    const stream = root?.dataset.stream;
    const poll = Number(root?.dataset.poll) || 0;
    if (following && following.url !== stream) {
      following.controller.abort();
      following = null;
    }
    if (stream && !following) {
      following = { url: stream, controller: new AbortController() };
      follow(following);
    }
    clearInterval(pollTimer);
    pollTimer = poll ? setInterval(() => document.hidden || refresh(), poll) : null;
  }

  /**
   * Follows a Server-Sent Events route with fetch (EventSource cannot send a bearer token) and
   * refreshes the page after each event. After a dropped connection it resumes with Last-Event-ID;
   * the server answers 204 once the deployment has ended and nothing is left to send.
   */
  async function follow(target) {
    const { url, controller } = target;
    let lastEventId = null;
    let delay = 1000;
    while (!controller.signal.aborted) {
      try {
        const headers = { accept: 'text/event-stream', ...authHeaders() };
        if (lastEventId) headers['last-event-id'] = lastEventId;
        const response = await fetch(url, { headers, signal: controller.signal, cache: 'no-store' });
        if (response.status === 204 || response.status === 404) break;
        if (response.status === 401 || response.status === 403) {
          refresh(); // shows the problem (and the sign-in form)
          break;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          buffer = (buffer + value).replace(/\r\n?/g, '\n');
          let end;
          let sawEvent = false;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            for (const line of block.split('\n')) {
              if (line.startsWith('id:')) lastEventId = line.slice(3).trim();
              if (line.startsWith('data:')) sawEvent = true;
            }
          }
          if (sawEvent) {
            delay = 1000;
            refresh();
          }
        }
        refresh();
      } catch {
        if (controller.signal.aborted) return;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 15000);
    }
    if (following === target) following = null;
  }

  // ---- actions ---------------------------------------------------------------------------------
  function notice(text, problem) {
    const box = $('#notice');
    box.replaceChildren();
    box.classList.toggle('refused', !!problem);
    box.setAttribute('role', problem ? 'alert' : 'status');
    const line = document.createElement('p');
    line.textContent = text;
    box.append(line);
    if (problem?.errors?.length) {
      const list = document.createElement('ul');
      for (const issue of problem.errors) {
        const item = document.createElement('li');
        item.textContent = `${issue.path || '(request)'}: ${issue.message}`;
        list.append(item);
      }
      box.append(list);
    }
  }

  document.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (!button) return;
    const action = {
      name: button.dataset.action,
      label: button.textContent.trim(),
      method: button.dataset.method,
      path: button.dataset.path,
      body: JSON.parse(button.dataset.body || '{}'),
      // 'optional' or 'required' (the API refuses a hold or a reject without one).
      asksReason: button.dataset.asksReason,
      question: button.dataset.confirm,
    };
    const dialog = $('#confirm-dialog');
    $('#confirm-question').textContent = action.question;
    $('#confirm-reason-field').hidden = !action.asksReason;
    $('#confirm-reason-label').textContent = action.asksReason === 'required' ? 'Reason' : 'Reason (optional)';
    $('#confirm-reason').required = action.asksReason === 'required';
    $('#confirm-reason').value = '';
    $('#confirm-ok').textContent = action.label;
    dialog.returnValue = '';
    dialog.onclose = () => {
      if (dialog.returnValue === 'confirm') run(action, $('#confirm-reason').value.trim());
      button.isConnected && button.focus();
    };
    dialog.showModal();
  });

  async function run(action, reason) {
    const body = { ...action.body, ...(action.asksReason && reason ? { reason } : {}) };
    let response;
    try {
      response = await fetch(action.path, {
        method: action.method,
        headers: { 'content-type': 'application/json', accept: 'application/json', ...authHeaders() },
        body: JSON.stringify(body),
      });
    } catch (err) {
      notice(`${action.label}: the deployer did not answer (${err.message}).`, { errors: [] });
      return;
    }
    if (response.ok) {
      notice(`${action.label}: done.`);
    } else {
      const problem = await response.json().catch(() => ({}));
      const title = problem.title || response.statusText || `HTTP ${response.status}`;
      notice(`${action.label} refused: ${title} (HTTP ${response.status})${problem.detail ? `: ${problem.detail}` : ''}`, problem);
    }
    refresh();
  }

  // ---- start -----------------------------------------------------------------------------------
  showAuth();
  if (authOn && content()?.hasAttribute('data-needs-token')) {
    if (token()) refresh();
    else $('#token')?.focus();
  } else {
    configureLive();
  }
})();
