// Organization admins: members.
import * as client from './api.js';
import { cell, errorBox, field, h, page, say, showError, when } from './dom.js';
import { me } from './session.js';

export const ROLE_NAMES = { org_admin: 'Admin', org_member: 'Member' };

export async function membersPage() {
  const base = `/v1/organizations/${encodeURIComponent(me.organizationId)}/members`;
  const error = errorBox();
  const slot = h('div', {}, h('p', {}, 'Loading members…'));
  const email = field('Email of the new member', { type: 'email', name: 'email', required: true });
  const role = h('select', { name: 'role' }, h('option', { value: 'org_member' }, 'Member'), h('option', { value: 'org_admin' }, 'Admin'));
  const invite = h(
    'form',
    {
      class: 'inline',
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = '';
        try {
          await client.api('POST', base, { body: { email: email.input.value.trim(), role: role.value } });
          say(`Invitation sent to ${email.input.value.trim()}.`);
          email.input.value = '';
          await load();
        } catch (failure) {
          showError(error, failure);
        }
      },
    },
    email.label,
    h('label', {}, h('span', {}, 'Role'), role),
    h('button', { type: 'submit' }, 'Invite member'),
  );
  page('Members', error, h('h2', {}, 'Invite'), invite, h('h2', {}, 'Members'), slot);

  async function change(member, body, done) {
    error.textContent = '';
    try {
      await client.api('PATCH', `${base}/${encodeURIComponent(member.id)}`, { body });
      say(done);
      await load();
    } catch (failure) {
      showError(error, failure);
    }
  }

  async function resetFactors(member) {
    if (!window.confirm(`Reset the second factors of ${member.email}? They set up a new one at their next sign-in.`)) return;
    error.textContent = '';
    try {
      await client.api('POST', `${base}/${encodeURIComponent(member.id)}/reset-factors`);
      say(`Factors of ${member.email} reset.`);
    } catch (failure) {
      showError(error, failure);
    }
  }

  async function load() {
    const list = await client.api('GET', `${base}?limit=100`);
    const rows = list.items.map((member) => {
      const roleSelect = h(
        'select',
        {
          'aria-label': `Role of ${member.email}`,
          onchange: () => change(member, { role: roleSelect.value }, `${member.email} is now ${ROLE_NAMES[roleSelect.value]}.`),
        },
        Object.entries(ROLE_NAMES).map(([value, text]) => h('option', { value, selected: value === member.role }, text)),
      );
      const self = member.id === me.id;
      return h(
        'tr',
        {},
        cell('Member', member.name ? `${member.name} <${member.email}>` : member.email),
        cell('Role', self ? ROLE_NAMES[member.role] : roleSelect),
        cell('Status', member.status),
        cell('Joined', when(member.joinedAt)),
        cell(
          'Actions',
          self
            ? '—'
            : h(
                'div',
                { class: 'actions' },
                member.status === 'active'
                  ? h('button', { type: 'button', class: 'danger', 'aria-label': `Disable ${member.email}`, onclick: () => change(member, { disabled: true }, `${member.email} disabled.`) }, 'Disable')
                  : h('button', { type: 'button', class: 'secondary', 'aria-label': `Enable ${member.email}`, onclick: () => change(member, { disabled: false }, `${member.email} enabled.`) }, 'Enable'),
                h('button', { type: 'button', class: 'secondary', 'aria-label': `Reset factors of ${member.email}`, onclick: () => resetFactors(member) }, 'Reset factors'),
              ),
        ),
      );
    });
    slot.replaceChildren(
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ['Member', 'Role', 'Status', 'Joined', 'Actions'].map((title) => h('th', { scope: 'col' }, title)))),
        h('tbody', {}, rows),
      ),
    );
  }

  try {
    await load();
  } catch (failure) {
    showError(error, failure);
  }
}
