// Requesters: the organization directory, opening a request with consent, my requests.
import * as client from './api.js';
import { errorBox, field, go, h, page, pagedTable, pageQuery, say, showError, submitting, when } from './dom.js';
import { consentReceipt } from './receipts.js';

export const CATEGORIES = {
  contact: 'Contact details',
  identity: 'Identity',
  financial: 'Financial',
  employment: 'Employment',
  health: 'Health',
  other: 'Other',
};

export async function organizationsPage() {
  const error = errorBox();
  const slot = h('div', {}, h('p', {}, 'Loading the directory…'));
  page('Organizations', h('p', {}, 'Ask an organization for the data it holds about you.'), slot, error);
  try {
    await pagedTable(
      slot,
      [
        ['Organization', (organization) => organization.name],
        ['Ask', (organization) => h('a', { href: `#/organizations/${organization.id}/request`, 'aria-label': `Ask ${organization.name} for my data` }, 'Ask for my data')],
      ],
      (cursor) => client.api('GET', pageQuery('/v1/organizations', cursor)),
      { empty: 'No organizations yet.', noun: 'organizations' },
    );
  } catch (failure) {
    showError(error, failure);
  }
}

export async function openRequestPage(organizationId) {
  const error = errorBox();
  const purpose = field('Purpose', { name: 'purpose', required: true, maxlength: 500 }, 'Why you want the data; it goes into your consent receipt.');
  const message = field('Message to the organization (optional)', { name: 'message', maxlength: 1000 });
  const boxes = Object.entries(CATEGORIES).map(([code, text]) => {
    const box = h('input', { type: 'checkbox', name: 'categories', value: code });
    return { box, label: h('label', { class: 'check' }, box, h('span', {}, text)) };
  });
  const consent = h('input', { type: 'checkbox', name: 'consent', required: true });
  const submit = h('button', { type: 'submit' }, 'Open request');
  const form = h(
    'form',
    {
      onsubmit: submitting(error, async () => {
        const categories = boxes.filter((one) => one.box.checked).map((one) => one.box.value);
        if (categories.length === 0) throw new Error('Choose at least one data category.');
        const body = { organizationId, purpose: purpose.input.value.trim(), categories };
        if (message.input.value.trim()) body.message = message.input.value.trim();
        await client.api('POST', '/v1/requests', { body });
        say('Request opened: the organization has your consent to deliver the data.');
        go('my-requests');
      }),
    },
    purpose.label,
    h('fieldset', {}, h('legend', {}, 'Data categories'), boxes.map((one) => one.label)),
    message.label,
    h('label', { class: 'check' }, consent, h('span', {}, 'I consent to this organization delivering this data to me through Connectid.')),
    submit,
    error,
  );
  page('Ask for my data', form);
  purpose.input.focus();
}

export async function myRequestsPage() {
  const error = errorBox();
  const slot = h('div');
  const receiptSlot = h('div');
  page('My requests', slot, receiptSlot, error);

  async function showReceipt(request) {
    error.textContent = '';
    try {
      const shown = consentReceipt(await client.api('GET', `/v1/requests/${encodeURIComponent(request.id)}/consent`));
      receiptSlot.replaceChildren(shown.section);
      shown.focus();
    } catch (failure) {
      showError(error, failure);
    }
  }

  async function withdraw(request) {
    if (!window.confirm(`Withdraw your consent from ${request.organizationName}? They can no longer deliver.`)) return;
    error.textContent = '';
    try {
      await client.api('POST', `/v1/requests/${encodeURIComponent(request.id)}/withdraw`);
      say('Consent withdrawn.');
      await load();
      // The list was drawn anew: focus goes to the same request's row, not to the page body.
      const row = Array.from(slot.querySelectorAll('tbody tr')).find((one) => one.dataset.requestId === request.id);
      const control = row && row.querySelector('button');
      if (control) control.focus();
    } catch (failure) {
      showError(error, failure);
    }
  }

  const actions = (request) =>
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', 'aria-label': `Consent receipt for ${request.organizationName}`, onclick: () => showReceipt(request) }, 'Consent receipt'),
      request.status === 'open'
        ? h('button', { type: 'button', class: 'danger', 'aria-label': `Withdraw consent from ${request.organizationName}`, onclick: () => withdraw(request) }, 'Withdraw consent')
        : null,
    );

  async function load() {
    await pagedTable(
      slot,
      [
        ['Organization', (request) => request.organizationName],
        ['Purpose', (request) => request.purpose],
        ['Opened', (request) => when(request.createdAt)],
        ['Status', (request) => request.status],
        ['Actions', actions],
      ],
      (cursor) => client.api('GET', pageQuery('/v1/requests', cursor)),
      {
        empty: h('span', {}, 'You have not asked anyone for your data yet. ', h('a', { href: '#/organizations' }, 'Find an organization')),
        noun: 'requests',
        rowAttributes: (request) => ({ 'data-request-id': request.id }),
      },
    );
  }

  try {
    await load();
  } catch (failure) {
    showError(error, failure);
  }
}
