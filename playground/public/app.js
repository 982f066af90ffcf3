// The playground page: renders the state the server sends over server-sent events and
// turns clicks and typing into the server's /api calls. The HTML of every message was
// rendered (and escaped) by the server's Block Kit renderer; this file only places it.

const $ = (id) => document.getElementById(id);
const view = {
  state: undefined,
  openThread: undefined,
  /** After `/agent …`: open the thread of the next root card the bot posts. */
  awaitingRoot: undefined,
  rendered: new Map(),
};

async function api(path, body) {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(answer.error || `HTTP ${res.status}`);
  return answer;
}

function initials(name) {
  return name === 'agent' ? '🤖' : name.slice(0, 1).toUpperCase();
}

function messageElement(m, inThread) {
  const el = document.createElement('div');
  el.className = 'message';
  el.dataset.ts = m.ts;
  if (m.threadTs) el.dataset.threadTs = m.threadTs;
  fillMessage(el, m, inThread);
  return el;
}

function fillMessage(el, m, inThread) {
  el.classList.toggle('bot', m.isBot);
  el.classList.toggle('ephemeral', Boolean(m.ephemeral));
  el.classList.toggle('streaming', Boolean(m.streaming));
  const replies =
    !inThread && m.replyCount > 0
      ? `<button type="button" class="replies" data-open-thread="${m.ts}">${m.replyCount} repl${m.replyCount === 1 ? 'y' : 'ies'}</button>`
      : '';
  const note = m.ephemeral ? '<div class="ephemeral-note">Only visible to you</div>' : '';
  const tools = m.ephemeral
    ? ''
    : `<div class="hover-tools">
        <button type="button" class="tool" data-react="octagonal_sign" title="React with :octagonal_sign:">🛑</button>
        <button type="button" class="tool" data-react="eyes" title="React with :eyes:">👀</button>
        ${inThread ? '' : `<button type="button" class="tool" data-open-thread="${m.threadTs ?? m.ts}" title="Reply in thread">💬</button>`}
      </div>`;
  el.innerHTML = `
    <div class="avatar">${initials(m.author)}</div>
    <div class="content">
      ${note}
      <div class="meta"><span class="author">${m.author === 'agent' ? 'agent <span class="app-tag">APP</span>' : escapeText(m.author)}</span>
        <span class="time">${m.time}</span>${m.edited ? '<span class="edited">(edited)</span>' : ''}${m.streaming ? '<span class="typing">writing…</span>' : ''}</div>
      <div class="body">${m.html}</div>
      ${replies}
    </div>
    ${tools}`;
}

function escapeText(s) {
  const d = document.createElement('div');
  d.textContent = s;
  return d.innerHTML;
}

/** Keeps one element per message, replacing only what changed (the reader's focus and selection stay). */
function reconcile(container, messages, inThread) {
  const atBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 40;
  const key = (ts) => `${inThread ? 't' : 'c'}:${ts}`;
  const wanted = new Set(messages.map((m) => key(m.ts)));
  for (const child of [...container.children]) if (!wanted.has(key(child.dataset.ts))) child.remove();
  let previous = null;
  for (const m of messages) {
    const k = key(m.ts);
    const signature = JSON.stringify(m);
    let el = container.querySelector(`:scope > [data-ts="${CSS.escape(m.ts)}"]`);
    if (!el) el = messageElement(m, inThread);
    else if (view.rendered.get(k) !== signature) fillMessage(el, m, inThread);
    view.rendered.set(k, signature);
    const expected = previous ? previous.nextElementSibling : container.firstElementChild;
    if (expected !== el) container.insertBefore(el, expected);
    previous = el;
  }
  if (atBottom) container.scrollTop = container.scrollHeight;
}

function render() {
  const s = view.state;
  if (!s) return;
  $('agent-badge').textContent = s.agent === 'demo' ? 'demo agent · scripted, no model' : 'Managed Agents API';
  $('agent-badge').classList.toggle('demo', s.agent === 'demo');
  $('agent-note').textContent =
    s.agent === 'demo'
      ? 'Sessions run on the built-in demo agent: a script on a local stand-in for the Managed Agents API. Set ANTHROPIC_API_KEY to use the real API.'
      : 'Sessions run on the Managed Agents API with your ANTHROPIC_API_KEY.';
  const topLevel = s.messages.filter((m) => !m.threadTs);
  if (view.awaitingRoot) {
    const fresh = topLevel.find((m) => m.isBot && !m.ephemeral && !view.awaitingRoot.has(m.ts));
    if (fresh) {
      view.awaitingRoot = undefined;
      view.openThread = fresh.ts;
    }
  }
  reconcile($('channel-messages'), topLevel, false);
  const thread = $('thread');
  const root = view.openThread && s.messages.find((m) => m.ts === view.openThread);
  thread.hidden = !root;
  if (root) {
    thread.dataset.rootTs = root.ts;
    reconcile($('thread-messages'), [root, ...s.messages.filter((m) => m.threadTs === root.ts)], true);
    // Slack's status line: its text, the loading messages it rotates (shown together here), and its own Stop while processing.
    const status = s.statuses[root.ts];
    const native = s.native?.[root.ts] ?? {};
    const line = $('thread-status');
    line.hidden = !status && native.session !== 'processing';
    line.replaceChildren();
    const words = document.createElement('span');
    words.className = 'status-words';
    words.textContent = [status ? `agent ${status}` : 'agent is working', ...(native.loading ?? [])].join(' · ');
    line.append(words);
    if (native.session === 'processing') {
      const stop = document.createElement('button');
      stop.type = 'button';
      stop.className = 'native-stop';
      stop.dataset.nativeStop = root.ts;
      stop.title = "Slack's own Stop (agent_session_stopped)";
      stop.textContent = '■ Stop';
      line.append(stop);
    }
    $('thread-header-session').textContent = native.session ? `session ${native.session}` : '';
  }
  renderModal(s.modal);
}

