// Organizations: requests, assigning them, preparing and submitting a delivery.
import * as client from './api.js';
import { bytes, errorBox, field, h, page, pagedTable, pageQuery, say, showError, submitting, when } from './dom.js';
import { me } from './session.js';

const STATUS_CHOICES = { open: 'Open', declined: 'Declined', withdrawn: 'Withdrawn', '': 'All' };

export async function requestsPage() {
  const admin = me.role === 'org_admin';
  const error = errorBox();
  const slot = h('div', {}, h('p', {}, 'Loading requests…'));
  const status = h('select', { name: 'status', onchange: () => load() }, Object.entries(STATUS_CHOICES).map(([value, text]) => h('option', { value }, text)));
  page(admin ? 'Requests' : 'Requests assigned to me', h('label', { class: 'inline-label' }, h('span', {}, 'Show'), status), error, slot);
  // The API shows a member only the requests assigned to them; admins see all and may assign to members and keys.
  const assignees = admin ? await assigneeChoices().catch(() => []) : [];
  const names = new Map(assignees.map((choice) => [choice.id, choice.text]));

  async function load() {
    error.textContent = '';
    const chosen = status.value;
    const which = chosen ? `${STATUS_CHOICES[chosen].toLowerCase()} requests` : 'requests';
    try {
      await pagedTable(
        slot,
        [
          ['Purpose', (request) => request.purpose],
          ['Categories', (request) => request.categories.join(', ')],
          ['Received', (request) => when(request.createdAt)],
          ['Status', (request) => request.status],
          ['Assigned to', (request) => (request.assignee ? names.get(request.assignee.id) || (request.assignee.id === me.id ? 'me' : request.assignee.type) : 'nobody')],
          admin ? ['Actions', (request) => adminActions(request)] : ['Deliver', deliverLink],
        ],
        (cursor) => client.api('GET', pageQuery(chosen ? `/v1/requests?status=${chosen}` : '/v1/requests', cursor)),
        { empty: admin ? `No ${which}.` : `No ${which} are assigned to you.`, noun: 'requests' },
      );
    } catch (failure) {
      showError(error, failure);
    }
  }

  function adminActions(request) {
    if (request.status !== 'open') return '—';
    return h('div', { class: 'actions' }, assignControl(request, assignees, names, error), declineButton(request));
  }

  function declineButton(request) {
    const decline = async () => {
      // The reason is shown to the requester (not kept in the receipt or the audit log); it may stay empty.
      const reason = window.prompt(`Decline the request "${request.purpose}"? It cannot be reopened. Reason for the requester (optional):`, '');
      if (reason === null) return;
      error.textContent = '';
      try {
        await client.api('POST', `/v1/requests/${encodeURIComponent(request.id)}/decline`, { body: reason.trim() ? { reason: reason.trim() } : {} });
        say(`Request "${request.purpose}" declined.`);
        await load();
        // Its row is gone from this list: focus goes to the list's filter, not to the page body.
        status.focus();
      } catch (failure) {
        showError(error, failure);
      }
    };
    return h('button', { type: 'button', class: 'danger', 'aria-label': `Decline the request "${request.purpose}"`, onclick: decline }, 'Decline');
  }

  await load();
}

function deliverLink(request) {
  if (request.status !== 'open') return '—';
  return h('a', { href: `#/requests/${request.id}/deliver`, 'aria-label': `Prepare a delivery for "${request.purpose}"` }, 'Prepare delivery');
}

/** Active members by email, then the service principals of live API keys by key name. */
async function assigneeChoices() {
  const organization = encodeURIComponent(me.organizationId);
  const [members, keys] = await Promise.all([client.allItems(`/v1/organizations/${organization}/members`), client.allItems(`/v1/organizations/${organization}/api-keys`)]);
  return [
    ...members.filter((member) => member.status === 'active').map((member) => ({ id: member.id, text: member.email })),
    ...keys.filter((key) => key.status === 'active' || key.status === 'expiring').map((key) => ({ id: key.servicePrincipalId, text: `Service: ${key.name}` })),
  ];
}