function renderModal(modal) {
  const backdrop = $('modal');
  if (!modal) {
    backdrop.hidden = true;
    delete backdrop.dataset.viewId;
    return;
  }
  if (backdrop.dataset.viewId === modal.viewId) return;
  backdrop.dataset.viewId = modal.viewId;
  $('modal-title').innerHTML = modal.title;
  $('modal-body').innerHTML = modal.html;
  $('modal-errors').textContent = '';
  $('modal-submit').textContent = modal.submit;
  $('modal-close').textContent = modal.close;
  backdrop.hidden = false;
  backdrop.querySelector('textarea, input')?.focus();
}

function connect() {
  const events = new EventSource('/events');
  events.onopen = () => {
    $('connection').textContent = 'live';
    $('connection').classList.add('live');
  };
  events.onerror = () => {
    $('connection').textContent = 'reconnecting…';
    $('connection').classList.remove('live');
  };
  events.onmessage = (e) => {
    view.state = JSON.parse(e.data);
    render();
  };
}

function fileToBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(',')[1] ?? '');
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function wireComposer(form, threadTs) {
  const textarea = form.querySelector('textarea');
  const fileInput = form.querySelector('input[type=file]');
  const attached = form.querySelector('.attached');
  fileInput?.addEventListener('change', () => {
    attached.textContent = [...fileInput.files].map((f) => f.name).join(', ');
  });
  textarea.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = textarea.value;
    const files = fileInput ? await Promise.all([...fileInput.files].map(async (f) => ({ name: f.name, type: f.type, data: await fileToBase64(f) }))) : [];
    if (!text.trim() && files.length === 0) return;
    const thread = threadTs();
    if (!thread && /^\/agent(\s|$)/.test(text.trim())) view.awaitingRoot = new Set((view.state?.messages ?? []).map((m) => m.ts));
    textarea.value = '';
    if (fileInput) fileInput.value = '';
    if (attached) attached.textContent = '';
    try {
      const answer = await api('/api/send', { text, ...(thread ? { threadTs: thread } : {}), files });
      // An @mention starts a thread on the person's own message.
      if (!thread && answer.kind === 'message' && /(^|\s)@agent\b/.test(text)) {
        view.openThread = answer.ts;
        render();
      }
    } catch (error) {
      textarea.value = text;
      alert(`Not sent: ${error.message}`);
    }
  });
}

document.addEventListener('click', async (e) => {
  const target = e.target instanceof Element ? e.target : null;
  const open = target?.closest('[data-open-thread]');
  if (open) {
    view.openThread = open.dataset.openThread;
    render();
    $('thread-composer').querySelector('textarea').focus();
    return;
  }
  const nativeStop = target?.closest('[data-native-stop]');
  if (nativeStop) {
    nativeStop.disabled = true;
    await api('/api/native-stop', { threadTs: nativeStop.dataset.nativeStop }).catch((error) => alert(error.message));
    return;
  }
  const react = target?.closest('[data-react]');
  if (react) {
    const ts = react.closest('.message').dataset.ts;
    await api('/api/reaction', { ts, name: react.dataset.react }).catch((error) => alert(error.message));
    return;
  }
  const button = target?.closest('button[data-action-id]');
  if (button && !button.closest('.modal')) {
    const ts = button.closest('.message').dataset.ts;
    if (button.dataset.url) window.open(button.dataset.url, '_blank', 'noopener');
    button.disabled = true;
    await api('/api/action', { ts, actionId: button.dataset.actionId, blockId: button.dataset.blockId, value: button.dataset.value }).catch((error) =>
      alert(error.message),
    );
  }
});

$('close-thread').addEventListener('click', () => {
  view.openThread = undefined;
  render();
});

$('modal-close').addEventListener('click', async () => {
  const viewId = $('modal').dataset.viewId;
  $('modal').hidden = true;
  if (viewId) await api('/api/view', { viewId, cancel: true }).catch(() => undefined);
});

$('modal-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const viewId = $('modal').dataset.viewId;
  const values = {};
  for (const field of $('modal-body').querySelectorAll('[data-block-id][data-action-id]')) {
    values[field.dataset.blockId] ??= {};
    values[field.dataset.blockId][field.dataset.actionId] = field.value;
  }
  const answer = await api('/api/view', { viewId, values }).catch((error) => ({ closed: false, errors: { form: error.message } }));
  if (!answer.closed) $('modal-errors').textContent = Object.values(answer.errors ?? {}).join(' ');
});

wireComposer($('channel-composer'), () => undefined);
wireComposer($('thread-composer'), () => view.openThread);
connect();