function assignControl(request, assignees, names, error) {
  const select = h(
    'select',
    { 'aria-label': `Assignee of the request "${request.purpose}"` },
    h('option', { value: '' }, '— choose —'),
    assignees.map((choice) => h('option', { value: choice.id, selected: request.assignee && request.assignee.id === choice.id }, choice.text)),
  );
  const assign = async () => {
    error.textContent = '';
    try {
      if (!select.value) throw new Error('Choose a member or service to assign the request to.');
      await client.api('POST', `/v1/requests/${encodeURIComponent(request.id)}/assign`, { body: { assigneeId: select.value } });
      say(`Request "${request.purpose}" assigned to ${names.get(select.value) || select.value}.`);
    } catch (failure) {
      showError(error, failure);
    }
  };
  return [select, h('button', { type: 'button', class: 'secondary', 'aria-label': `Assign the request "${request.purpose}"`, onclick: assign }, 'Assign')];
}

/** PUT one file with XMLHttpRequest (fetch cannot report upload progress); refreshes the token once on a 401. */
export function uploadFile(deliveryId, file, progress) {
  const send = () =>
    new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open('PUT', `/v1/deliveries/${encodeURIComponent(deliveryId)}/items/${encodeURIComponent(file.name)}`);
      request.setRequestHeader('Authorization', `Bearer ${client.accessToken()}`);
      request.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
      request.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable) progress.value = event.loaded;
      });
      request.addEventListener('load', () => resolve(request));
      request.addEventListener('error', () => reject(new Error(`Uploading ${file.name} failed: the connection broke.`)));
      request.send(file);
    });
  return send().then(async (request) => {
    let answer = request;
    if (answer.status === 401 && (await client.refresh())) answer = await send();
    if (answer.status >= 200 && answer.status < 300) {
      progress.value = progress.max;
      return;
    }
    let body = null;
    try {
      body = JSON.parse(answer.responseText);
    } catch {
      body = null;
    }
    throw new client.ApiError(answer.status, body);
  });
}

export function deliverPage(requestId) {
  const error = errorBox();
  const slot = h('div');
  const title = field('Title of the delivery', { name: 'title', required: true, maxlength: 200, value: 'Your data' });
  const createButton = h('button', { type: 'submit' }, 'Create delivery');
  const form = h(
    'form',
    {
      onsubmit: submitting(error, async () => {
        const chosen = title.input.value.trim();
        const created = await client.api('POST', `/v1/requests/${encodeURIComponent(requestId)}/deliveries`, { body: { title: chosen } });
        form.remove();
        uploadStep({ id: created.id, title: created.title || chosen });
      }),
    },
    title.label,
    createButton,
  );
  page('Prepare a delivery', h('p', {}, 'Create a draft, add the files, then submit it: the requester can download it for 32 days.'), form, slot, error);

  function uploadStep(delivery) {
    const files = h('input', { type: 'file', multiple: true, name: 'files' });
    const list = h('ul');
    const submitButton = h('button', { type: 'button', disabled: true }, 'Submit delivery');
    const uploadButton = h('button', { type: 'submit', class: 'secondary' }, 'Upload files');
    const uploadForm = h(
      'form',
      {
        onsubmit: submitting(error, async () => {
          if (files.files.length === 0) throw new Error('Choose at least one file.');
          for (const file of files.files) {
            const progress = h('progress', { max: Math.max(file.size, 1), value: 0, 'aria-label': `Upload progress of ${file.name}` });
            const entry = h('li', {}, `${file.name} (${bytes(file.size)}) `, progress);
            list.append(entry);
            await uploadFile(delivery.id, file, progress);
            entry.append(' uploaded');
          }
          files.value = '';
          submitButton.disabled = false;
          say('Files uploaded.');
        }),
      },
      h('label', {}, h('span', {}, 'Files'), files),
      uploadButton,
    );
    submitButton.addEventListener('click', async () => {
      error.textContent = '';
      try {
        await client.api('POST', `/v1/deliveries/${encodeURIComponent(delivery.id)}/submit`);
        slot.replaceChildren(h('p', { role: 'status' }, `Delivery "${delivery.title}" submitted: the requester has been told.`), h('a', { href: '#/requests' }, 'Back to the requests'));
        say('Delivery submitted.');
      } catch (failure) {
        showError(error, failure);
      }
    });
    slot.replaceChildren(h('h2', {}, `Files of "${delivery.title}"`), uploadForm, list, submitButton);
    files.focus();
  }
}
